// A byte-level tokenizer for tiny models trained from scratch: ids 0–255 are the UTF-8 bytes,
// followed by the ChatML special tokens, so the same chat template serves both kinds of model.
import { END_OF_TEXT, IM_END, IM_START, type Tokenizer } from "./tokenizer.js";

const SPECIALS = [END_OF_TEXT, IM_START, IM_END, "<think>", "</think>"];
const SPLIT = new RegExp(`(${SPECIALS.map((s) => s.replace(/[|<>/]/g, (c) => `\\${c}`)).join("|")})`);

export class ByteTokenizer implements Tokenizer {
  readonly name = "bytes";
  readonly vocabSize = 256 + SPECIALS.length;

  encode(text: string): number[] {
    const out: number[] = [];
    for (const part of text.split(SPLIT)) {
      const special = SPECIALS.indexOf(part);
      if (special >= 0) out.push(256 + special);
      else for (const b of Buffer.from(part, "utf8")) out.push(b);
    }
    return out;
  }

  decode(ids: ArrayLike<number>): string {
    const parts: string[] = [];
    let bytes: number[] = [];
    const flush = () => {
      parts.push(Buffer.from(bytes).toString("utf8"));
      bytes = [];
    };
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (id < 256) bytes.push(id);
      else {
        flush();
        parts.push(SPECIALS[id - 256] ?? "");
      }
    }
    flush();
    return parts.join("");
  }

  specialId(token: string): number | undefined {
    const i = SPECIALS.indexOf(token);
    return i >= 0 ? 256 + i : undefined;
  }
}

/**
 * ByteTokenizer as a Hugging Face tokenizer.json: byte-level pre-tokenization (GPT-2's map of
 * bytes to printable characters) and a BPE model with no merges whose vocabulary gives byte b
 * the id b, the special tokens after them as added tokens. Any tokenizers implementation then
 * gives the ids ByteTokenizer gives (tested against @huggingface/tokenizers).
 */
export function byteTokenizerJson(): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  BYTE_CHARS.forEach((c, b) => (vocab[c] = b));
  const byteLevel = { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false };
  return {
    version: "1.0", truncation: null, padding: null,
    added_tokens: SPECIALS.map((content, i) => ({ id: 256 + i, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: !content.includes("think") })),
    normalizer: null, pre_tokenizer: byteLevel, post_processor: null, decoder: byteLevel,
    model: { type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges: [] },
  };
}

/** GPT-2's bytes_to_unicode: printable bytes stand for themselves, the rest for code points from 256 on. */
const BYTE_CHARS: string[] = (() => {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let next = 256;
  return Array.from({ length: 256 }, (_, b) => String.fromCodePoint(printable(b) ? b : next++));
})();
