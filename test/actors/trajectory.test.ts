// One agent trajectory over a real sandbox: replay:gold solves tasks through the whole path
// (prompt → policy → parser → tools → observations → reward), recorded token for token;
// malformed replies get reminders; the limits end trajectories with their reason.
import { expect } from "chai";
import { runTrajectory } from "../../actors/index.js";
import { goldReplies, SWEEnv, WarmPool, type Task } from "../../envs/index.js";
import { Qwen3Tokenizer, ScriptedPolicy } from "../../llm/index.js";
import { spansVersions, staleness } from "../../rl/index.js";
import { dockerEnv, task } from "../envs/helpers.js";

describe("agent trajectories (replay and scripted policies, docker)", function () {
  this.timeout(300_000);
  const tok = new Qwen3Tokenizer();
  let pool: WarmPool;
  let tasks: Task[];
  before(async () => {
    const d = await dockerEnv();
    tasks = d.tasks;
    pool = new WarmPool(d.backend, { size: 2 });
  });
  after(() => pool?.close());

  it("replay:gold solves every bundled validation task; the record is token-exact", async () => {
    for (const t of tasks.filter((x) => x.split === "validation")) {
      const env = new SWEEnv(pool, { maxSteps: 20 });
      try {
        const rec = await runTrajectory({ env, task: t, tokenizer: tok, policy: new ScriptedPolicy(tok, goldReplies(t), "replay:gold") });
        expect(rec.termination, `${t.id}: ${rec.error ?? ""}`).to.equal("finished");
        expect(rec.reward, t.id).to.equal(1);
        expect(rec.tests && Object.keys(rec.tests).length).to.be.above(0);
        // Lengths agree; only generated tokens are in the mask; the text decodes to a chat.
        expect(rec.mask.length).to.equal(rec.tokens.length);
        expect(rec.logprobs.length).to.equal(rec.tokens.length);
        expect(rec.mask.slice(0, rec.promptLength).every((m) => m === 0)).to.equal(true);
        const generated = tok.decode(rec.tokens.filter((_, i) => rec.mask[i] === 1));
        expect(generated).to.match(/^Step 1: applying the reference change\./);
        expect(generated).to.include("<function=finish>");
        const text = tok.decode(rec.tokens);
        expect(text.startsWith("<|im_start|>system\n")).to.equal(true);
        expect(text).to.match(/\[Steps remaining: \d+\]<\|im_end\|>\n<\|im_start\|>assistant\n/);
      } finally {
        await env.close();
      }
    }
  });

  it("weights that change between turns (asynchronous training): each turn's tokens keep the version that sampled them", async () => {
    const t = task(tasks, "textkit-005");
    const env = new SWEEnv(pool, { maxSteps: 5 });
    // The scripted replies, with the weights' version moving on at every turn (3, 4, 5…).
    const scripted = new ScriptedPolicy(tok, ["<function=execute_bash><parameter=cmd>echo one</parameter></function>", "<function=finish></function>"]);
    const policy = { name: "versioned", version: 2, generate(prompt: number[], p: Parameters<ScriptedPolicy["generate"]>[1]) {
      this.version++;
      return scripted.generate(prompt, p);
    } };
    try {
      const rec = await runTrajectory({ env, task: t, tokenizer: tok, policy });
      expect(rec.tokenVersions).to.have.length(rec.tokens.length);
      const generated = [...new Set(rec.tokenVersions!.filter((_, i) => rec.mask[i] === 1))];
      expect(generated).to.deep.equal([3, 4]);
      expect(rec.tokenVersions!.filter((_, i) => rec.mask[i] === 0).every((v) => v === -1)).to.equal(true);
      expect(rec.policyVersion).to.equal(4);
      expect(spansVersions(rec)).to.equal(true);
      expect(staleness(rec, 5)).to.equal(2);  // counted from its oldest token
    } finally {
      await env.close();
    }
  });

  it("malformed replies get reminders and use no step; the step limit ends the trajectory", async () => {
    const t = task(tasks, "textkit-005");
    const env = new SWEEnv(pool, { maxSteps: 2 });
    try {
      const replies = ["no call at all", "<function=execute_bash><parameter=cmd>ls", "<function=execute_bash><parameter=cmd>echo one</parameter></function>", "<function=execute_bash><parameter=cmd>echo two</parameter></function>"];
      const rec = await runTrajectory({ env, task: t, tokenizer: tok, policy: new ScriptedPolicy(tok, replies) });
      expect(rec.termination).to.equal("max_steps");
      expect(rec.steps).to.equal(2);
      expect(rec.reward).to.equal(0);
      const text = tok.decode(rec.tokens);
      expect(text.match(/did not contain a valid function call/g)?.length).to.equal(2);
      expect(text).to.include("one");
    } finally {
      await env.close();
    }
  });

  it("the token budget ends a trajectory with 'context'", async () => {
    const t = task(tasks, "textkit-005");
    const env = new SWEEnv(pool, { maxSteps: 50 });
    try {
      const chatty = ["<function=execute_bash><parameter=cmd>seq 1 400</parameter></function>"];
      const rec = await runTrajectory({ env, task: t, tokenizer: tok, policy: new ScriptedPolicy(tok, chatty), limits: { maxResponseTokens: 1500 } });
      expect(rec.termination).to.equal("context");
      expect(rec.tokens.length - rec.promptLength).to.be.at.most(1500);
      expect(tok.decode(rec.tokens)).to.include("tokens of context remain");
    } finally {
      await env.close();
    }
  });

  it("the wall-clock budget ends a trajectory with 'timeout'", async () => {
    const t = task(tasks, "textkit-005");
    const env = new SWEEnv(pool, { maxSteps: 50 });
    try {
      // Each step takes a second; 50 of them would take far longer than the 1.5 s allowed.
      const slow = ["<function=execute_bash><parameter=cmd>sleep 1</parameter></function>"];
      const rec = await runTrajectory({ env, task: t, tokenizer: tok, policy: new ScriptedPolicy(tok, slow), limits: { timeoutSec: 1.5 } });
      expect(rec.termination).to.equal("timeout");
      expect(rec.steps).to.be.within(1, 3);
      expect(rec.reward).to.equal(0);
    } finally {
      await env.close();
    }
  });

  it("a tool call that outlives its step deadline ends the trajectory with 'tool_timeout'", async () => {
    const t = task(tasks, "textkit-005");
    const env = new SWEEnv(pool, { maxSteps: 50, stepTimeoutSec: 1 });
    try {
      // The shell ignores the time limit's SIGTERM, so the command lives until the SIGKILL
      // two seconds later: past the step's deadline (1 s, no grace).
      const stuck = ["<function=execute_bash><parameter=cmd>trap '' TERM; sleep 30</parameter></function>"];
      const rec = await runTrajectory({ env, task: t, tokenizer: tok, policy: new ScriptedPolicy(tok, stuck), limits: { toolGraceSec: 0 } });
      expect(rec.termination).to.equal("tool_timeout");
      expect(rec.steps).to.equal(0);
      expect(rec.reward).to.equal(0);
    } finally {
      await env.close();
    }
  });
});
