// LearnerActor: one native worker that trains the policy and, in hybrid mode, also serves its
// generation (so switching from rollout to train moves no weights). Training takes whole
// sequences with their loss masks, old log-probs and advantages, packs them into micro-batches
// by a token budget, accumulates gradients and takes one optimizer step.
import { NativeWorker, type LossOptions, type Qwen3Config, type StepOptions, type TrainSequence } from "../../gpu/index.js";
import { packMicroBatches } from "../../rl/index.js";

export interface LearnerOptions {
  checkpoint?: string;
  config?: Qwen3Config;
  seed?: number;
  threads?: number;
  /** Tokens per micro-batch (gradient accumulation beyond it). */
  microBatchTokens?: number;
}

export interface TrainResult {
  loss: number;
  tokens: number;
  clipped: number;
  gradNorm: number;
  step: number;
  microBatches: number;
}

export class LearnerActor {
  private worker?: NativeWorker;
  private version = 0;

  constructor(private opts: LearnerOptions) {}

  async onStart(): Promise<void> {
    this.worker = await NativeWorker.start({ threads: this.opts.threads });
    if (this.opts.checkpoint) this.version = (await this.worker.load(this.opts.checkpoint, { optimizer: true })).step ?? 0;
    else if (this.opts.config) await this.worker.init(this.opts.config, { seed: this.opts.seed ?? 0 });
    else throw new TypeError("LearnerActor needs a checkpoint or a config");
  }

  async onStop(): Promise<void> {
    await this.worker?.close();
  }

  /** The weights' version: the number of optimizer steps taken. */
  info(): { version: number } {
    return { version: this.version };
  }

  async generate(prompt: number[], p: { maxTokens: number; temperature?: number; topP?: number; topK?: number; stop?: number[]; seed?: number }) {
    const [g] = await this.worker!.generate([prompt], { ...p, stop: p.stop ?? [] });
    return { tokens: Array.from(g.tokens), logprobs: Array.from(g.logprobs), finish: g.finish, version: this.version };
  }

  /** Many prompts in one batched call (the worker decodes them together). */
  async generateBatch(prompts: number[][], p: { maxTokens: number; temperature?: number; topP?: number; topK?: number; stop?: number[]; seed?: number }) {
    const gs = await this.worker!.generate(prompts, { ...p, stop: p.stop ?? [] });
    return gs.map((g) => ({ tokens: Array.from(g.tokens), logprobs: Array.from(g.logprobs), finish: g.finish, version: this.version }));
  }

  /** Log-probs of whole sequences under the current weights (the learner's "old" log-probs). */
  async logprobs(seqs: number[][]): Promise<number[][]> {
    return (await this.worker!.logprobs(seqs)).map((a) => Array.from(a));
  }

  /** One optimizer step over the whole batch (gradient accumulation over micro-batches). */
  async train(batch: TrainSequence[], loss: LossOptions, step: StepOptions): Promise<TrainResult> {
    const budget = this.opts.microBatchTokens ?? 4096;
    const groups = packMicroBatches(batch.map((s) => s.tokens.length), budget);
    const r = { loss: 0, tokens: 0, clipped: 0 };
    const whole = loss.mode === "ce" ? { batchTokens: batch.reduce((a, s) => a + Array.from(s.mask).reduce((x, y) => x + y, 0), 0) } : { batchSequences: batch.length };
    for (const g of groups) {
      const part = await this.worker!.accumulate(g.map((i) => batch[i]), { ...loss, ...whole });
      r.loss += part.loss;
      r.tokens += part.tokens;
      r.clipped += part.clipped;
    }
    const s = await this.worker!.step(step);
    this.version = s.step;
    return { ...r, gradNorm: s.gradNorm, step: s.step, microBatches: groups.length };
  }

  async save(path: string): Promise<void> {
    await this.worker!.save(path, { optimizer: true });
  }
}
