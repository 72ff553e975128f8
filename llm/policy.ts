// The one policy interface the rollouts use: tokens in, tokens out. A trajectory's training
// tokens are then exactly what the model produced plus the observations' tokens; no text is
// ever re-tokenized after the fact.

export interface SamplingParams {
  maxTokens: number;
  temperature?: number;
  topP?: number;
  topK?: number;
  /** Token ids that end the reply (included in it). */
  stop?: number[];
  seed?: number;
}

/** What an unset sampling parameter means, on every path (the native worker's own defaults too). */
export const SAMPLING_DEFAULTS = { temperature: 1, topP: 1, topK: 0 } as const;

export interface Completion {
  tokens: number[];
  /** One per token: its log-prob under the sampling distribution (0 when unknown). */
  logprobs: number[];
  finish: "stop" | "length";
}

export interface Policy {
  /** For traces and records: provider and model, e.g. "native:/runs/step-10". */
  readonly name: string;
  /** The weights' version (the learner's step); recorded with every trajectory. */
  readonly version?: number;
  generate(prompt: number[], params: SamplingParams): Promise<Completion>;
  /**
   * false: the ids are not what the model sampled but its text encoded again (a server that
   * speaks only chat): fine to evaluate, never to train on.
   */
  readonly tokenExact?: boolean;
}

/**
 * A model that scores text instead of writing it: the log-prob of each continuation (the sum
 * over its tokens) after a prompt. An execution-free verifier reads P(YES) off it.
 */
export interface Scorer {
  continuationLogprobs(prompt: number[], continuations: number[][]): Promise<number[]>;
}
