// Sharded learners on the torch backend: ZeRO stages 0–3 over c10d's Gloo between real worker
// processes. Each stage, on 2 and 4 ranks, must train as one process does on the combined batch
// (gradient clipping included, the norm being the whole gradient's), leave every rank the same
// weights bit for bit, and keep only the bytes its stage says.
import { expect } from "chai";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NativeWorker, type Qwen3Config, type TrainSequence } from "../../gpu/index.js";
import { driver, ROOT } from "../helpers.js";
import { bytesEqual, maxAbsDiff, sequences } from "./worker-helpers.js";

// Unit sizes that 2 and 4 do not divide (padding is exercised): vocab 61, hidden 20.
const MODEL: Qwen3Config = {
  architectures: ["Qwen3ForCausalLM"], model_type: "qwen3", vocab_size: 61, hidden_size: 20, intermediate_size: 36,
  num_hidden_layers: 3, num_attention_heads: 4, num_key_value_heads: 2, head_dim: 6, rms_norm_eps: 1e-6, rope_theta: 10000,
  tie_word_embeddings: false, max_position_embeddings: 256,
};
const STEPS = 3;
// Data parallelism sums the gradients in another order than one process does: after 3 AdamW
// steps at lr 1e-3 the weights may differ by float rounding, far below one step's size.
const TOLERANCE = 2e-6;
const STEP = { lr: 1e-3, weightDecay: 0.01, maxGradNorm: 0.05 };  // small enough that every step clips
const LOSS = { lossScale: 16, batchSequences: 8 };

/** Per rank: the bytes each unit (the layers, and the rest) keeps, as shards.h lays them out. */
function expectedHeld(shapes: { name: string; shape: number[] }[], world: number, stage: number) {
  const units = new Map<number, number>();
  for (const { name, shape } of shapes) {
    const m = /^model\.layers\.(\d+)\./.exec(name);
    const u = m ? 1 + Number(m[1]) : 0;
    units.set(u, (units.get(u) ?? 0) + shape.reduce((a, b) => a * b, 1));
  }
  let whole = 0, shard = 0;
  for (const n of units.values()) {
    const s = Math.ceil(n / world);
    shard += s;
    whole += s * world;
  }
  return { params: 4 * (stage < 3 ? whole : shard), grads: 4 * (stage < 2 ? whole : shard), optimizer: 8 * (stage < 1 ? whole : shard), gathered: 0, whole: 4 * whole };
}

const torch = existsSync(join(ROOT, "gpu", "build", "troupe-torch-parity"));
(torch ? describe : describe.skip)("native worker: sharded learners (ZeRO over c10d Gloo)", function () {
  const workers: NativeWorker[] = [];
  const start = async () => {
    const w = await NativeWorker.start({ backend: "torch", threads: 1 });
    workers.push(w);
    return w;
  };
  afterEach(async () => {
    await Promise.all(workers.map((w) => w.close()));
    workers.length = 0;
  });

  const batch: TrainSequence[] = sequences(8, 9, MODEL.vocab_size, 5).map((t, i) => ({
    tokens: t, mask: t.map((_, j) => (j >= 2 ? 1 : 0)), oldLogprobs: new Array(9).fill(-4.1), advantage: [1, -1, 0.5, 2, -0.3, 0.7, -2, 1.2][i],
  }));

  // One process on the combined batch: the reference every stage is held to.
  let single: { weights: Record<string, Float32Array>; norms: number[]; logprobs: Float32Array[]; greedy: number[][] };
  before(async function () {
    const one = await start();
    await one.init(MODEL, { seed: 11 });
    const norms: number[] = [];
    for (let s = 0; s < STEPS; s++) {
      await one.accumulate(batch, LOSS);
      norms.push((await one.step(STEP)).gradNorm);
    }
    const w = await one.getWeights();
    single = {
      weights: Object.fromEntries(Object.entries(w).map(([k, t]) => [k, t.data as Float32Array])), norms,
      logprobs: await one.logprobs(batch.slice(0, 2).map((s) => s.tokens)),
      greedy: (await one.generate([batch[0].tokens.slice(0, 3) as number[]], { temperature: 0, maxTokens: 6 })).map((g) => [...g.tokens]),
    };
    await one.close();
  });

  for (const world of [2, 4]) for (const zero of [0, 1, 2, 3] as const) {
    it(`stage ${zero} on ${world} ranks: the weights of one process on the combined batch (within ${TOLERANCE}), the same bits on every rank, the bytes the stage keeps`, async () => {
      const ranks = await Promise.all(Array.from({ length: world }, start));
      // Rank 0 alone has the seed's weights: joining gives every rank rank 0's.
      await Promise.all(ranks.map((w, r) => w.init(MODEL, { seed: r === 0 ? 11 : 100 + r })));
      const address = [await ranks[0].collectiveListen()];
      const infos = await Promise.all(ranks.map((w, r) => w.collectiveInit(r, world, address, { zero })));
      expect(infos.map((i) => [i.rank, i.world, i.zero])).to.deep.equal(ranks.map((_, r) => [r, world, zero]));
      const share = (r: number) => batch.filter((_, i) => i % world === r);
      for (let s = 0; s < STEPS; s++) {
        await Promise.all(ranks.map((w, r) => w.accumulate(share(r), LOSS)));
        const steps = await Promise.all(ranks.map((w) => w.step(STEP)));
        for (const st of steps) expect(st.gradNorm).to.be.closeTo(single.norms[s], 1e-5 * single.norms[s]);
      }
      expect(single.norms.every((n) => n > STEP.maxGradNorm), "every step clipped").to.equal(true);

      // Every rank asks at once: at stage 3 reading the weights gathers them.
      const weights = await Promise.all(ranks.map((w) => w.getWeights()));
      for (const name of Object.keys(single.weights)) {
        for (let r = 1; r < world; r++) expect(bytesEqual(weights[r][name].data as Float32Array, weights[0][name].data as Float32Array), `${name}: rank ${r} differs from rank 0`).to.equal(true);
        expect(maxAbsDiff(weights[0][name].data, single.weights[name]), name).to.be.below(TOLERANCE);
      }
      const held = (await Promise.all(ranks.map((w) => w.info()))).map((i) => i.held);
      const { whole: _, ...want } = expectedHeld(await ranks[0].weightShapes(), world, zero);
      for (const h of held) expect(h).to.deep.equal(want);

      // The sharded model still scores and generates as the single one.
      const lps = await Promise.all(ranks.map((w) => w.logprobs(batch.slice(0, 2).map((q) => q.tokens))));
      for (const lp of lps) lp.forEach((a, i) => expect(maxAbsDiff(a, single.logprobs[i])).to.be.below(1e-4));
      const gens = await Promise.all(ranks.map((w) => w.generate([batch[0].tokens.slice(0, 3) as number[]], { temperature: 0, maxTokens: 6 })));
      for (const g of gens) expect(g.map((x) => [...x.tokens])).to.deep.equal(single.greedy);
    });
  }

  /** A group of `world` torch workers at `zero`, each loading `from` (a folder) or rank 0's seed. */
  async function group(world: number, zero: 0 | 1 | 2 | 3, from?: string): Promise<NativeWorker[]> {
    const ranks = await Promise.all(Array.from({ length: world }, start));
    await Promise.all(ranks.map((w, r) => (from ? w.load(from, { optimizer: true }) : w.init(MODEL, { seed: r === 0 ? 11 : 100 + r }))));
    const address = [await ranks[0].collectiveListen()];
    await Promise.all(ranks.map((w, r) => w.collectiveInit(r, world, address, { zero })));
    return ranks;
  }
  async function train(ranks: NativeWorker[], steps: number): Promise<void> {
    for (let s = 0; s < steps; s++) {
      await Promise.all(ranks.map((w, r) => w.accumulate(batch.filter((_, i) => i % ranks.length === r), LOSS)));
      await Promise.all(ranks.map((w) => w.step(STEP)));
    }
  }
  const weightsOf = async (ranks: NativeWorker[]) => (await Promise.all(ranks.map((w) => w.getWeights())))[0];

  for (const [from, to] of [[[2, 3], [2, 3]], [[4, 2], [2, 1]], [[4, 3], [1, 0]]] as [number, 0 | 1 | 2 | 3][][]) {
    it(`a checkpoint saved by ${from[0]} ranks at stage ${from[1]} resumes on ${to[0]} at stage ${to[1]}: the weights of not stopping; every rank wrote its shard`, async () => {
      const dir = mkdtempSync(join(tmpdir(), "troupe-zero-"));
      try {
        const a = await group(from[0], from[1]);
        await train(a, 2);
        await Promise.all(a.map((w) => w.save(dir, { optimizer: true })));
        await train(a, 2);
        const going = await weightsOf(a);
        const shards = readdirSync(dir).filter((f) => f.startsWith("optimizer-rank-")).sort();
        expect(shards).to.deep.equal(Array.from({ length: from[0] }, (_, r) => `optimizer-rank-${String(r).padStart(5, "0")}-of-${String(from[0]).padStart(5, "0")}.safetensors`));
        expect(existsSync(join(dir, "optimizer-shards.json"))).to.equal(true);

        const b = to[0] === 1 ? [await start()] : await group(to[0], to[1], dir);
        if (to[0] === 1) await b[0].load(dir, { optimizer: true });
        expect((await b[0].info()).step).to.equal(2);
        await train(b, 2);
        const resumed = await weightsOf(b);
        for (const name of Object.keys(going)) expect(maxAbsDiff(resumed[name].data, going[name].data), name).to.be.below(TOLERANCE);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  it("a group of one at stage 3 runs the sharded path on itself (what one GPU checks with NCCL): the weights of no group", async () => {
    const [one] = await group(1, 3);
    for (let s = 0; s < STEPS; s++) {
      await one.accumulate(batch, LOSS);
      await one.step(STEP);
    }
    expect((await one.info()).held).to.deep.equal((({ whole: _, ...h }) => h)(expectedHeld(await one.weightShapes(), 1, 3)));
    const w = await one.getWeights();
    for (const name of Object.keys(single.weights)) expect(maxAbsDiff(w[name].data, single.weights[name]), name).to.be.below(TOLERANCE);
  });

  it("stage 3, uneven shares: a rank with fewer micro-batches runs the group's collectives idle; held weights are read by one rank alone", async () => {
    const ranks = await group(2, 3);
    // Rank 0: every sequence in two micro-batches; rank 1: none (two idle passes).
    for (let s = 0; s < STEPS; s++) {
      await Promise.all([
        (async () => {
          await ranks[0].accumulate(batch.slice(0, 3), LOSS);
          await ranks[0].accumulate(batch.slice(3), LOSS);
        })(),
        (async () => {
          await ranks[1].accumulate([], LOSS);
          await ranks[1].accumulate([], LOSS);
        })(),
      ]);
      const steps = await Promise.all(ranks.map((w) => w.step(STEP)));
      for (const st of steps) expect(st.gradNorm).to.be.closeTo(single.norms[s], 1e-5 * single.norms[s]);
    }
    await Promise.all(ranks.map((w) => w.holdWeights()));
    // Rank 0 alone: reading, scoring and generating need no collective while the weights are held.
    const w0 = await ranks[0].getWeights();
    for (const name of Object.keys(single.weights)) expect(maxAbsDiff(w0[name].data, single.weights[name]), name).to.be.below(TOLERANCE);
    const gen = await ranks[0].generate([batch[0].tokens.slice(0, 3) as number[]], { temperature: 0, maxTokens: 6 });
    expect(gen.map((x) => [...x.tokens])).to.deep.equal(single.greedy);
    const { whole, ...want } = expectedHeld(await ranks[0].weightShapes(), 2, 3);
    expect((await ranks[1].info()).held).to.deep.equal({ ...want, gathered: whole });
  });

  it("node driver.js export: a ZeRO-3 checkpoint in Hugging Face's sharded layout (index, tokenizer files) loads in the reference backend with the same log-probs", async () => {
    const dir = mkdtempSync(join(tmpdir(), "troupe-zero-"));
    try {
      const a = await group(2, 3);
      await train(a, 2);
      await Promise.all(a.map((w) => w.holdWeights()));
      await Promise.all(a.map((w) => w.save(join(dir, "ck"), { optimizer: true })));
      writeFileSync(join(dir, "ck", "tokenizer.json"), "{}");
      const seqs = batch.slice(0, 3).map((s) => s.tokens);
      const want = await a[0].logprobs(seqs);
      const r = await driver(["export", join(dir, "ck"), join(dir, "hf"), "--dtype", "fp32", "--max-shard-size", "20000"]);
      expect(r.code, r.stderr).to.equal(0);
      const index = JSON.parse(readFileSync(join(dir, "hf", "model.safetensors.index.json"), "utf8"));
      const files = [...new Set(Object.values(index.weight_map as Record<string, string>))].sort();
      expect(files.length).to.be.greaterThan(1);
      expect(files[0]).to.equal(`model-00001-of-${String(files.length).padStart(5, "0")}.safetensors`);
      expect(readdirSync(join(dir, "hf")).sort()).to.deep.equal(["config.json", ...files, "model.safetensors.index.json", "tokenizer.json"].sort());
      const ref = await NativeWorker.start({ backend: "reference" });
      workers.push(ref);
      const info = await ref.load(join(dir, "hf"));
      expect(info.parameters).to.equal((await a[0].info()).parameters);
      (await ref.logprobs(seqs)).forEach((lp, i) => expect(maxAbsDiff(lp, want[i])).to.be.below(1e-4));
      // bf16 (the default): loads too, its log-probs within bf16's rounding.
      expect((await driver(["export", join(dir, "ck"), join(dir, "hf16")])).code).to.equal(0);
      await ref.load(join(dir, "hf16"));
      (await ref.logprobs(seqs)).forEach((lp, i) => expect(maxAbsDiff(lp, want[i])).to.be.below(0.05));
      // An existing folder is refused, one line, exit 2.
      const again = await driver(["export", join(dir, "ck"), join(dir, "hf")]);
      expect([again.code, again.stderr.trim()]).to.deep.equal([2, `troupe: export: ${join(dir, "hf")} exists; give a new folder`]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a checkpoint missing one rank's shard does not load: the error names the file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "troupe-zero-"));
    try {
      const a = await group(2, 1);
      await train(a, 1);
      await Promise.all(a.map((w) => w.save(dir, { optimizer: true })));
      rmSync(join(dir, "optimizer-rank-00001-of-00002.safetensors"));
      const w = await start();
      const err = await w.load(dir, { optimizer: true }).then(() => undefined, (e: Error) => e);
      expect(err?.message).to.match(/optimizer-rank-00001-of-00002\.safetensors/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
