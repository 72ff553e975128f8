// The torch backend of the native worker (libtorch on the CPU here): the parity program
// against the reference in one process, then real worker processes of both backends side by
// side through the protocol — the same weights from one seed, log-probs, losses, a step,
// generation, checkpoints crossing backends bit-exact, and its errors.
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NativeWorker, WorkerCrashedError, WorkerError, type TrainSequence } from "../../gpu/index.js";
import { ROOT } from "../helpers.js";
import { bytesEqual, maxAbsDiff, sequences, TINY } from "./worker-helpers.js";

const PARITY = join(ROOT, "gpu", "build", "troupe-torch-parity");

function parity(args: string[]) {
  const r = spawnSync(PARITY, args, { encoding: "utf8" });
  const lines = r.stdout.trim().split("\n").filter((l) => /^(PASS|FAIL) /.test(l));
  return { status: r.status, lines, verdicts: lines.map((l) => l.split(" ")[0]) };
}

/** Largest |a − b| relative to the largest |b|. */
function relErr(a: Float32Array, b: Float32Array): number {
  let scale = 1e-12;
  for (const x of b) scale = Math.max(scale, Math.abs(x));
  return maxAbsDiff(a, b) / scale;
}

describe("native worker: the torch backend against the reference", function () {
  this.timeout(120_000);
  let ref: NativeWorker, tor: NativeWorker, dir: string;

  before(async function () {
    const probe = await NativeWorker.start();
    const { backends } = await probe.info();
    await probe.close();
    // CI installs libtorch-dev (scripts/setup.sh); a build without it runs the reference alone.
    if (!backends.includes("torch") || !existsSync(PARITY)) {
      console.log("      (skipped: this worker was built without libtorch; scripts/setup.sh installs libtorch-dev)");
      this.skip();
    }
    ref = await NativeWorker.start({ threads: 1 });
    tor = await NativeWorker.start({ threads: 1, backend: "torch", device: "cpu" });
    dir = mkdtempSync(join(tmpdir(), "troupe-torch-"));
  });
  after(async () => {
    await ref?.close();
    await tor?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("troupe-torch-parity: logits' log-probs, both losses, every gradient, AdamW, generation, checkpointing and chunking agree (fp32 and bf16)", () => {
    for (const precision of ["fp32", "bf16"]) {
      const r = parity(["--precision", precision]);
      expect(r.lines.length, precision).to.be.greaterThan(30);
      expect(r.lines.filter((l) => l.startsWith("FAIL")), precision).to.deep.equal([]);
      expect(r.status, precision).to.equal(0);
    }
  });

  it("troupe-torch-parity fails every check when the torch side is perturbed", () => {
    const r = parity(["--corrupt"]);
    expect(r.status).to.equal(1);
    expect(r.lines.length).to.be.greaterThan(30);
    expect(r.verdicts.every((v) => v === "FAIL")).to.equal(true);
  });

  it("reports its backend and device; one seed gives both backends the same weights", async () => {
    expect(await tor.init(TINY, { seed: 5 })).to.include({ backend: "torch", device: "cpu" });
    expect(await ref.init(TINY, { seed: 5 })).to.include({ backend: "reference", device: "cpu" });
    const a = await ref.getWeights(), b = await tor.getWeights();
    expect(Object.keys(b).sort()).to.deep.equal(Object.keys(a).sort());
    for (const name of Object.keys(a)) expect(bytesEqual(b[name].data as Float32Array, a[name].data as Float32Array), name).to.equal(true);
  });

  it("through the protocol: log-probs, the policy-gradient loss and the weights after a step agree (fp32, 1e-4)", async () => {
    await ref.init(TINY, { seed: 6, initStd: 0.1 });
    await tor.init(TINY, { seed: 6, initStd: 0.1 });
    const seqs = sequences(3, 12, TINY.vocab_size, 9);
    const [lr, lt] = [await ref.logprobs(seqs), await tor.logprobs(seqs)];
    lr.forEach((l, i) => expect(relErr(lt[i], l), `sequence ${i}`).to.be.below(1e-4));
    const batch: TrainSequence[] = seqs.map((tokens, i) => ({
      tokens, mask: tokens.map((_, j) => (j > 3 ? 1 : 0)), oldLogprobs: Array.from(lr[i], (x, j) => x - 0.4 * ((i + j) % 3 - 1)), advantage: [1, -0.5, 0.75][i],
    }));
    const opts = { lossScale: 16, batchSequences: 3 };
    const [a, b] = [await ref.accumulate(batch, opts), await tor.accumulate(batch, opts)];
    expect(Math.abs(b.loss - a.loss) / Math.abs(a.loss)).to.be.below(1e-4);
    expect(b.tokens).to.equal(a.tokens);
    expect(b.clipped).to.equal(a.clipped);
    expect(a.clipped).to.be.greaterThan(0);  // the old log-probs are far enough off for the clip to act
    const [ga, gb] = [await ref.getGradients(), await tor.getGradients()];
    for (const name of Object.keys(ga)) expect(relErr(gb[name].data as Float32Array, ga[name].data as Float32Array), name).to.be.below(1e-4);
    // eps 1e-3: AdamW's first step divides by |g| + eps, which amplifies rounding where |g| ≈ eps.
    const step = { lr: 1e-2, eps: 1e-3 };
    const [sa, sb] = [await ref.step(step), await tor.step(step)];
    expect(Math.abs(sb.gradNorm - sa.gradNorm) / sa.gradNorm).to.be.below(1e-4);
    expect(sb.step).to.equal(1);
    const [wa, wb] = [await ref.getWeights(), await tor.getWeights()];
    for (const name of Object.keys(wa)) expect(relErr(wb[name].data as Float32Array, wa[name].data as Float32Array), name).to.be.below(1e-4);
  });

  it("generation: the same tokens as the reference, greedy and sampled with a seed; the KV cache equals recomputation", async () => {
    await ref.init(TINY, { seed: 8, initStd: 0.1 });
    await tor.init(TINY, { seed: 8, initStd: 0.1 });
    const prompts = [[1, 2, 3], [4, 5, 6, 7, 8, 9], [10]];
    for (const o of [{ temperature: 0 }, { temperature: 1, topP: 0.9, topK: 20, seed: 3 }]) {
      const a = await ref.generate(prompts, { maxTokens: 10, ...o });
      const b = await tor.generate(prompts, { maxTokens: 10, ...o });
      const c = await tor.generate(prompts, { maxTokens: 10, useCache: false, ...o });
      b.forEach((g, i) => {
        expect(Array.from(g.tokens), `prompt ${i}`).to.deep.equal(Array.from(a[i].tokens));
        expect(Array.from(c[i].tokens), `prompt ${i}, no cache`).to.deep.equal(Array.from(g.tokens));
        expect(maxAbsDiff(g.logprobs, a[i].logprobs)).to.be.below(1e-4);
      });
    }
  });

  it("checkpoints cross backends bit-exact, both ways, with the optimizer state", async () => {
    await tor.init(TINY, { seed: 10 });
    const seqs = sequences(2, 8, TINY.vocab_size, 4);
    await tor.accumulate(seqs.map((tokens) => ({ tokens, mask: tokens.map(() => 1) })), { mode: "ce" });
    await tor.step({ lr: 1e-2 });
    await tor.save(join(dir, "from-torch"), { optimizer: true });
    expect((await ref.load(join(dir, "from-torch"), { optimizer: true })).step).to.equal(1);
    const [a, b] = [await tor.getWeights(), await ref.getWeights()];
    for (const name of Object.keys(a)) expect(bytesEqual(b[name].data as Float32Array, a[name].data as Float32Array), name).to.equal(true);
    await ref.save(join(dir, "from-reference"), { optimizer: true });
    expect((await tor.load(join(dir, "from-reference"), { optimizer: true })).step).to.equal(1);
    const c = await tor.getWeights();
    for (const name of Object.keys(a)) expect(bytesEqual(c[name].data as Float32Array, a[name].data as Float32Array), name).to.equal(true);
    // The optimizer state made the trip too: one more identical step lands on identical weights.
    for (const w of [ref, tor]) await w.accumulate(seqs.map((tokens) => ({ tokens, mask: tokens.map(() => 1) })), { mode: "ce" });
    await ref.step({ lr: 1e-2, eps: 1e-3 });
    await tor.step({ lr: 1e-2, eps: 1e-3 });
    const [d, e] = [await ref.getWeights(), await tor.getWeights()];
    for (const name of Object.keys(d)) expect(relErr(e[name].data as Float32Array, d[name].data as Float32Array), name).to.be.below(1e-4);
  });

  it("bad requests get the reference's codes; running out of memory is a coded error naming the sizes, and the worker serves on", async () => {
    await tor.init({ ...TINY, max_position_embeddings: 2 ** 31 - 1 }, { seed: 1 });
    for (const call of [() => tor.generate([[1, 2]], { topP: 0 }), () => tor.logprobs([[1, TINY.vocab_size + 5]])]) {
      const bad = await call().catch((e) => e);
      expect(bad).to.be.instanceOf(WorkerError);
      expect(bad.code).to.equal("bad_request");
    }
    // A KV cache for 2³¹ positions: 128 GiB, more than this machine has.
    const oom = await tor.generate([[1, 2, 3]], { maxTokens: 2 ** 31 - 100 }).catch((e) => e);
    expect(oom).to.be.instanceOf(WorkerError);
    expect(oom.code).to.equal("out_of_memory");
    expect(oom.message).to.match(/ran out of memory for 1 sequences, 3 prompt tokens/);
    expect(oom.message).to.not.match(/frame #/);  // no C++ backtrace in front of a user
    expect((await tor.generate([[1, 2, 3]], { maxTokens: 4, temperature: 0 }))[0].tokens).to.have.length(4);
  });

  it("a device this build cannot use fails the start with one clear line", async () => {
    const err = await NativeWorker.start({ backend: "torch", device: "cuda" }).catch((e) => e);
    expect(err).to.be.instanceOf(WorkerCrashedError);
    expect(err.message).to.match(/device cuda: (this worker's libtorch .* has no CUDA|no CUDA device is visible)/);
    const bad = await NativeWorker.start({ backend: "reference", device: "cuda" }).catch((e) => e);
    expect(bad.message).to.match(/backend reference runs on the cpu only/);
  });
});
