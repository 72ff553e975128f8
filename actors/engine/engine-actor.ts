// EngineActor: a native worker (gpu/) serving generation to rollouts over the runtime, in
// disaggregated mode. It starts from a checkpoint folder (or a random model of a config) and
// then takes each new version of the weights from the learner's broadcast; every reply says
// which version produced it, so a trajectory records the weights it was sampled from.
import { NativeWorker, workerBackend, type WorkerBackend, type Qwen3Config } from "../../gpu/index.js";
import { receiveWeights, weightsDigest, type SyncOptions, type SyncStats } from "../weights/weight-sync.js";
import type { SamplingParams } from "../../llm/index.js";
import { generateWith, scoreWith, type Generated, type Generator } from "./generator.js";

export interface EngineOptions extends WorkerBackend {
  /** A Hugging Face checkpoint folder. */
  checkpoint?: string;
  /** Or a random model of this shape. */
  config?: Qwen3Config;
  seed?: number;
  threads?: number;
  /**
   * Serve only weights the learner sent: refuse to generate until the first receiveWeights. A
   * training run's engines set it, so one restarted after a crash cannot answer with its start
   * weights as if they were current (its calls fail until the next sync: infrastructure failures).
   */
  awaitWeights?: boolean;
}

export class EngineActor implements Generator {
  private worker?: NativeWorker;
  private version = 0;
  private vocabSize = 0;
  /** The model's context (max_position_embeddings; 0 when the config does not say). */
  private maxPositions = 0;
  /** Why the weights are unusable: a sync that broke half-way leaves a mix of two versions. */
  private broken?: string;

  constructor(private opts: EngineOptions) {}

  async onStart(): Promise<void> {
    this.worker = await NativeWorker.start({ threads: this.opts.threads, ...workerBackend(this.opts) });
    if (this.opts.checkpoint) {
      const info = await this.worker.load(this.opts.checkpoint, { optimizer: false });
      this.version = info.step ?? 0;
    } else if (this.opts.config) await this.worker.init(this.opts.config, { seed: this.opts.seed ?? 0 });
    else throw new TypeError("EngineActor needs a checkpoint or a config");
    const config = (await this.worker.info()).config!;
    this.vocabSize = config.vocab_size;
    this.maxPositions = config.max_position_embeddings ?? 0;
    if (this.opts.awaitWeights) this.broken = "no weights received from the learner since the engine started";
  }

  async onStop(): Promise<void> {
    await this.worker?.close();
  }

  info(): { version: number; vocabSize: number; maxPositions: number; broken?: string } {
    return { version: this.version, vocabSize: this.vocabSize, maxPositions: this.maxPositions, broken: this.broken };
  }

  /**
   * Takes version `version` from the learner's broadcast on `subject`. Calls run one at a
   * time, so no generation sees half-loaded weights; a broken sync leaves the engine refusing
   * to generate until a whole version arrives.
   */
  async receiveWeights(subject: string, version: number, opts: SyncOptions = {}): Promise<SyncStats> {
    this.broken = `weights of version ${version} only partly loaded`;
    try {
      const s = await receiveWeights(this.worker!, subject, version, opts);
      this.version = version;
      this.broken = undefined;
      return s;
    } catch (e) {
      this.broken += `: ${(e as Error).message}`;
      throw e;
    }
  }

  /** A digest of every weight: equal to the learner's after a sync. */
  checksum(): Promise<string> {
    return weightsDigest(this.worker!);
  }

  /**
   * The digest of the weights it serves; undefined while it serves none (restarted and waiting
   * for the next sync, or a sync broke): those weights are nobody's, and the next sync replaces them.
   */
  async servedChecksum(): Promise<string | undefined> {
    return this.broken ? undefined : weightsDigest(this.worker!);
  }

  async generate(prompt: number[], p: SamplingParams): Promise<Generated> {
    return (await this.generateBatch([prompt], p))[0];
  }

  async generateBatch(prompts: number[][], p: SamplingParams): Promise<Generated[]> {
    if (this.broken) throw new Error(`engine cannot generate: ${this.broken}`);
    return generateWith(this.worker!, prompts, p, this.version);
  }

  /** Scorer: each continuation's log-prob after `prompt` (an execution-free verifier's P(YES)). */
  async continuationLogprobs(prompt: number[], continuations: number[][]): Promise<number[]> {
    if (this.broken) throw new Error(`engine cannot score: ${this.broken}`);
    return scoreWith(this.worker!, prompt, continuations);
  }
}
