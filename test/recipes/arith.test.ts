// The arith recipe: a tiny model improves by RL alone (fixed seed; a threshold on the mean
// reward, not a timing), through a LearnerActor on an embedded cluster.
import { expect } from "chai";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runArith } from "../../recipes/index.js";
import { ROOT } from "../helpers.js";

describe("recipe arith", function () {
  this.timeout(300_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "troupe-arith-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("RL alone lifts the reward far above its start; metrics and a checkpoint are written", async () => {
    const rows = await runArith({ out: dir, steps: 120, seed: 1, progress: () => undefined });
    const mean = (a: typeof rows) => a.reduce((x, r) => x + r.reward_mean, 0) / a.length;
    const first = mean(rows.slice(0, 10)), last = mean(rows.slice(-10));
    expect(first).to.be.below(0.25);  // about 1/12 for a random model
    expect(last).to.be.above(0.6);
    expect(last).to.be.above(3 * first);
    const metrics = readFileSync(join(dir, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(metrics).to.have.length(120);
    expect(metrics[0]).to.have.keys("step", "reward_mean", "solve_all", "solve_none", "solve_partial", "loss", "grad_norm", "rollout_s", "train_s", "staleness");
    expect(metrics.every((m) => m.staleness === 0)).to.equal(true);
    expect(existsSync(join(dir, "checkpoints", "step-120", "model.safetensors"))).to.equal(true);
    expect(JSON.parse(readFileSync(join(dir, "config.json"), "utf8"))).to.include({ recipe: "arith", steps: 120, seed: 1 });
  });

  it("learns the same way asynchronously: each step sampled one version stale, decoupled PPO correcting", async () => {
    const out = join(dir, "async");
    const rows = await runArith({ out, steps: 120, seed: 1, async: {}, progress: () => undefined });
    const mean = (a: typeof rows) => a.reduce((x, r) => x + r.reward_mean, 0) / a.length;
    const first = mean(rows.slice(0, 10)), last = mean(rows.slice(-10));
    expect(first).to.be.below(0.25);
    expect(last).to.be.above(0.6);
    expect(last).to.be.above(3 * first);
    // The first step's samples came before any update; every later one's, one version before.
    expect(rows.map((r) => r.staleness)).to.deep.equal([0, ...new Array(119).fill(1)]);
  });

  it("learns the same way with the learner on the torch backend (libtorch, CPU)", async function () {
    if (!existsSync(join(ROOT, "gpu", "build", "troupe-torch-parity"))) return this.skip();  // built without libtorch
    const out = join(dir, "torch");
    const rows = await runArith({ out, steps: 120, seed: 1, worker: { backend: "torch", device: "cpu" }, progress: () => undefined });
    const mean = (a: typeof rows) => a.reduce((x, r) => x + r.reward_mean, 0) / a.length;
    const first = mean(rows.slice(0, 10)), last = mean(rows.slice(-10));
    expect(first).to.be.below(0.25);
    expect(last).to.be.above(0.6);
    expect(last).to.be.above(3 * first);
    expect(JSON.parse(readFileSync(join(out, "config.json"), "utf8")).worker).to.deep.equal({ backend: "torch", device: "cpu" });
  });
});
