// A model folder's tokenizer files, as the hub ships them, and writing them into a checkpoint or
// an export so that the folder serves as it is (vLLM, transformers, `serve`, `--init`).
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { byteTokenizerJson } from "./byte-level.js";
import { QWEN3_TOKENIZER_DIR } from "./qwen3.js";
import { IM_END, END_OF_TEXT } from "./tokenizer.js";
import type { TokenizerName } from "./by-name.js";

export const TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json", "chat_template.jinja", "vocab.json", "merges.txt", "special_tokens_map.json", "added_tokens.json", "generation_config.json"];

/** Copies the tokenizer files of the first of `from` that has any into `to`; returns their names. */
export function copyTokenizerFiles(from: string[], to: string): string[] {
  const source = from.find((d) => TOKENIZER_FILES.some((f) => existsSync(join(d, f))));
  const files = source ? TOKENIZER_FILES.filter((f) => existsSync(join(source, f))) : [];
  if (files.length) mkdirSync(to, { recursive: true });
  for (const f of files) copyFileSync(join(source!, f), join(to, f));
  return files;
}

/**
 * Writes the files of tokenizer `name` into `to`: a folder's own; Qwen3's from the folder the
 * model started from (`init`) when it has them, else the bundled ones; for the byte tokenizer,
 * a tokenizer.json that encodes exactly as ByteTokenizer does and Qwen3's chat template (the
 * one byte models are trained with). Returns the names written.
 */
export function writeTokenizerFiles(name: TokenizerName, to: string, init?: string): string[] {
  if (name === "qwen3") return copyTokenizerFiles([...(init ? [init] : []), QWEN3_TOKENIZER_DIR], to);
  if (name !== "bytes") return copyTokenizerFiles([name], to);
  const qwen3 = JSON.parse(readFileSync(join(QWEN3_TOKENIZER_DIR, "tokenizer_config.json"), "utf8")) as { chat_template: string };
  mkdirSync(to, { recursive: true });
  writeFileSync(join(to, "tokenizer.json"), JSON.stringify(byteTokenizerJson()));
  writeFileSync(join(to, "tokenizer_config.json"), JSON.stringify({
    tokenizer_class: "PreTrainedTokenizerFast", chat_template: qwen3.chat_template,
    eos_token: IM_END, pad_token: END_OF_TEXT, bos_token: null, unk_token: null, add_bos_token: false, clean_up_tokenization_spaces: false,
    model_max_length: 131072,
  }, null, 2));
  return ["tokenizer.json", "tokenizer_config.json"];
}
