// The deepswe loop learns: from a starter supervised on four train tasks (built once, cached), a
// short RL run raises the train tasks' pass@1, measured by the run's own fixed evaluation, and
// the log-probability of the actions that solved them. Measured here: pass@1 0.250 → 0.594 and
// −1.72 → −0.59 nats. With the advantage's sign flipped the same run falls to a pass@1 of 0 by
// its third step (this test then fails: "expected -0.25 to be at least 0.15"); a mask that
// leaves no generated token moves no weight (gradient-path.test.ts), and the same seeds then
// give the same pass@1, a gain of 0.
import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LearnerActorClass } from "../../actors/index.js";
import { loadUsableTasks } from "../../envs/index.js";
import { resolveConfig, runDeepSWE } from "../../recipes/index.js";
import { generatedLogprobs } from "../../recipes/deepswe/starter.js";
import { init } from "../../runtime/index.js";
import { dockerEnv } from "../envs/helpers.js";

/** One task of each bundled repository. */
const TASKS = ["confkit-001", "cronlite-002", "ledger-003", "textkit-001"];

describe("deepswe learning (laptop model, four tasks)", function () {
  this.timeout(20 * 60_000);
  let dir: string;
  before(async () => {
    await dockerEnv();
    dir = mkdtempSync(join(tmpdir(), "troupe-learning-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("RL from the cached starter raises pass@1 on the train tasks and the probability of the actions that solved them", async () => {
    const all = await loadUsableTasks("bundled:train", () => undefined);
    const train = TASKS.map((id) => all.find((t) => t.id === id)!);
    const validation = (await loadUsableTasks("bundled:validation", () => undefined)).slice(0, 1);
    const config = resolveConfig("laptop", undefined, [
      "rollout.tasksPerStep=4", "schedule.steps=6", "schedule.checkpointEvery=100", "schedule.validateEvery=100", "schedule.validationTasks=1",
      // Four demonstrations: one per optimizer step, so that an epoch still takes four.
      "warmup.batch=1",
    ]);
    const out = join(dir, "run");
    const lines: string[] = [];
    await runDeepSWE({ config, out, tasks: { train, validation }, log: (l) => lines.push(l), progress: () => undefined });
    const ev = JSON.parse(readFileSync(join(out, "eval.json"), "utf8"));
    const summary = `${lines.filter((l) => /^(starter|train pass|step)/.test(l)).join("\n")}`;
    // The starter solves some samples, not all: RL has groups with both outcomes to learn from.
    expect(ev.before.pass1, summary).to.be.within(0.05, 0.6);
    expect(ev.after.pass1 - ev.before.pass1, summary).to.be.at.least(0.15);

    // The actions of the first step's successes: more probable after RL than under the starter.
    const solved = readFileSync(join(out, "trajectories.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l)).filter((t) => t.step === 1 && t.reward === 1);
    expect(solved.length, summary).to.be.at.least(1);
    const cluster = await init();
    try {
      const actionLogprob = async (checkpoint: string) => {
        const l = await cluster.actor(LearnerActorClass, [{ checkpoint, seed: 1 }], { process: "dedicated" });
        return (await generatedLogprobs(l, solved)).reduce((a, b) => a + b, 0) / solved.length;
      };
      const before = await actionLogprob(ev.starter.dir);
      const after = await actionLogprob(join(out, "checkpoints", `step-${config.schedule.steps}`));
      expect(after, `${summary}\nlog-probability of solved actions: ${before} → ${after}`).to.be.greaterThan(before + 0.5);
    } finally {
      await cluster.shutdown();
    }
  });
});
