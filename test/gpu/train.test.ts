// Training by the native worker: a tiny model memorizes, the policy-gradient loss has the
// DEEPSWE value and clips, and two workers with all-reduce equal one worker on the whole batch.
import { expect } from "chai";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { NativeWorker, type TrainSequence, type WorkerBackend } from "../../gpu/index.js";
import { ROOT } from "../helpers.js";
import { bytesEqual, maxAbsDiff, sequences, TINY } from "./worker-helpers.js";

const maskAfterPrompt = (t: number[], prompt: number) => t.map((_, j) => (j >= prompt ? 1 : 0));

describe("native worker: training", function () {
  const workers: NativeWorker[] = [];
  const start = async (backend: WorkerBackend["backend"] = "reference") => {
    const w = await NativeWorker.start({ backend });
    workers.push(w);
    return w;
  };
  after(() => Promise.all(workers.map((w) => w.close())));

  it("a tiny model memorizes a handful of sequences (cross-entropy falls near zero) and then generates them", async () => {
    const w = await start();
    await w.init(TINY, { seed: 1 });
    const seqs = sequences(4, 12, 64, 99);
    const batch = seqs.map((t) => ({ tokens: t, mask: maskAfterPrompt(t, 1) }));
    let first = 0, last = 0;
    for (let i = 0; i < 80; i++) {
      const r = await w.accumulate(batch, { mode: "ce" });
      if (i === 0) first = r.loss;
      last = r.loss;
      await w.step({ lr: 1e-2, weightDecay: 0, maxGradNorm: 1 });
    }
    expect(first).to.be.above(3);  // ≈ ln 64 at the start
    expect(last).to.be.below(0.05);
    const gen = await w.generate(seqs.map((s) => s.slice(0, 3)), { temperature: 0, maxTokens: 9 });
    expect(gen.map((g) => [...g.tokens])).to.deep.equal(seqs.map((s) => s.slice(3)));
  });

  it("the policy-gradient loss: ratio 1 gives −A·tokens/(C·B); ratios past the clip give no gradient at all", async () => {
    const w = await start();
    await w.init(TINY, { seed: 2 });
    const seqs = sequences(2, 8, 64, 7);
    const lps = await w.logprobs(seqs);
    const masks = seqs.map((t) => maskAfterPrompt(t, 3));  // 5 counted tokens each
    const adv = [1.5, -0.5];
    const on: TrainSequence[] = seqs.map((t, i) => ({ tokens: t, mask: masks[i], oldLogprobs: lps[i], advantage: adv[i] }));
    const r = await w.accumulate(on, { lossScale: 4, batchSequences: 2 });
    // Σ_s −A_s · 5 / (4 · 2)
    expect(r.loss).to.be.closeTo(-(1.5 * 5 + -0.5 * 5) / 8, 1e-5);
    expect(r.tokens).to.equal(10);
    expect(r.clipped).to.equal(0);
    await w.request("zero_grads");
    // old log-probs 1 lower: r = e ≈ 2.72 > 1.28 with A > 0 → clipped; 1 higher: r = 1/e < 0.8 with A < 0 → clipped.
    const before = await w.getWeights();
    const off: TrainSequence[] = [
      { tokens: seqs[0], mask: masks[0], oldLogprobs: lps[0].map((x) => x - 1), advantage: 1 },
      { tokens: seqs[1], mask: masks[1], oldLogprobs: lps[1].map((x) => x + 1), advantage: -1 },
    ];
    const c = await w.accumulate(off, { lossScale: 4, batchSequences: 2, epsLow: 0.2, epsHigh: 0.28 });
    expect(c.clipped).to.equal(10);
    expect(c.loss).to.be.closeTo((-1.28 * 5 + 0.8 * 5) / 8, 1e-5);
    const s = await w.step({ lr: 1e-2, weightDecay: 0 });
    expect(s.gradNorm).to.equal(0);
    const after = await w.getWeights();
    for (const name of Object.keys(before)) expect(bytesEqual(before[name].data as Float32Array, after[name].data as Float32Array), name).to.equal(true);
  });

  // The TCP collectives work on either backend's tensors (the torch backend's go through its host copy).
  const torch = existsSync(join(ROOT, "gpu", "build", "troupe-torch-parity"));
  for (const backend of (torch ? ["reference", "torch"] : ["reference"]) as ("reference" | "torch")[]) it(`${backend}: two workers with all-reduce end with the same weights as one worker on the combined batch; broadcast syncs weights`, async () => {
    const [a, b, one] = [await start(backend), await start(backend), await start(backend)];
    for (const w of [a, b, one]) await w.init(TINY, { seed: 3 });
    const seqs = sequences(4, 10, 64, 21);
    const all: TrainSequence[] = seqs.map((t, i) => ({ tokens: t, mask: maskAfterPrompt(t, 2), oldLogprobs: new Array(10).fill(-4), advantage: [1, -1, 0.5, 2][i] }));
    const addresses = [await a.collectiveListen()];  // a kernel-chosen port, bound at once
    const [ia, ib] = await Promise.all([a.collectiveInit(0, 2, addresses), b.collectiveInit(1, 2, addresses)]);
    expect([ia.rank, ia.world, ib.rank, ib.world]).to.deep.equal([0, 2, 1, 2]);
    const opts = { lossScale: 16, batchSequences: 4 };
    for (let step = 0; step < 3; step++) {
      await Promise.all([a.accumulate(all.slice(0, 2), opts), b.accumulate(all.slice(2), opts)]);
      await Promise.all([a.step({ lr: 1e-3 }), b.step({ lr: 1e-3 })]);
      // One worker, the same batch in two micro-batches (gradient accumulation).
      await one.accumulate(all.slice(0, 2), opts);
      await one.accumulate(all.slice(2), opts);
      await one.step({ lr: 1e-3 });
    }
    const [wa, wb, w1] = await Promise.all([a.getWeights(), b.getWeights(), one.getWeights()]);
    for (const name of Object.keys(w1)) {
      expect(bytesEqual(wa[name].data as Float32Array, wb[name].data as Float32Array), `${name}: ranks differ`).to.equal(true);
      expect(maxAbsDiff(wa[name].data, w1[name].data), name).to.be.below(1e-5);
    }
    // Broadcast: rank 1 gets new weights, then rank 0's again.
    await b.init(TINY, { seed: 77 });
    const q0 = "model.layers.0.self_attn.q_proj.weight";
    expect(bytesEqual((await b.getWeights([q0]))[q0].data as Float32Array, wa[q0].data as Float32Array)).to.equal(false);
    await Promise.all([a.broadcastWeights(0), b.broadcastWeights(0)]);
    const wb2 = await b.getWeights();
    for (const name of Object.keys(wa)) expect(bytesEqual(wb2[name].data as Float32Array, wa[name].data as Float32Array), name).to.equal(true);
  });
});
