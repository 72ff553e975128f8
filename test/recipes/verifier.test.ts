// The models of test-time selection without sandboxes: the execution-free verifier's prompt and
// score over a scripted Scorer (what it is shown of a trajectory, that the prompt fits its
// context, P(YES) from the two answers), and the reproduction writer's prompt and parsing.
import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { driver } from "../helpers.js";
import { ByteTokenizer, ScriptedPolicy, type Scorer } from "../../llm/index.js";
import { condensedTrajectory, modelWriter, parseReproScript, pYes, reproMessages, TOY_VERIFIER, trainVerifier, verificationPrompt, VERDICT, type Verifier } from "../../recipes/index.js";
import type { Task } from "../../envs/index.js";
import type { Trajectory } from "../../rl/index.js";

const tok = new ByteTokenizer();

/** A trajectory of `turns` agent replies, each followed by a long observation. */
function trajectory(turns: number, patch = "--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-a\n+b\n", taskId = "t", reward = 0): Trajectory {
  const tokens: number[] = [], mask: number[] = [];
  const add = (text: string, m: number) => {
    const ids = tok.encode(text);
    tokens.push(...ids);
    mask.push(...ids.map(() => m));
  };
  add("the prompt, which the verifier does not see again", 0);
  const promptLength = tokens.length;
  for (let i = 0; i < turns; i++) {
    add(`step ${i}: I look at x.py`, 1);
    add(`observation ${i} ${"#".repeat(5000)} end of ${i}`, 0);
  }
  return { taskId, rolloutIndex: 0, policy: "p", tokens, mask, logprobs: tokens.map(() => 0), promptLength, reward, termination: "finished", steps: turns, patch, timings: { totalMs: 0, modelMs: 0, toolMs: 0, rewardMs: 0 } };
}

/** A scorer that likes YES by `margin` nats and records what it was asked. */
function scripted(margin: number, seen: number[][] = []): Scorer {
  return {
    async continuationLogprobs(prompt, conts) {
      seen.push(prompt);
      return conts.map((c) => (tok.decode(c) === VERDICT.yes ? -1 : -1 - margin));
    },
  };
}

const task = { id: "t", problemStatement: "x.py returns a where it should return b" } as Task;

describe("execution-free verifier", () => {
  it("shows every agent reply, observations cut short, the newest steps when the whole is too long", () => {
    const short = condensedTrajectory(trajectory(2), tok, 100_000);
    expect(short).to.include("step 0: I look at x.py").and.include("step 1: I look at x.py");
    expect(short).to.not.include("the prompt");
    expect(short).to.include("end of 1").and.match(/characters cut/);
    expect(short.length).to.be.below(2000);
    const long = condensedTrajectory(trajectory(40), tok, 3000);
    expect(long).to.match(/^\[… earlier steps cut …\]/).and.include("step 39");
    expect(long).to.not.include("step 0:");
  });

  it("the prompt holds the issue and the patch and ends where the verdict starts; it shrinks to fit the context", () => {
    const big: Verifier = { name: "v", scorer: scripted(0), tokenizer: tok, maxPromptTokens: 1_000_000 };
    const text = tok.decode(verificationPrompt(big, task, trajectory(3), tok));
    expect(text).to.include(task.problemStatement).and.include("+b").and.include("step 2");
    expect(text.endsWith(`assistant\n<think>\n\n</think>\n\n${VERDICT.open}`)).to.equal(true);
    const small: Verifier = { ...big, maxPromptTokens: 1500 };
    expect(verificationPrompt(small, task, trajectory(30), tok).length).to.be.at.most(1500);
    expect(() => verificationPrompt({ ...big, maxPromptTokens: 50 }, task, trajectory(3), tok)).to.throw(RangeError, /does not fit 50 tokens/);
  });

  it("P(YES) is p(YES) / (p(YES) + p(NO)) from the answers' log-probs, asked after one prompt", async () => {
    const seen: number[][] = [];
    const v: Verifier = { name: "v", scorer: scripted(Math.log(3), seen), tokenizer: tok, maxPromptTokens: 100_000 };
    expect(await pYes(v, task, trajectory(1), tok)).to.be.closeTo(0.75, 1e-12);
    expect(seen).to.have.length(1);
    expect(await pYes({ ...v, scorer: scripted(-Math.log(4)) }, task, trajectory(1), tok)).to.be.closeTo(0.2, 1e-12);
    const broken: Scorer = { continuationLogprobs: async () => [Number.NaN, -1] };
    const err = await pYes({ ...v, scorer: broken }, task, trajectory(1), tok).then(() => undefined, (e) => e as Error);
    expect(err?.message).to.match(/log-probs NaN \(YES\)/);
  });

  it("reproduction scripts: the prompt holds the issue alone; the first python block of each reply, replies without one dropped", async () => {
    expect(reproMessages(task).map((m) => m.content).join("\n")).to.include(task.problemStatement).and.to.not.include("+b");
    expect(parseReproScript("I will check.\n```python\nimport x\nassert x.f() == 'b'\n```\nand more\n```python\nother\n```")).to.equal("import x\nassert x.f() == 'b'\n");
    expect(parseReproScript("```\nprint(1)\n```")).to.equal("print(1)\n");
    expect(parseReproScript("no code here")).to.equal(undefined);
    expect(parseReproScript("```python\n\n```")).to.equal(undefined);
    const replies = ["```python\nassert 1\n```", "sorry, no script"];
    let n = 0;
    const writer = modelWriter("scripted", () => new ScriptedPolicy(tok, [replies[n++ % 2]]), tok);
    expect(await writer.write(task, 2)).to.deep.equal(["assert 1\n"]);
  });
});

describe("--recipe verifier", function () {
  this.timeout(300_000);
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), "troupe-verifier-"))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("on a separable toy set (the right patches write Y, the wrong ones N) the tiny verifier learns to tell them apart on held-out tasks", async () => {
    const tasks = Array.from({ length: 12 }, (_, i) => ({ id: `toy-${i}`, problemStatement: `f${i}() returns the wrong value` }) as Task);
    const rows: Trajectory[] = tasks.flatMap((t) => [1, 1, 0, 0, 0].map((reward, i) =>
      ({ ...trajectory(0, `+${(reward ? "Y" : "N").repeat(30)}\n`, t.id, reward), rolloutIndex: i })));
    // An empty patch and an infrastructure failure: no examples.
    rows.push({ ...trajectory(0, "", tasks[0].id, 0), rolloutIndex: 5 }, { ...trajectory(0, undefined, tasks[0].id, 0), rolloutIndex: 6, termination: "error" });
    const out = join(dir, "out");
    const report = await trainVerifier({
      trajectories: rows, tasks, out, config: TOY_VERIFIER, tokenizer: "bytes", agentTokenizer: "bytes", epochs: 10, lr: 3e-3, seed: 3, progress: () => undefined,
    });
    // 3 of 12 tasks held out; in training 2 YES and 3 NO per task, balanced to 2 and 2.
    expect(report.tasks.held_out).to.have.length(3);
    expect(report.tasks.train.filter((t: string) => report.tasks.held_out.includes(t))).to.deep.equal([]);
    expect(report.examples).to.deep.equal({ train: 9 * 4, held_out: 3 * 5, dropped_to_balance: 9, skipped: 2 });
    expect(report.after.accuracy, JSON.stringify(report)).to.be.at.least(0.9);
    expect(report.after.auc).to.be.at.least(0.95);
    expect(report.losses.at(-1)).to.be.below(report.losses[0]);
    expect(JSON.parse(readFileSync(join(out, "verifier.json"), "utf8"))).to.deep.equal(report);
    expect(readFileSync(join(report.checkpoint, "config.json"), "utf8")).to.include("vocab_size");
  });

  it("a folder without trajectories is one usage error", async () => {
    const bad = await driver(["--recipe", "verifier", "--data", dir, "--tasks", "bundled", "--out", join(dir, "bad")]);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.match(/--recipe verifier: .*no trajectories/);
    expect(bad.stderr).to.not.match(/\n\s+at /);
  });
});
