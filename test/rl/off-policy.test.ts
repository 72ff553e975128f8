// Asynchronous training's arithmetic (rl/off-policy.ts) against hand-computed numbers, and the
// staleness bound held by the admission rule under a slow and a fast generator.
import { expect } from "chai";
import { behaviourWeighted, mayStartGroup, oldestVersion, spansVersions, staleness, type Trajectory } from "../../rl/index.js";

function traj(tokenVersions?: number[], policyVersion?: number): Trajectory {
  const n = tokenVersions?.length ?? 3;
  return {
    taskId: "t", rolloutIndex: 0, policy: "p", policyVersion, tokenVersions, tokens: new Array(n).fill(1), mask: new Array(n).fill(1), logprobs: new Array(n).fill(0),
    promptLength: 1, reward: 0, termination: "finished", steps: 1, timings: { totalMs: 0, modelMs: 0, toolMs: 0, rewardMs: 0 },
  };
}

describe("rl: off-policy training", () => {
  it("behaviour weights: mask × min(π_prox / π_behav, cap), zero where the mask is", () => {
    const mask = [0, 1, 1, 1, 0.5];
    const prox = [-9, Math.log(0.5), Math.log(0.2), Math.log(0.9), Math.log(0.3)];
    const behav = [-1, Math.log(0.25), Math.log(0.4), Math.log(0.1), Math.log(0.3)];
    // ratios 2, 0.5, 9 → capped at 5, and 1 on a half-weighted token.
    const w = behaviourWeighted(mask, prox, behav, 5);
    [0, 2, 0.5, 5, 0.5].forEach((x, i) => expect(w[i]).to.be.closeTo(x, 1e-12));
    // Fresh samples (behaviour = proximal): the mask unchanged, DEEPSWE's loss.
    expect(behaviourWeighted(mask, prox, prox, 5)).to.deep.equal(mask);
    expect(() => behaviourWeighted([1, 1], [0], [0, 0], 5)).to.throw(RangeError, /differ in length/);
  });

  it("staleness counts from the oldest generated token; prompt and observation tokens (−1) do not count", () => {
    const t = traj([-1, 4, 4, -1, 5, 5]);
    expect(oldestVersion(t)).to.equal(4);
    expect(staleness(t, 6)).to.equal(2);
    expect(staleness(t, 4)).to.equal(0);
    expect(spansVersions(t)).to.equal(true);
    expect(spansVersions(traj([-1, 3, 3]))).to.equal(false);
    expect(oldestVersion(traj(undefined, 7))).to.equal(7);  // no per-token versions: the reply's
    expect(staleness(traj(undefined, undefined), 9)).to.equal(0);  // a replay: no weights involved
  });

  it("the admission rule keeps every trained group within maxStaleness, for a slow and a fast generator", () => {
    // A discrete simulation: each tick the generator finishes up to `speed` admitted groups,
    // sampled with the current version; the trainer trains on the oldest `perStep` complete ones
    // once it has them (one version per step).
    for (const [speed, maxStaleness] of [[1, 1], [8, 1], [8, 0], [3, 2], [50, 2]]) {
      const perStep = 4;
      let version = 0, started = 0, trained = 0;
      const queued: number[] = [];  // admitted, not yet sampled
      const complete: number[] = [];  // the version each complete group was sampled with (oldest first)
      const seen: number[] = [];
      for (let tick = 0; tick < 200 && trained < 20; tick++) {
        while (mayStartGroup(started, trained, perStep, maxStaleness)) {
          queued.push(started++);
        }
        for (let i = 0; i < speed && queued.length; i++) {
          queued.shift();
          complete.push(version);
        }
        if (complete.length >= perStep) {
          for (const v of complete.splice(0, perStep)) seen.push(version - v);
          trained++;
          version++;
        }
      }
      expect(trained, `speed ${speed}`).to.equal(20);
      expect(Math.max(...seen), `speed ${speed}, maxStaleness ${maxStaleness}`).to.be.at.most(maxStaleness);
      // A fast generator uses the slack it is given: some groups are as stale as allowed.
      if (speed >= perStep * (maxStaleness + 1)) expect(Math.max(...seen)).to.equal(maxStaleness);
    }
  });
});
