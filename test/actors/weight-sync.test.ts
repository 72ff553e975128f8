// Disaggregated mode's weight sync: the learner's weights reach every engine bit-exact, in
// buckets, stamped with their version; a broken sync leaves an engine refusing to generate
// until a whole version arrives.
import { expect } from "chai";
import { EngineActorClass, LearnerActorClass, planBuckets } from "../../actors/index.js";
import { readdirSync } from "node:fs";
import { init, type Cluster } from "../../runtime/index.js";
import { repairEngines, syncEngines } from "../../recipes/index.js";
import { sequences, TINY } from "../gpu/worker-helpers.js";
import { descendants } from "../leftovers.js";

/** Pids of this process's actor hosts that run a native worker. */
const workerHosts = () => new Set([...descendants(process.pid).values()].filter((p) => /troupe-worker/.test(p.args)).map((p) => p.ppid));

describe("weight sync (disaggregated mode)", function () {
  this.timeout(120_000);
  let cluster: Cluster;
  before(async () => {
    cluster = await init();
  });
  after(() => cluster?.shutdown());

  it("plans buckets of tensors in order, splitting a tensor bigger than what is left of a bucket", () => {
    const shapes = [{ name: "a", shape: [10] }, { name: "b", shape: [3, 5] }, { name: "big", shape: [50] }, { name: "c", shape: [5] }];
    const r = (name: string, start: number, count: number) => ({ name, start, count });
    // 80 bytes = 20 elements a bucket.
    expect(planBuckets(shapes, 80)).to.deep.equal([
      [r("a", 0, 10), r("b", 0, 10)], [r("b", 10, 5), r("big", 0, 15)], [r("big", 15, 20)], [r("big", 35, 15), r("c", 0, 5)],
    ]);
    expect(planBuckets(shapes, 1 << 20)).to.deep.equal([[r("a", 0, 10), r("b", 0, 15), r("big", 0, 50), r("c", 0, 5)]]);
  });

  it("broadcasts a trained learner's weights to two engines bit-exact, versioned; a broken sync is refused, then healed", async () => {
    const learner = await cluster.actor(LearnerActorClass, [{ config: TINY, seed: 1, threads: 1 }], { process: "dedicated" });
    const engines = await Promise.all([2, 3].map((seed) => cluster.actor(EngineActorClass, [{ config: TINY, seed, threads: 1 }], { process: "dedicated" })));
    const seqs = sequences(2, 10, 64, 5);
    await learner.train(seqs.map((t) => ({ tokens: t, mask: t.map(() => 1) })), { mode: "ce" }, { lr: 1e-2 });
    const want = await learner.checksum();
    for (const e of engines) expect(await e.checksum()).to.not.equal(want);

    // Small buckets, so the sync takes several (the tiny model is ~100 KB).
    const opts = { bucketBytes: 16 * 1024 };
    const [sent, ...got] = await Promise.all([learner.publishWeights("test.weights.v1", 2, opts), ...engines.map((e) => e.receiveWeights("test.weights.v1", 1, opts))]);
    expect(sent.version).to.equal(1);
    expect(sent.buckets).to.be.greaterThan(3);
    for (const g of got) expect(g.buckets).to.equal(sent.buckets);
    for (const e of engines) {
      expect(await e.checksum()).to.equal(want);
      expect((await e.info()).version).to.equal(1);
    }
    const prompt = sequences(1, 6, 64, 9)[0];
    const greedy = { maxTokens: 8, temperature: 0 };
    const fromLearner = await learner.generate(prompt, greedy);
    const fromEngine = await engines[0].generate(prompt, greedy);
    expect(fromEngine.tokens).to.deep.equal(fromLearner.tokens);
    expect(fromEngine.version).to.equal(1);

    // An engine that expects another version rejects the first bucket; the learner, no longer
    // acknowledged, fails instead of hanging; the engine refuses to generate.
    const quick = { ...opts, idleTimeoutMs: 1000 };
    const [pub, rec] = await Promise.allSettled([learner.publishWeights("test.weights.bad", 1, quick), engines[1].receiveWeights("test.weights.bad", 7, quick)]);
    expect(pub.status).to.equal("rejected");
    expect(String((pub as PromiseRejectedResult).reason.message)).to.match(/stopped acknowledging/);
    expect(String((rec as PromiseRejectedResult).reason.message)).to.match(/expected bucket 0 of version 7/);
    const refused = await engines[1].generate(prompt, greedy).then(() => undefined, (e) => e as Error);
    expect(refused?.message).to.match(/cannot generate: weights of version 7 only partly loaded/);
    await Promise.all([learner.publishWeights("test.weights.v1b", 1, opts), engines[1].receiveWeights("test.weights.v1b", 1, opts)]);
    expect((await engines[1].generate(prompt, greedy)).tokens).to.deep.equal(fromLearner.tokens);
  });

  it("an engine killed during a sync leaves it and the other gets the version; restarted, it serves nothing until repairEngines gives it the current one", async () => {
    const learner = await cluster.actor(LearnerActorClass, [{ config: TINY, seed: 1, threads: 1 }], { process: "dedicated" });
    const before = workerHosts();
    const engines = await Promise.all([2, 3].map((seed) => cluster.actor(EngineActorClass, [{ config: TINY, seed, threads: 1, awaitWeights: true }], { process: "dedicated", maxRestarts: -1 })));
    const victim = [...workerHosts()].find((p) => !before.has(p))!;
    const want = await learner.checksum();
    // 1 KiB buckets paced one at a time: the sync lasts long enough to be cut into.
    const c = { sync: { bucketMB: 1 / 1024, windowMB: 1 / 1024 } };
    const syncing = syncEngines(c, learner, engines);
    // An engine's scratch file exists only while it takes a bucket.
    for (;;) {
      if (readdirSync("/dev/shm").some((f) => f.startsWith(`troupe-weights-${victim}-`))) break;
      await new Promise((r) => setImmediate(r));
    }
    process.kill(victim, "SIGKILL");
    const s = await syncing;
    expect(s.lost).to.equal(1);
    const served = await Promise.all(engines.map((e) => e.servedChecksum()));
    expect(served.filter((d) => d === want)).to.have.length(1);
    const dead = served.findIndex((d) => d === undefined);
    expect(dead).to.be.at.least(0);
    expect((await engines[dead].generate([1, 2, 3], { maxTokens: 2 }).then(() => undefined, (e) => e as Error))?.message).to.match(/no weights received/);
    expect(await repairEngines({ learner, engines, exclusive: (f) => f() }, c)).to.deep.equal([dead]);
    // The restarted engine's first sync removed the scratch file its killed predecessor left.
    expect(readdirSync("/dev/shm").filter((f) => f.startsWith(`troupe-weights-${victim}-`))).to.deep.equal([]);
    expect(await Promise.all(engines.map((e) => e.servedChecksum()))).to.deep.equal([want, want]);
    expect(await repairEngines({ learner, engines, exclusive: (f) => f() }, c)).to.deep.equal([]);
  });
});
