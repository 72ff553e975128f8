// The laptop's compact scaffold: every bundled task's gold patch, cut to what changes and
// rendered compactly, still parses back to the same calls and still solves its task through a
// real sandbox, in a trajectory a small model can hold; a patch scored before is answered from
// its verdict when rewards are memoized.
import { expect } from "chai";
import { runTrajectory } from "../../actors/index.js";
import { goldReplies, parseAction, patchToolCalls, SWEEnv, WarmPool, type Task, type ToolCall } from "../../envs/index.js";
import { ByteTokenizer, ScriptedPolicy } from "../../llm/index.js";
import { dockerEnv, task } from "./helpers.js";

describe("the compact scaffold (docker)", function () {
  this.timeout(300_000);
  const tok = new ByteTokenizer();
  let pool: WarmPool;
  let tasks: Task[];
  before(async () => {
    const d = await dockerEnv();
    tasks = d.tasks;
    pool = new WarmPool(d.backend, { size: 2 });
  });
  after(() => pool?.close());

  it("compact gold replies parse back to the minimal calls, and an old_str that repeats inside its hunk keeps context", () => {
    for (const t of tasks) {
      const calls = patchToolCalls(t.goldPatch!, t.workdir, true);
      const replies = goldReplies(t, "compact");
      expect(replies.map((r) => parseAction(r)), t.id).to.deep.equal(calls.map((call) => ({ call })));
      expect(replies.join(""), t.id).to.not.match(/Step \d/);
    }
    // textkit-004 changes the first of two identical lines `stop = set(stopwords)`: the line
    // above comes with it, so the old text is unique.
    const [edit] = patchToolCalls(task(tasks, "textkit-004").goldPatch!, "/testbed", true);
    expect(edit.params.old_str).to.equal("        words = [w.lower() for w in words]\n        stop = set(stopwords)");
    expect(edit.params.new_str).to.equal("        words = [w.lower() for w in words]\n        stop = {s.lower() for s in stopwords}");
  });

  it("every bundled task's compact replay solves it in under 1,200 byte tokens; a memoized reward answers the same patch again", async () => {
    const env = new SWEEnv(pool, { maxSteps: 4, memoizeRewards: true });
    try {
      for (const t of tasks) {
        const rec = await runTrajectory({ env, task: t, tokenizer: tok, scaffold: "compact", policy: new ScriptedPolicy(tok, goldReplies(t, "compact"), "replay:gold") });
        expect(rec.reward, `${t.id}: ${rec.error ?? ""}`).to.equal(1);
        expect(rec.tokens.length, t.id).to.be.below(1200);
        const text = tok.decode(rec.tokens);
        expect(text).to.include(`<|im_start|>user\n${t.workdir}: ${t.problemStatement.trim().split("\n")[0]}<|im_end|>`);
        // Observations are cut to 160 characters, then the steps left.
        expect(text).to.match(/…\n\[Steps remaining: 3\]<\|im_end\|>/);
      }
      const t = task(tasks, "confkit-001");
      await env.reset(t);
      await env.step((parseAction(goldReplies(t, "compact")[0]) as { call: ToolCall }).call);
      const again = await env.reward();
      expect(again).to.include({ reward: 1, memoized: true, durationMs: 0 });
    } finally {
      await env.close();
    }
  });
});
