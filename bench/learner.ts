// `npm run bench -- learner`: the native worker's CPU backend on a ~10M-parameter Qwen3 at
// sequence length 512. Training tokens/s and achieved GFLOP/s of a whole step (forward,
// backward, AdamW), against the GFLOP/s of OpenBLAS's sgemm at the model's largest shapes
// measured in the same run; generation tokens/s with and without the KV cache.
import { NativeWorker, type Qwen3Config } from "../gpu/index.js";
import { size } from "./util.js";

export const CONFIG: Qwen3Config = {
  vocab_size: 4096, hidden_size: 256, intermediate_size: 768, num_hidden_layers: 10, num_attention_heads: 8,
  num_key_value_heads: 4, head_dim: 32, rope_theta: 10000, tie_word_embeddings: false, max_position_embeddings: 2048,
};
const SEQ = size(512, 96);
const BATCH = size(4, 1);

/**
 * FLOPs of one training step: the matmuls (2 per multiply-add) forward, twice that backward.
 * Attention counts only the causal triangle (what a causal model needs), not the full square:
 * the conservative count, so skipped work never inflates the figure.
 */
function stepFlops(c: Qwen3Config, seqs: number, len: number): number {
  const d = c.hidden_size, hd = c.head_dim!, hq = c.num_attention_heads, hkv = c.num_key_value_heads!;
  const linear = c.num_hidden_layers * (d * hq * hd * 2 + 2 * d * hkv * hd + 3 * d * c.intermediate_size) + d * c.vocab_size;
  const tokens = seqs * len;
  const pairs = (len * (len + 1)) / 2;  // (query, key) pairs a causal sequence attends over
  const attention = c.num_hidden_layers * seqs * hq * 2 * (2 * pairs * hd);  // Q·Kᵀ and P·V
  return 3 * (2 * linear * tokens + attention);
}

function lcg(seed: number) {
  let x = seed >>> 0;
  return (n: number) => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0) % n);
}

/** Training and generation speed of one worker on CONFIG; the worker is left open for more. */
export async function measure(w: NativeWorker, log = (_: string) => undefined as void) {
  const info = await w.init(CONFIG, { seed: 1 });
  log(`model: ${(info.parameters! / 1e6).toFixed(2)}M parameters, ${BATCH} × ${SEQ} tokens per step (${info.backend} on ${info.device})`);
  const rnd = lcg(7);
  const seqs = Array.from({ length: BATCH }, () => Array.from({ length: SEQ }, () => rnd(CONFIG.vocab_size)));
  const old = await w.logprobs(seqs);
  const batch = seqs.map((t, i) => ({ tokens: t, mask: t.map((_, j) => (j >= 64 ? 1 : 0)), oldLogprobs: old[i], advantage: i % 2 ? 1 : -1 }));
  const trainStep = async () => {
    await w.accumulate(batch, { batchSequences: BATCH });
    await w.step({ lr: 1e-4 });
  };
  await trainStep();  // warm-up: first-touch of every buffer
  const steps = size(3, 1);
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) await trainStep();
  const trainS = (performance.now() - t0) / 1000 / steps;
  // Generation: 4 prompts of 32 tokens; the uncached reference recomputes every prefix.
  const prompts = Array.from({ length: 4 }, () => Array.from({ length: 32 }, () => rnd(CONFIG.vocab_size)));
  const gen = async (maxTokens: number, useCache: boolean) => {
    const t = performance.now();
    const out = await w.generate(prompts, { maxTokens, seed: 1, useCache });
    return out.reduce((a, g) => a + g.tokens.length, 0) / ((performance.now() - t) / 1000);
  };
  await gen(4, true);
  const genCached = await gen(size(128, 8), true);
  const genFull = await gen(size(32, 4), false);
  const gflops = stepFlops(CONFIG, BATCH, SEQ) / trainS / 1e9;
  log(`train step ${(trainS * 1000).toFixed(0)} ms: ${((BATCH * SEQ) / trainS).toFixed(0)} tokens/s, ${gflops.toFixed(1)} GFLOP/s; generation ${genCached.toFixed(0)} tokens/s with the KV cache, ${genFull.toFixed(0)} without`);
  return { trainS, tokensPerS: (BATCH * SEQ) / trainS, gflops, genCached, genFull };
}

export async function run(): Promise<Record<string, number>> {
  const w = await NativeWorker.start();
  try {
    const m = await measure(w, console.log);
    // The limit: sgemm at the step's largest shapes (LM head, MLP, attention projections).
    const rows = BATCH * SEQ;
    const shapes = [[rows, CONFIG.vocab_size, CONFIG.hidden_size], [rows, CONFIG.intermediate_size, CONFIG.hidden_size], [rows, CONFIG.hidden_size, CONFIG.intermediate_size]];
    let peak = 0;
    for (const [mm, n, k] of shapes) {
      const r = (await w.request("bench_matmul", { m: mm, n, k, reps: 5 })).header.result as { gflops: number };
      console.log(`sgemm ${mm}×${n}×${k}: ${r.gflops.toFixed(1)} GFLOP/s`);
      peak = Math.max(peak, r.gflops);
    }
    console.log(`train: ${((100 * m.gflops) / peak).toFixed(0)}% of sgemm's ${peak.toFixed(1)} GFLOP/s`);
    return {
      train_tokens_per_s: Math.round(m.tokensPerS),
      train_gflops: +m.gflops.toFixed(2),
      peak_matmul_gflops: +peak.toFixed(2),
      train_fraction_of_peak: +(m.gflops / peak).toFixed(3),
      gen_tokens_per_s: Math.round(m.genCached),
      gen_tokens_per_s_no_cache: Math.round(m.genFull),
    };
  } finally {
    await w.close();
  }
}
