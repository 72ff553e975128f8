// EngineActor: a native worker (gpu/) serving generation to rollouts over the runtime. It loads
// a checkpoint folder (or a random model from a config, for tests) and reports its version.
import { NativeWorker, type Qwen3Config } from "../../gpu/index.js";

export interface EngineOptions {
  /** A Hugging Face checkpoint folder. */
  checkpoint?: string;
  /** Or a random model of this shape. */
  config?: Qwen3Config;
  seed?: number;
  threads?: number;
}

export class EngineActor {
  private worker?: NativeWorker;
  private version = 0;
  private vocabSize = 0;

  constructor(private opts: EngineOptions) {}

  async onStart(): Promise<void> {
    this.worker = await NativeWorker.start({ threads: this.opts.threads });
    if (this.opts.checkpoint) {
      const info = await this.worker.load(this.opts.checkpoint, { optimizer: false });
      this.version = info.step ?? 0;
    } else if (this.opts.config) await this.worker.init(this.opts.config, { seed: this.opts.seed ?? 0 });
    else throw new TypeError("EngineActor needs a checkpoint or a config");
    this.vocabSize = (await this.worker.info()).config!.vocab_size;
  }

  async onStop(): Promise<void> {
    await this.worker?.close();
  }

  info(): { version: number; vocabSize: number } {
    return { version: this.version, vocabSize: this.vocabSize };
  }

  async generate(prompt: number[], p: { maxTokens: number; temperature?: number; topP?: number; topK?: number; stop?: number[]; seed?: number }) {
    const [g] = await this.worker!.generate([prompt], { maxTokens: p.maxTokens, temperature: p.temperature ?? 1, topP: p.topP ?? 1, topK: p.topK ?? 0, stop: p.stop, seed: p.seed });
    return { tokens: Array.from(g.tokens), logprobs: Array.from(g.logprobs), finish: g.finish, version: this.version };
  }
}
