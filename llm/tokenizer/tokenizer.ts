// What every tokenizer gives the rest of Troupe: text ↔ token ids, with the ChatML special
// tokens recognized in text (so a rendered chat encodes to its special ids).
export interface Tokenizer {
  readonly name: string;
  /** Ids are in [0, vocabSize); the model's vocab_size must be at least this. */
  readonly vocabSize: number;
  encode(text: string): number[];
  decode(ids: ArrayLike<number>): string;
  /** The id of a special token such as "<|im_end|>", or undefined. */
  specialId(token: string): number | undefined;
}

/** The special tokens the chat template needs. */
export const IM_START = "<|im_start|>";
export const IM_END = "<|im_end|>";
export const END_OF_TEXT = "<|endoftext|>";
