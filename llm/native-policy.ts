// A policy served by a native worker (gpu/) in this process's reach: a script, a test, or an
// engine actor that owns the worker.
import type { NativeWorker } from "../gpu/index.js";
import type { Completion, Policy, SamplingParams } from "./policy.js";

export class NativePolicy implements Policy {
  version?: number;

  constructor(private worker: NativeWorker, readonly name: string) {}

  async generate(prompt: number[], p: SamplingParams): Promise<Completion> {
    const [g] = await this.worker.generate([prompt], {
      maxTokens: p.maxTokens, temperature: p.temperature ?? 1, topP: p.topP ?? 1, topK: p.topK ?? 0, stop: p.stop ?? [], seed: p.seed,
    });
    return { tokens: Array.from(g.tokens), logprobs: Array.from(g.logprobs), finish: g.finish };
  }
}
