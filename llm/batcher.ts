// Concurrent generation requests into one worker call: requests that arrive while the worker is
// busy wait, and when it is free the oldest waiting request goes with every other waiting one
// that asks for the same sampling (one call takes one set of parameters). The worker runs a
// batch in one pass per token, so N waiting clients cost about one generation, not N. A request
// may take its tokens as they are sampled (`onToken`), for a server that streams them.
import type { GenerateOptions, Generation, NativeWorker } from "../gpu/index.js";

interface Waiting {
  prompt: number[];
  key: string;
  onToken?: (token: number) => void;
  resolve: (g: Generation) => void;
  reject: (e: Error) => void;
}

export class GenerationQueue {
  private waiting: Waiting[] = [];
  private busy = false;
  /** Requests taken and worker calls made (their ratio is the batching achieved), and the requests in the worker now. */
  readonly stats = { requests: 0, batches: 0, generating: 0 };

  constructor(private worker: NativeWorker) {}

  generate(prompt: number[], opts: Omit<GenerateOptions, "onTokens">, onToken?: (token: number) => void): Promise<Generation> {
    this.stats.requests++;
    return new Promise((resolve, reject) => {
      this.waiting.push({ prompt, key: JSON.stringify(opts), onToken, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    if (this.busy || !this.waiting.length) return;
    const key = this.waiting[0].key;
    const batch = this.waiting.filter((w) => w.key === key);
    this.waiting = this.waiting.filter((w) => w.key !== key);
    this.busy = true;
    this.stats.batches++;
    this.stats.generating = batch.length;
    const onTokens = batch.some((w) => w.onToken) ? (rows: number[], tokens: number[]) => rows.forEach((r, i) => batch[r].onToken?.(tokens[i])) : undefined;
    this.worker.generate(batch.map((w) => w.prompt), { ...(JSON.parse(key) as GenerateOptions), onTokens }).then(
      (gs) => batch.forEach((w, i) => w.resolve(gs[i])),
      (e: Error) => batch.forEach((w) => w.reject(e)),
    ).finally(() => {
      this.busy = false;
      this.stats.generating = 0;
      this.pump();
    });
  }
}
