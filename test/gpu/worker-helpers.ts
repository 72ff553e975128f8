// Shared set-up of the native worker tests: tiny Qwen3 configs and a free TCP port.
import type { Qwen3Config } from "../../gpu/index.js";

/** A 2-layer GQA model small enough to train in a test. */
export const TINY: Qwen3Config = {
  architectures: ["Qwen3ForCausalLM"], model_type: "qwen3", vocab_size: 64, hidden_size: 32, intermediate_size: 64,
  num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, head_dim: 8, rms_norm_eps: 1e-6, rope_theta: 10000,
  tie_word_embeddings: false, max_position_embeddings: 512,
};

/** Qwen3-0.6B's published configuration (its config.json on the Hugging Face hub). */
export const QWEN3_0_6B: Qwen3Config = {
  architectures: ["Qwen3ForCausalLM"], model_type: "qwen3", vocab_size: 151936, hidden_size: 1024, intermediate_size: 3072,
  num_hidden_layers: 28, num_attention_heads: 16, num_key_value_heads: 8, head_dim: 128, rms_norm_eps: 1e-6,
  rope_theta: 1000000, tie_word_embeddings: true, max_position_embeddings: 40960, torch_dtype: "bfloat16",
  bos_token_id: 151643, eos_token_id: 151645, hidden_act: "silu",
};

/** Deterministic pseudo-random token sequences. */
export function sequences(count: number, length: number, vocab: number, seed: number): number[][] {
  let x = seed >>> 0 || 1;
  const next = () => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0) % vocab);
  return Array.from({ length: count }, () => Array.from({ length }, next));
}

export function maxAbsDiff(a: Float32Array | Int32Array, b: Float32Array | Int32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return a.length === b.length ? m : Infinity;
}

export function bytesEqual(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}
