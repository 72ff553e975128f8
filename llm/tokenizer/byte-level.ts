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
