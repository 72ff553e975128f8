// Which tokenizer a model means, decided once: by name in configs and actor options ("bytes",
// "qwen3", or a model folder holding tokenizer.json), and for a model folder or checkpoint by
// its own files first, then by its vocabulary size (`--init`, `serve`, `eval --model native:`).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ByteTokenizer } from "./byte-level.js";
import { HFTokenizer } from "./hf.js";
import { Qwen3Tokenizer } from "./qwen3.js";
import type { Tokenizer } from "./tokenizer.js";

/** "bytes", "qwen3" (Qwen3's files, bundled), or the path of a folder holding a tokenizer.json. */
export type TokenizerName = "bytes" | "qwen3" | (string & {});

/** Qwen3's tokenizer: its BPE vocabulary and special tokens (Hugging Face configs pad it to 151,936). */
const QWEN3_TOKENS = 151_669;

/**
 * A vocabulary that holds Qwen3's tokens means Qwen3's BPE; a smaller one is a model trained
 * from scratch on bytes (Qwen3's ids would overflow it).
 */
export function tokenizerForVocab(vocabSize: number): "bytes" | "qwen3" {
  return vocabSize >= QWEN3_TOKENS ? "qwen3" : "bytes";
}

/** Whether `name` names a tokenizer: bytes, qwen3, or a folder that holds a tokenizer.json. */
export function isTokenizerName(name: string): name is TokenizerName {
  return name === "bytes" || name === "qwen3" || existsSync(join(name, "tokenizer.json"));
}

/**
 * The tokenizer of a model folder (a Hugging Face folder, a Troupe checkpoint): the folder's own
 * tokenizer.json when it has one, else what its config.json's vocab_size means (none: bytes).
 */
export function modelTokenizer(dir: string): TokenizerName {
  if (existsSync(join(dir, "tokenizer.json"))) return dir;
  const vocab = (JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as { vocab_size?: unknown }).vocab_size;
  return typeof vocab === "number" ? tokenizerForVocab(vocab) : "bytes";
}

export function makeTokenizer(name: TokenizerName = "qwen3"): Tokenizer {
  return name === "bytes" ? new ByteTokenizer() : name === "qwen3" ? new Qwen3Tokenizer() : new HFTokenizer(name);
}
