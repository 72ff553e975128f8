// Which tokenizer a model means, decided once: by name in configs and actor options, and by the
// model's vocabulary size where only a checkpoint is given (`--init`, `eval --model native:`).
import { ByteTokenizer } from "./byte-level.js";
import { Qwen3Tokenizer } from "./qwen3.js";
import type { Tokenizer } from "./tokenizer.js";

export type TokenizerName = "bytes" | "qwen3";

/** Qwen3's tokenizer: its BPE vocabulary and special tokens (Hugging Face configs pad it to 151,936). */
const QWEN3_TOKENS = 151_669;

/**
 * A vocabulary that holds Qwen3's tokens means Qwen3's BPE; a smaller one is a model trained
 * from scratch on bytes (Qwen3's ids would overflow it).
 */
export function tokenizerForVocab(vocabSize: number): TokenizerName {
  return vocabSize >= QWEN3_TOKENS ? "qwen3" : "bytes";
}

export function makeTokenizer(name: TokenizerName = "qwen3"): Tokenizer {
  return name === "bytes" ? new ByteTokenizer() : new Qwen3Tokenizer();
}
