// Checkpoints: Hugging Face folders (config.json + safetensors) saved atomically, loaded back
// bit-exact; files from another safetensors writer (BF16/F16, shards) load; Qwen3-0.6B's
// configuration loads and generates on the CPU.
import { expect } from "chai";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NativeWorker } from "../../gpu/index.js";
import { bytesEqual, QWEN3_0_6B, sequences, TINY } from "./worker-helpers.js";

/**
 * An independent safetensors writer (the format's spec, written separately from the worker's):
 * header keys in reverse order, metadata, padding, F32/BF16/F16 as asked per tensor.
 */
function writeSafetensors(path: string, tensors: Record<string, { dtype: "F32" | "BF16" | "F16"; shape: number[]; values: number[] }>): void {
  const header: Record<string, unknown> = { __metadata__: { format: "pt", writer: "test" } };
  const bodies: Buffer[] = [];
  let at = 0;
  for (const name of Object.keys(tensors).reverse()) {
    const t = tensors[name];
    let body: Buffer;
    if (t.dtype === "F32") body = Buffer.from(Float32Array.from(t.values).buffer);
    else {
      body = Buffer.alloc(t.values.length * 2);
      t.values.forEach((v, i) => body.writeUInt16LE(t.dtype === "BF16" ? bf16(v) : f16(v), i * 2));
    }
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [at, at + body.length] };
    bodies.push(body);
    at += body.length;
  }
  let h = JSON.stringify(header);
  h += " ".repeat((8 - (h.length % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  writeFileSync(path, Buffer.concat([len, Buffer.from(h), ...bodies]));
}
// The values used are exact in both half formats (small multiples of 1/8), so truncation is exact.
/** fp32 values rounded to bf16 precision as torch does (nearest, ties to even), kept in fp32. */
function roundBf16(x: Float32Array): Float32Array {
  const u = new Uint32Array(Float32Array.from(x).buffer);
  for (let i = 0; i < u.length; i++) u[i] = ((u[i] + 0x7fff + ((u[i] >>> 16) & 1)) & 0xffff0000) >>> 0;
  return new Float32Array(u.buffer);
}
const bf16 = (v: number) => new Uint32Array(Float32Array.of(v).buffer)[0] >>> 16;
function f16(v: number): number {
  if (v === 0) return Object.is(v, -0) ? 0x8000 : 0;
  const sign = v < 0 ? 0x8000 : 0;
  const a = Math.abs(v);
  const e = Math.floor(Math.log2(a));
  return sign | ((e + 15) << 10) | Math.round((a / 2 ** e - 1) * 1024);
}

describe("native worker: checkpoints", function () {
  let w: NativeWorker;
  let dir: string;
  before(async () => {
    w = await NativeWorker.start();
    dir = mkdtempSync(join(tmpdir(), "troupe-ckpt-"));
  });
  after(async () => {
    await w?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("save → load round-trips weights bit-exact and the optimizer state; the folder is Hugging Face's", async () => {
    await w.init(TINY, { seed: 5 });
    const batch = sequences(2, 9, 64, 3).map((t) => ({ tokens: t, mask: t.map((_, j) => (j ? 1 : 0)) }));
    await w.accumulate(batch, { mode: "ce" });
    await w.step({ lr: 1e-2 });
    const path = join(dir, "step-1");
    await w.save(path, { optimizer: true });
    expect(readdirSync(path).sort()).to.deep.equal(["config.json", "model.safetensors", "optimizer.safetensors", "trainer_state.json"]);
    const cfg = JSON.parse(readFileSync(join(path, "config.json"), "utf8"));
    expect(cfg).to.deep.include({ model_type: "qwen3", hidden_size: 32, num_key_value_heads: 2 });
    const header = readFileSync(join(path, "model.safetensors"));
    const names = Object.keys(JSON.parse(header.subarray(8, 8 + Number(header.readBigUInt64LE(0))).toString()));
    expect(names).to.include.members(["model.embed_tokens.weight", "model.layers.1.self_attn.q_norm.weight", "model.layers.0.mlp.gate_proj.weight", "model.norm.weight", "lm_head.weight"]);

    const other = await NativeWorker.start();
    try {
      const info = await other.load(path, { optimizer: true });
      expect(info.step).to.equal(1);
      const [a, b] = [await w.getWeights(), await other.getWeights()];
      expect(Object.keys(b).sort()).to.deep.equal(Object.keys(a).sort());
      for (const n of Object.keys(a)) expect(bytesEqual(a[n].data as Float32Array, b[n].data as Float32Array), n).to.equal(true);
      // The same next step on both: equal only if the Adam moments came back too.
      for (const x of [w, other]) {
        await x.accumulate(batch, { mode: "ce" });
        await x.step({ lr: 1e-2 });
      }
      const [a2, b2] = [await w.getWeights(), await other.getWeights()];
      for (const n of Object.keys(a2)) expect(bytesEqual(a2[n].data as Float32Array, b2[n].data as Float32Array), n).to.equal(true);
    } finally {
      await other.close();
    }
    // Atomic writes leave no temporary files behind.
    expect(readdirSync(path).filter((f) => f.includes("tmp"))).to.deep.equal([]);
  });

  it("loads a sharded folder from another writer (BF16, F16, F32 mixed; an extra lm_head beside tied embeddings)", async () => {
    const cfg = { ...TINY, vocab_size: 8, hidden_size: 4, intermediate_size: 8, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1, head_dim: 2, tie_word_embeddings: true };
    const shapes: Record<string, number[]> = {
      "model.embed_tokens.weight": [8, 4], "model.norm.weight": [4],
      "model.layers.0.input_layernorm.weight": [4], "model.layers.0.post_attention_layernorm.weight": [4],
      "model.layers.0.self_attn.q_proj.weight": [4, 4], "model.layers.0.self_attn.k_proj.weight": [2, 4],
      "model.layers.0.self_attn.v_proj.weight": [2, 4], "model.layers.0.self_attn.o_proj.weight": [4, 4],
      "model.layers.0.self_attn.q_norm.weight": [2], "model.layers.0.self_attn.k_norm.weight": [2],
      "model.layers.0.mlp.gate_proj.weight": [8, 4], "model.layers.0.mlp.up_proj.weight": [8, 4], "model.layers.0.mlp.down_proj.weight": [4, 8],
      "lm_head.weight": [8, 4],
    };
    const dtypes = ["BF16", "F16", "F32"] as const;
    const expected: Record<string, number[]> = {};
    const shards: Record<string, Record<string, { dtype: "F32" | "BF16" | "F16"; shape: number[]; values: number[] }>> = { "model-00001-of-00002.safetensors": {}, "model-00002-of-00002.safetensors": {} };
    const weightMap: Record<string, string> = {};
    Object.entries(shapes).forEach(([name, shape], k) => {
      const n = shape.reduce((a, b) => a * b, 1);
      const values = Array.from({ length: n }, (_, i) => ((i * 7 + k * 3) % 17 - 8) / 8);
      expected[name] = values;
      const file = k % 2 ? "model-00002-of-00002.safetensors" : "model-00001-of-00002.safetensors";
      shards[file][name] = { dtype: dtypes[k % 3], shape, values };
      weightMap[name] = file;
    });
    const path = join(dir, "foreign");
    mkdirSync(path);
    writeFileSync(join(path, "config.json"), JSON.stringify(cfg));
    for (const [file, tensors] of Object.entries(shards)) writeSafetensors(join(path, file), tensors);
    writeFileSync(join(path, "model.safetensors.index.json"), JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }));
    const info = await w.load(path);
    expect(info.ignored).to.deep.equal(["lm_head.weight"]);
    const got = await w.getWeights();
    for (const [name, values] of Object.entries(expected)) {
      if (name === "lm_head.weight") continue;
      expect([...got[name].data], name).to.deep.equal(values);
      expect(got[name].shape).to.deep.equal(shapes[name]);
    }
    // A folder missing a tensor is refused, and the loaded model keeps serving.
    const broken = join(dir, "broken");
    mkdirSync(broken);
    writeFileSync(join(broken, "config.json"), JSON.stringify(cfg));
    writeSafetensors(join(broken, "model.safetensors"), { "model.norm.weight": { dtype: "F32", shape: [4], values: [1, 1, 1, 1] } });
    const e = await w.load(broken).catch((x) => x);
    expect(e.code).to.equal("file");
    expect(e.message).to.match(/missing/);
    expect([...(await w.getWeights(["model.norm.weight"]))["model.norm.weight"].data]).to.deep.equal(expected["model.norm.weight"]);
  });

  it("Qwen3-0.6B's configuration: 596M parameters, saved as BF16, loaded back and generating on the CPU", async function () {
    this.timeout(600_000);
    const big = await NativeWorker.start();
    try {
      const info = await big.init(QWEN3_0_6B, { seed: 1 });
      expect(info.parameters).to.equal(596_049_920);
      const path = join(dir, "qwen3-0.6b");
      const probe = ["model.norm.weight", "model.layers.27.mlp.down_proj.weight"];
      const saved = await big.getWeights(probe);
      await big.save(path, { dtype: "BF16" });
      const loaded = await big.load(path);
      // What came back is what was saved, rounded to the nearest bf16 (ties to even).
      const back = await big.getWeights(probe);
      for (const name of probe) {
        const want = roundBf16(saved[name].data as Float32Array);
        expect(back[name].data.length, name).to.equal(want.length);
        expect(bytesEqual(back[name].data as Float32Array, want), name).to.equal(true);
      }
      expect(loaded.config).to.deep.include({ num_hidden_layers: 28, head_dim: 128, tie_word_embeddings: true });
      const [g] = await big.generate([[151644, 872, 198]], { maxTokens: 3, seed: 1 });
      expect(g.tokens.length).to.equal(3);
      for (const t of g.tokens) expect(t).to.be.within(0, 151935);
      for (const lp of g.logprobs) expect(lp).to.be.below(0);
    } finally {
      await big.close();
      rmSync(join(dir, "qwen3-0.6b"), { recursive: true, force: true });
    }
  });
});
