// Data-parallel LearnerActors: a TCP rendezvous passed through the runtime, weights broadcast
// from rank 0 on joining, gradients all-reduced at every step — the group ends bit-identical
// and equal (to rounding) to one learner on the whole batch.
import { expect } from "chai";
import { LearnerActorClass } from "../../actors/index.js";
import { init, type Cluster } from "../../runtime/index.js";
import { sequences, TINY } from "../gpu/worker-helpers.js";


describe("data-parallel learners", function () {
  this.timeout(120_000);
  let cluster: Cluster;
  before(async () => {
    cluster = await init();
  });
  after(() => cluster?.shutdown());

  it("two learners equal one learner on the combined batch; ranks stay bit-identical", async () => {
    const opts = (seed: number) => [{ config: TINY, seed, threads: 1 }] as [{ config: typeof TINY; seed: number; threads: number }];
    const [a, b, one] = await Promise.all([1, 2, 1].map((seed) => cluster.actor(LearnerActorClass, opts(seed), { process: "dedicated" })));
    expect(await a.checksum()).to.not.equal(await b.checksum());  // different seeds
    const address = await a.rendezvous();
    await Promise.all([a.joinGroup(0, 2, [address]), b.joinGroup(1, 2, [address])]);
    expect(await b.checksum()).to.equal(await a.checksum());     // rank 0's weights broadcast
    expect(await one.checksum()).to.equal(await a.checksum());   // same seed as rank 0
    const seqs = sequences(4, 10, 64, 5);
    const batch = seqs.map((t, i) => ({ tokens: t, mask: t.map((_, j) => (j >= 3 ? 1 : 0)), oldLogprobs: new Array(10).fill(-4), advantage: [1, -1, 0.5, -0.5][i] }));
    const loss = { mode: "pg" as const, lossScale: 8, batchSequences: 4 };
    const step = { lr: 1e-3 };
    await Promise.all([a.train(batch.filter((_, i) => i % 2 === 0), loss, step), b.train(batch.filter((_, i) => i % 2 === 1), loss, step)]);
    await one.train(batch, loss, step);
    expect(await b.checksum()).to.equal(await a.checksum());
    const probe = [sequences(1, 12, 64, 9)[0]];
    const [lpA] = await a.logprobs(probe);
    const [lpOne] = await one.logprobs(probe);
    expect(lpA).to.have.length(12);
    expect(lpOne).to.have.length(12);
    lpA.forEach((x, i) => expect(x).to.be.closeTo(lpOne[i], 1e-4));
    expect((await a.info()).version).to.equal(1);
  });
});
