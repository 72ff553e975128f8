// The models of test-time selection without sandboxes: the execution-free verifier's prompt and
// score over a scripted Scorer (what it is shown of a trajectory, that the prompt fits its
// context, P(YES) from the two answers), and the reproduction writer's prompt and parsing.
import { expect } from "chai";
import { ByteTokenizer, ScriptedPolicy, type Scorer } from "../../llm/index.js";
import { condensedTrajectory, modelWriter, parseReproScript, pYes, reproMessages, verificationPrompt, VERDICT, type Verifier } from "../../recipes/index.js";
import type { Task } from "../../envs/index.js";
import type { Trajectory } from "../../rl/index.js";

const tok = new ByteTokenizer();

/** A trajectory of `turns` agent replies, each followed by a long observation. */
function trajectory(turns: number, patch = "--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-a\n+b\n"): Trajectory {
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
  return { taskId: "t", rolloutIndex: 0, policy: "p", tokens, mask, logprobs: tokens.map(() => 0), promptLength, reward: 0, termination: "finished", steps: turns, patch, timings: { totalMs: 0, modelMs: 0, toolMs: 0, rewardMs: 0 } };
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
