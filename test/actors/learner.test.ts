// The LearnerActor's policy-gradient step on samples from older weights: with behaviour
// log-probs and an importance cap it trains exactly as on the same sequences with their masks
// weighted by min(π_prox / π_behav, cap) by hand (rl/off-policy.ts), the proximal log-probs
// being its own before the step; and that weighting changes what it learns.
import { expect } from "chai";
import { LearnerActor } from "../../actors/index.js";
import { behaviourWeighted } from "../../rl/index.js";
import { TINY } from "../gpu/worker-helpers.js";

describe("LearnerActor: decoupled PPO", function () {
  this.timeout(120_000);
  const learners: LearnerActor[] = [];
  const fresh = async () => {
    const l = new LearnerActor({ config: TINY, seed: 5, threads: 1 });
    await l.onStart();
    learners.push(l);
    return l;
  };
  after(() => Promise.all(learners.map((l) => l.onStop())));

  it("behaviour log-probs and a cap train as the hand-weighted mask does; without them the step differs", async () => {
    const tokens = [[1, 2, 3, 4, 5, 6, 7, 8], [9, 10, 11, 12, 13, 14]];
    const masks = [[0, 0, 0, 1, 1, 1, 1, 1], [0, 0, 1, 1, 1, 1]];
    // A behaviour policy off the learner's (whose log-probs are about −4.2 here): ratios of
    // about 6 (past the cap), 1.3 and 0.3.
    const behaviour = tokens.map((t) => t.map((_, i) => [-6, -4.5, -3][i % 3]));
    const loss = { mode: "pg" as const, epsLow: 0.2, epsHigh: 0.28, lossScale: 16, batchSequences: 2 };
    const step = { lr: 1e-2, weightDecay: 0, maxGradNorm: 1 };
    const advantage = [1, -1];

    const a = await fresh();
    await a.train(tokens.map((t, i) => ({ tokens: t, mask: masks[i], advantage: advantage[i], behaviourLogprobs: behaviour[i] })), { ...loss, importanceCap: 2 }, step);

    const b = await fresh();
    const proximal = await b.logprobs(tokens);
    const weighted = masks.map((m, i) => behaviourWeighted(m, proximal[i], behaviour[i], 2));
    expect(weighted.flat().some((w) => w === 2)).to.equal(true);  // the cap bit
    expect(weighted.flat().some((w) => w > 0 && w < 1)).to.equal(true);
    await b.train(tokens.map((t, i) => ({ tokens: t, mask: weighted[i], advantage: advantage[i], oldLogprobs: proximal[i] })), loss, step);

    const c = await fresh();
    await c.train(tokens.map((t, i) => ({ tokens: t, mask: masks[i], advantage: advantage[i] })), loss, step);

    const [da, db, dc] = await Promise.all([a, b, c].map((l) => l.checksum()));
    expect(da).to.equal(db);
    expect(da).to.not.equal(dc);
  });
});
