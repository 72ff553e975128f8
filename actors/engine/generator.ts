// What generates for a rollout, whoever it is: the LearnerActor in hybrid mode (its own weights,
// no copy), an EngineActor in disaggregated mode (a copy kept current by broadcasts), or a test's
// scripted engine. One batched call to a native worker serves both actors; every completion
// carries the version of the weights that produced it, so a trajectory records what it was
// sampled from.
import type { NativeWorker } from "../../gpu/index.js";
import type { Completion, SamplingParams } from "../../llm/index.js";

export interface Generated extends Completion {
  /** The weights' version (optimizer steps taken) that produced the completion. */
  version: number;
}

export interface Generator {
  generate(prompt: number[], p: SamplingParams): Promise<Generated>;
  generateBatch(prompts: number[][], p: SamplingParams): Promise<Generated[]>;
  /** The weights' version now. */
  info(): { version: number } | Promise<{ version: number }>;
}

export async function generateWith(worker: NativeWorker, prompts: number[][], p: SamplingParams, version: number): Promise<Generated[]> {
  const gs = await worker.generate(prompts, { ...p, stop: p.stop ?? [] });  // unset parameters: the worker's defaults
  return gs.map((g) => ({ tokens: Array.from(g.tokens), logprobs: Array.from(g.logprobs), finish: g.finish, version }));
}

/** Each continuation's log-prob after `prompt` (Scorer), in one batched forward. */
export async function scoreWith(worker: NativeWorker, prompt: number[], continuations: number[][]): Promise<number[]> {
  const lps = await worker.logprobs(continuations.map((c) => [...prompt, ...c]));
  return lps.map((l) => l.subarray(prompt.length).reduce((a, x) => a + x, 0));
}
