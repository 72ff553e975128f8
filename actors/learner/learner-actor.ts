// LearnerActor: one native worker that trains the policy and, in hybrid mode, also serves its
// generation (so switching from rollout to train moves no weights). Training takes whole
// sequences with their loss masks, old log-probs and advantages, packs them into micro-batches
// by a token budget, accumulates gradients and takes one optimizer step.
import { networkInterfaces } from "node:os";
import { NativeWorker, workerBackend, type WorkerBackend, type LossOptions, type Qwen3Config, type StepOptions, type TrainSequence } from "../../gpu/index.js";
import { behaviourWeighted, packMicroBatches } from "../../rl/index.js";
import type { SamplingParams } from "../../llm/index.js";
import { generateWith, scoreWith, type Generated, type Generator } from "../engine/generator.js";
import { publishWeights, weightsDigest, type SyncOptions, type SyncStats } from "../weights/weight-sync.js";

export interface LearnerOptions extends WorkerBackend {
  checkpoint?: string;
  config?: Qwen3Config;
  seed?: number;
  threads?: number;
  /** Tokens per micro-batch (gradient accumulation beyond it). */
  microBatchTokens?: number;
  /** ZeRO stage in a group (torch backend): see GroupOptions. */
  zero?: 0 | 1 | 2 | 3;
}

/** A policy-gradient sequence that may have been sampled by older weights. */
export interface PolicySequence extends TrainSequence {
  /** The sampler's log-prob of every token (the behaviour policy's): see `importanceCap`. */
  behaviourLogprobs?: number[];
}

export interface PolicyLoss extends LossOptions {
  /**
   * Decoupled PPO (rl/off-policy.ts): each token of a sequence with behaviour log-probs is
   * weighted by min(π_prox / π_behav, importanceCap), π_prox being these weights before the step.
   */
  importanceCap?: number;
}

export interface TrainResult {
  loss: number;
  tokens: number;
  clipped: number;
  gradNorm: number;
  step: number;
  microBatches: number;
}

export class LearnerActor implements Generator {
  private worker?: NativeWorker;
  private version = 0;
  private world = 1;

  constructor(private opts: LearnerOptions) {}

  async onStart(): Promise<void> {
    this.worker = await NativeWorker.start({ threads: this.opts.threads, ...workerBackend(this.opts) });
    if (this.opts.checkpoint) this.version = (await this.worker.load(this.opts.checkpoint, { optimizer: true })).step ?? 0;
    else if (this.opts.config) await this.worker.init(this.opts.config, { seed: this.opts.seed ?? 0 });
    else throw new TypeError("LearnerActor needs a checkpoint or a config");
  }

  async onStop(): Promise<void> {
    await this.worker?.close();
  }

  /**
   * Rank 0's part of a data-parallel group's rendezvous: its worker listens on a free port of
   * an address the other learners can reach. The driver passes it to every member through the
   * runtime.
   */
  rendezvous(): Promise<string> {
    return this.worker!.collectiveListen(`${reachableAddress()}:0`);
  }

  /**
   * Joins the group: weights and optimizer state start as rank 0's, and each rank keeps what
   * its ZeRO stage says; gradients are summed across the group at every step.
   */
  async joinGroup(rank: number, world: number, addresses: string[]): Promise<void> {
    await this.worker!.collectiveInit(rank, world, addresses, { zero: this.opts.zero ?? 0, host: reachableAddress() });
    this.world = world;
    await this.worker!.holdWeights();
  }

  /** A digest of every weight, in name order: equal digests mean bit-identical weights. */
  checksum(): Promise<string> {
    return weightsDigest(this.worker!);
  }

  /** The weights' version: the number of optimizer steps taken. */
  info(): { version: number } {
    return { version: this.version };
  }

  async generate(prompt: number[], p: SamplingParams): Promise<Generated> {
    return (await this.generateBatch([prompt], p))[0];
  }

  /** Many prompts in one batched call (the worker decodes them together). */
  async generateBatch(prompts: number[][], p: SamplingParams): Promise<Generated[]> {
    return generateWith(this.worker!, prompts, p, this.version);
  }

  /**
   * Disaggregated mode: broadcasts the current weights, stamped with their version, to the
   * `receivers` engines listening on `subject` (EngineActor.receiveWeights).
   */
  async publishWeights(subject: string, receivers: number, opts: SyncOptions = {}): Promise<SyncStats> {
    return publishWeights(this.worker!, subject, receivers, this.version, opts);
  }

  /** Log-probs of whole sequences under the current weights (the learner's "old" log-probs). */
  async logprobs(seqs: number[][]): Promise<number[][]> {
    return (await this.worker!.logprobs(seqs)).map((a) => Array.from(a));
  }

  /** Scorer: each continuation's log-prob after `prompt` (a verifier in training is scored so). */
  async continuationLogprobs(prompt: number[], continuations: number[][]): Promise<number[]> {
    return scoreWith(this.worker!, prompt, continuations);
  }

  /**
   * One optimizer step over the whole batch (gradient accumulation over micro-batches). In
   * policy-gradient mode, sequences given without old log-probs get this learner's, under the
   * weights before the step (DEEPSWE recomputes them rather than trust the sampler's): each
   * rank of a data-parallel group computes its own share's, with no trip through rank 0.
   */
  async train(sequences: PolicySequence[], policyLoss: PolicyLoss, step: StepOptions): Promise<TrainResult> {
    const { importanceCap, ...loss } = policyLoss;
    const missing = loss.mode === "pg" ? sequences.filter((s) => !s.oldLogprobs) : [];
    const computed = missing.length ? await this.worker!.logprobs(missing.map((s) => s.tokens)) : [];
    const old = new Map(missing.map((s, i) => [s, computed[i]]));
    const batch: TrainSequence[] = sequences.map((seq) => {
      const { behaviourLogprobs, ...s } = seq;
      const oldLogprobs = s.oldLogprobs ?? old.get(seq);
      const mask = importanceCap !== undefined && behaviourLogprobs && oldLogprobs ? behaviourWeighted(s.mask, oldLogprobs, behaviourLogprobs, importanceCap) : s.mask;
      return { ...s, oldLogprobs, mask };
    });
    const budget = this.opts.microBatchTokens ?? 4096;
    const groups = packMicroBatches(batch.map((s) => s.tokens.length), budget);
    const r = { loss: 0, tokens: 0, clipped: 0 };
    // The whole batch's size, across every learner of a group when the caller says so.
    const whole = loss.mode === "ce"
      ? { batchTokens: loss.batchTokens ?? batch.reduce((a, s) => a + Array.from(s.mask).reduce((x, y) => x + y, 0), 0) }
      : { batchSequences: loss.batchSequences ?? batch.length };
    // From ZeRO-2 on every micro-batch's backward is a collective: each rank runs as many as the
    // busiest one (the spare ones empty).
    const runs = this.world > 1 && (this.opts.zero ?? 0) >= 2 ? await this.worker!.agree(groups.length) : groups.length;
    for (let k = 0; k < runs; k++) {
      const part = await this.worker!.accumulate((groups[k] ?? []).map((i) => batch[i]), { ...loss, ...whole });
      r.loss += part.loss;
      r.tokens += part.tokens;
      r.clipped += part.clipped;
    }
    const s = await this.worker!.step(step);
    this.version = s.step;
    if (this.world > 1) await this.worker!.holdWeights();
    return { ...r, gradNorm: s.gradNorm, step: s.step, microBatches: groups.length };
  }

  async save(path: string): Promise<void> {
    await this.worker!.save(path, { optimizer: true });
  }

  /** The weights alone, as a Hugging Face checkpoint folder (for a server to load); their version. */
  async saveWeights(path: string): Promise<number> {
    await this.worker!.save(path, { optimizer: false });
    return this.version;
  }
}

/** This machine's first non-internal IPv4 address (loopback on a machine with none). */
function reachableAddress(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  }
  return "127.0.0.1";
}
