// rl/ formulas against hand-computed numbers.
import { expect } from "chai";
import { advantages, aggregateLoss, compactFilter, packMicroBatches, solveCounts, type Trajectory } from "../../rl/index.js";

const close = (a: number[], b: number[]) => {
  expect(a).to.have.length(b.length);
  a.forEach((x, i) => expect(x).to.be.closeTo(b[i], 1e-9));
};

function traj(reward: number, termination: Trajectory["termination"], mask = [0, 1, 1]): Trajectory {
  return {
    taskId: "t", rolloutIndex: 0, policy: "p", tokens: mask.map(() => 1), mask, logprobs: mask.map(() => 0), promptLength: 1, reward, termination, steps: 1,
    timings: { totalMs: 0, modelMs: 0, toolMs: 0, rewardMs: 0 },
  };
}

describe("rl: the algorithm", () => {
  it("leave-one-out advantages: reward minus the mean of the others", () => {
    // [1, 0, 0, 1]: 1 − 1/3 = 2/3 for the passes, 0 − 2/3 for the fails.
    close(advantages([1, 0, 0, 1]), [2 / 3, -2 / 3, -2 / 3, 2 / 3]);
    close(advantages([1, 1, 1]), [0, 0, 0]);  // all pass: no signal
    close(advantages([0, 0, 0, 0]), [0, 0, 0, 0]);
    close(advantages([1]), [0]);
  });

  it("GRPO divides by the group's std; Dr.GRPO does not", () => {
    // mean 0.25, population std √(0.1875) ≈ 0.4330
    close(advantages([1, 0, 0, 0], "grpo", 0), [0.75 / Math.sqrt(0.1875), -0.25 / Math.sqrt(0.1875), -0.25 / Math.sqrt(0.1875), -0.25 / Math.sqrt(0.1875)]);
    close(advantages([1, 0, 0, 0], "drgrpo"), [0.75, -0.25, -0.25, -0.25]);
  });

  it("compact filtering: cut-off trajectories keep reward 0 in the baseline and lose their mask; errors leave the group", () => {
    const group = [traj(1, "finished"), traj(1, "context"), traj(0, "max_steps"), traj(0, "finished"), traj(1, "error"), traj(0, "timeout")];
    const p = compactFilter(group);
    expect(p.map((x) => x.trajectory.termination)).to.deep.equal(["finished", "context", "max_steps", "finished", "timeout"]);
    expect(p.map((x) => x.reward)).to.deep.equal([1, 0, 0, 0, 0]);
    expect(p.map((x) => x.filtered)).to.deep.equal([false, true, true, false, true]);
    expect(p[1].mask).to.deep.equal([0, 0, 0]);
    expect(p[0].mask).to.deep.equal([0, 1, 1]);
    // Advantages over the filtered group: the one pass against four zeros.
    close(advantages(p.map((x) => x.reward)), [1, -0.25, -0.25, -0.25, -0.25]);
    // Turned off: rewards kept as they were.
    expect(compactFilter(group, false).map((x) => x.reward)).to.deep.equal([1, 1, 0, 0, 0]);
  });

  it("solve_all / solve_none / solve_partial", () => {
    expect(solveCounts([[1, 1], [0, 0], [1, 0], [0, 1, 1]])).to.deep.equal({ solve_all: 1, solve_none: 1, solve_partial: 2 });
  });

  it("loss aggregation: masked token sum over a constant, mean over trajectories", () => {
    // (1·2 + 0·5 + 1·3) / 10 = 0.5 and (1·4) / 10 = 0.4 → mean 0.45
    expect(aggregateLoss([[2, 5, 3], [4]], [[1, 0, 1], [1]], 10)).to.be.closeTo(0.45, 1e-12);
    expect(aggregateLoss([], [], 10)).to.equal(0);
  });

  it("micro-batch packing: first-fit decreasing under a token budget", () => {
    // lengths 5, 3, 4, 2, 7 with budget 8 → [7] [5,3]→indices… sorted: 7(4), 5(0), 4(2), 3(1), 2(3)
    // 7 → bin A; 5 → bin B; 4 → bin C (B has 5, 5+4 > 8); 3 → B (8); 2 → C (6)
    expect(packMicroBatches([5, 3, 4, 2, 7], 8)).to.deep.equal([[4], [0, 1], [2, 3]]);
    expect(packMicroBatches([10, 1], 4)).to.deep.equal([[0], [1]]);  // too long: alone
    expect(() => packMicroBatches([1], 0)).to.throw(RangeError);
  });
});
