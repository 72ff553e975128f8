// What an engine and a hybrid learner both do to serve a batch of prompts: one batched call to
// the worker, the reply stamped with the weights' version.
import type { NativeWorker } from "../../gpu/index.js";
import type { SamplingParams } from "../../llm/index.js";

export async function generateWith(worker: NativeWorker, prompts: number[][], p: SamplingParams, version: number) {
  const gs = await worker.generate(prompts, { ...p, temperature: p.temperature ?? 1, topP: p.topP ?? 1, topK: p.topK ?? 0, stop: p.stop ?? [] });
  return gs.map((g) => ({ tokens: Array.from(g.tokens), logprobs: Array.from(g.logprobs), finish: g.finish, version }));
}
