// The client of the native worker (gpu/worker/): spawns the program, speaks the framed protocol,
// supervises the process. Every op has a typed method; requests may be pipelined (the worker
// answers in order). A crash fails the requests in flight with WorkerCrashedError and leaves
// the client closed until restart().
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { WorkerCrashedError, WorkerError } from "./errors.js";
import { encodeFrame, FrameReader, type Frame, type WireTensor } from "./protocol.js";

/** The worker program built by `npm run build:worker`. */
export const WORKER_BIN = fileURLToPath(new URL("../../gpu/build/troupe-worker", import.meta.url));

/** A Hugging Face Qwen3 config.json (the fields the worker reads; others are kept). */
export interface Qwen3Config {
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads?: number;
  head_dim?: number;
  rms_norm_eps?: number;
  rope_theta?: number;
  tie_word_embeddings?: boolean;
  max_position_embeddings?: number;
  [k: string]: unknown;
}

/** How a worker runs its model; chosen when it starts (see gpu/worker/src/worker/policy.h). */
export interface WorkerBackend {
  /** reference: the hand-written CPU kernels (default); torch: the model in libtorch, CPU or CUDA. */
  backend?: "reference" | "torch";
  /** torch: cpu, cuda, or auto (CUDA when a GPU is visible). The reference runs on the CPU. */
  device?: "cpu" | "cuda" | "auto";
  /** torch: compute dtype; auto is bf16 on CUDA and fp32 on the CPU. Master weights, gradients and AdamW state stay fp32. */
  precision?: "auto" | "fp32" | "bf16";
  /** torch: recompute each layer in backward instead of keeping its activations (default on). */
  activationCheckpointing?: boolean;
  /** torch: rows of [tokens × vocabulary] logits that exist at once (default 2048). */
  logitsChunk?: number;
}

export interface WorkerOptions extends WorkerBackend {
  /** Path of the worker program (default: the built one, or $TROUPE_WORKER_BIN). */
  bin?: string;
  /** Threads for its math (OpenMP, OpenBLAS and ATen); default: all cores. */
  threads?: number;
}

/** The backend fields of any options object (an actor's), for NativeWorker.start. */
export function workerBackend(o: WorkerBackend): WorkerBackend {
  return { backend: o.backend, device: o.device, precision: o.precision, activationCheckpointing: o.activationCheckpointing, logitsChunk: o.logitsChunk };
}

/** The worker program's flags for a backend choice. */
function backendArgs(o: WorkerBackend): string[] {
  const args: string[] = [];
  if (o.backend) args.push("--backend", o.backend);
  if (o.device) args.push("--device", o.device);
  if (o.precision) args.push("--precision", o.precision);
  if (o.activationCheckpointing !== undefined) args.push("--checkpoint", o.activationCheckpointing ? "on" : "off");
  if (o.logitsChunk !== undefined) args.push("--logits-chunk", String(o.logitsChunk));
  return args;
}

export interface WorkerInfo {
  backend: "reference" | "torch";
  /** Where the model runs: cpu or cuda. */
  device: string;
  /** The backends this build of the worker has. */
  backends: string[];
  /** The libtorch the torch backend was built with. */
  torch_version?: string;
  config?: Qwen3Config;
  parameters?: number;
  step?: number;
  rank: number;
  world: number;
  /** The ZeRO stage the model trains with (0 outside a group). */
  zero?: number;
  /** Bytes of parameters, gradients and AdamW state this rank keeps between steps. */
  held?: HeldBytes;
}

export interface HeldBytes {
  params: number;
  grads: number;
  optimizer: number;
  /** ZeRO-3: the whole weights held between steps (holdWeights), beside the rank's shard. */
  gathered: number;
}

/** How a worker joins a group (collectiveInit). */
export interface GroupOptions {
  /** ZeRO stage: 0 (replicated), 1 (optimizer state sharded), 2 (and gradients), 3 (and parameters); torch backend only beyond 0. */
  zero?: 0 | 1 | 2 | 3;
  /** The address this rank's own transport listens on, reachable by the others (default 127.0.0.1). */
  host?: string;
  /** false: keep this rank's weights instead of taking rank 0's (default true). */
  sync?: boolean;
  timeoutMs?: number;
}

export interface GenerateOptions {
  maxTokens?: number;
  /** 0: greedy. */
  temperature?: number;
  topP?: number;
  /** 0: no limit. */
  topK?: number;
  stop?: number[];
  seed?: number;
  /** false: recompute the whole prefix for every token (a reference; slow). */
  useCache?: boolean;
  /**
   * Called after each decoding step with the prompts (by index) that took a token and the token
   * each took, stop tokens included, while the batch is still generating.
   */
  onTokens?: (rows: number[], tokens: number[]) => void;
}

export interface Generation {
  tokens: Int32Array;
  /** log softmax(logits / temperature) at each sampled token. */
  logprobs: Float32Array;
  finish: "stop" | "length";
}

/** One micro-batch of training sequences; token-aligned arrays have one value per token. */
export interface TrainSequence {
  tokens: Int32Array | number[];
  /** 1 where the token counts in the loss (the model generated it), else 0. */
  mask: Float32Array | number[];
  /** Log-probs of the tokens when they were sampled (policy gradient). */
  oldLogprobs?: Float32Array | number[];
  /** The sequence's advantage (policy gradient). */
  advantage?: number;
}

/** DEEPSWE's clip range [1 − 0.2, 1 + 0.28] and constant C: what an unset loss option means (the worker's protocol defaults too). */
export const LOSS_DEFAULTS = { epsLow: 0.2, epsHigh: 0.28, lossScale: 32768 } as const;

export interface LossOptions {
  mode?: "pg" | "ce";
  epsLow?: number;
  epsHigh?: number;
  /** pg: the constant C a trajectory's token sum is divided by (DEEPSWE: 32,768). */
  lossScale?: number;
  /** pg: sequences in the whole batch (every micro-batch of every worker), for the mean. */
  batchSequences?: number;
  /** ce: counted tokens in the whole batch; default: this micro-batch's. */
  batchTokens?: number;
}

export interface LossResult {
  loss: number;
  tokens: number;
  clipped: number;
}

export interface StepOptions {
  lr?: number;
  weightDecay?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** ≤ 0: no clipping. */
  maxGradNorm?: number;
}

interface Pending {
  op: string;
  resolve: (f: Frame) => void;
  reject: (e: Error) => void;
  /** Partial replies the request asked for, before its reply. */
  partial?: (p: Record<string, unknown>) => void;
}

const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const c of live) c.kill("SIGKILL");
});

/** A run of elements of one weight tensor (the whole tensor without start and count). */
export interface WeightRange {
  name: string;
  start?: number;
  count?: number;
}

/** Where one range of an f32 tensor lies in a weights file (exportWeights, importWeights). */
export interface WeightFileEntry {
  name: string;
  shape: number[];
  start: number;
  count: number;
  offset: number;
  nbytes: number;
}

export class NativeWorker {
  private child!: ChildProcess;
  private reader = new FrameReader();
  private pending = new Map<number, Pending>();
  private nextId = 1;
  private stderrTail = "";
  private dead?: WorkerCrashedError;
  /** Resolves when the current process exits. */
  exited!: Promise<{ code: number | null; signal: string | null }>;

  private constructor(private opts: WorkerOptions) {}

  static async start(opts: WorkerOptions = {}): Promise<NativeWorker> {
    const w = new NativeWorker(opts);
    w.spawn();
    await w.info();
    return w;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  private spawn(): void {
    const bin = this.opts.bin ?? process.env.TROUPE_WORKER_BIN ?? WORKER_BIN;
    if (!existsSync(bin)) throw new Error(`the native worker ${bin} is not built: run npm run build:worker (scripts/setup.sh does)`);
    const env = { ...process.env };
    if (this.opts.threads) env.OMP_NUM_THREADS = env.OPENBLAS_NUM_THREADS = String(this.opts.threads);
    const child = spawn(bin, backendArgs(this.opts), { stdio: ["pipe", "pipe", "pipe"], env });
    this.child = child;
    this.dead = undefined;
    this.reader = new FrameReader();
    this.stderrTail = "";
    live.add(child);
    child.stdout!.on("data", (chunk: Buffer) => {
      let frames: Frame[];
      try {
        frames = this.reader.push(chunk);
      } catch (e) {
        child.kill("SIGKILL");
        return this.failAll(new WorkerCrashedError(`unreadable reply from the worker: ${(e as Error).message}`, null, null));
      }
      for (const f of frames) this.onFrame(f);
    });
    child.stderr!.on("data", (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString()).slice(-4000);
    });
    child.stdin!.on("error", () => undefined);  // EPIPE after a crash: reported through exit
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        live.delete(child);
        const how = signal ? `signal ${signal}` : `code ${code}`;
        const tail = this.stderrTail.trim() ? `; its last words: ${this.stderrTail.trim().split("\n").slice(-3).join(" | ")}` : "";
        this.failAll(new WorkerCrashedError(`the native worker (pid ${child.pid}) exited (${how})${tail}`, code, signal));
        resolve({ code, signal });
      });
    });
  }

  private failAll(e: WorkerCrashedError): void {
    this.dead ??= e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  private onFrame(f: Frame): void {
    const id = Number(f.header.id);
    const p = this.pending.get(id);
    if (!p) return;
    if (f.header.ok && f.header.partial) {
      p.partial?.(f.header.partial);
      return;
    }
    this.pending.delete(id);
    if (f.header.ok) p.resolve(f);
    else p.reject(new WorkerError(String(f.header.error?.code ?? "internal"), p.op, String(f.header.error?.message ?? "failed")));
  }

  /** One raw request; the typed methods below build on it. */
  request(op: string, args: Record<string, unknown> = {}, tensors: Record<string, WireTensor> = {}, partial?: Pending["partial"]): Promise<Frame> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    const frame = encodeFrame({ id, op, args }, tensors);
    return new Promise<Frame>((resolve, reject) => {
      this.pending.set(id, { op, resolve, reject, partial });
      for (const b of frame) this.child.stdin!.write(b);
    });
  }

  async info(): Promise<WorkerInfo> {
    return (await this.request("info")).header.result as WorkerInfo;
  }

  /** A fresh model with random weights (N(0, initStd), norms 1). */
  async init(config: Qwen3Config, opts: { seed?: number; initStd?: number } = {}): Promise<WorkerInfo> {
    return (await this.request("init", { config, seed: opts.seed ?? 0, init_std: opts.initStd ?? 0.02 })).header.result as WorkerInfo;
  }

  /** A Hugging Face folder: config.json and model.safetensors (or shards with their index). */
  async load(path: string, opts: { optimizer?: boolean } = {}): Promise<WorkerInfo & { ignored: string[] }> {
    return (await this.request("load", { path, optimizer: !!opts.optimizer })).header.result;
  }

  /** Writes config.json and model.safetensors (each atomically); with the optimizer state if asked. */
  async save(path: string, opts: { dtype?: "F32" | "BF16"; optimizer?: boolean } = {}): Promise<void> {
    await this.request("save", { path, dtype: opts.dtype ?? "F32", optimizer: !!opts.optimizer });
  }

  /**
   * The weights in Hugging Face's sharded layout in `path`: config.json, model-0000K-of-0000N
   * .safetensors (each at most maxShardBytes, default 5 GiB) and their index. Returns the files.
   */
  async exportHF(path: string, opts: { dtype?: "bf16" | "fp32"; maxShardBytes?: number } = {}): Promise<string[]> {
    const r = await this.request("export", { path, dtype: opts.dtype === "fp32" ? "F32" : "BF16", ...(opts.maxShardBytes ? { max_shard_bytes: opts.maxShardBytes } : {}) });
    return (r.header.result as { files: string[] }).files;
  }

  async generate(prompts: (Int32Array | number[])[], opts: GenerateOptions = {}): Promise<Generation[]> {
    const f = await this.request("generate", {
      max_tokens: opts.maxTokens ?? 256, temperature: opts.temperature ?? 1, top_p: opts.topP ?? 1, top_k: opts.topK ?? 0,
      stop: opts.stop ?? [], seed: opts.seed ?? 0, use_cache: opts.useCache ?? true, stream: !!opts.onTokens,
    }, packSequences(prompts), opts.onTokens && ((p) => opts.onTokens!(p.rows as number[], p.tokens as number[])));
    const lens = f.tensors.lengths.data as Int32Array;
    const toks = f.tensors.tokens.data as Int32Array;
    const lps = f.tensors.logprobs.data as Float32Array;
    const finish = f.header.result.finish as Generation["finish"][];
    const out: Generation[] = [];
    let at = 0;
    lens.forEach((n, i) => {
      out.push({ tokens: toks.slice(at, at + n), logprobs: lps.slice(at, at + n), finish: finish[i] });
      at += n;
    });
    return out;
  }

  /** Log-prob of every token given those before it (0 for each first token). */
  async logprobs(sequences: (Int32Array | number[])[]): Promise<Float32Array[]> {
    const f = await this.request("logprobs", {}, packSequences(sequences));
    return splitBy(f.tensors.logprobs.data as Float32Array, sequences.map((s) => s.length));
  }

  /** Forward and backward of one micro-batch; gradients add up until step(). */
  async accumulate(batch: TrainSequence[], opts: LossOptions = {}): Promise<LossResult> {
    const mode = opts.mode ?? "pg";
    const t = packSequences(batch.map((s) => s.tokens));
    const n = t.tokens.data.length;
    t.mask = { data: concatF32(batch.map((s) => s.mask)), shape: [n] };
    if (mode === "pg") {
      t.old_logprobs = { data: concatF32(batch.map((s, i) => s.oldLogprobs ?? missing(i, "oldLogprobs"))), shape: [n] };
      t.advantages = { data: Float32Array.from(batch.map((s, i) => s.advantage ?? missing(i, "advantage"))), shape: [batch.length] };
    }
    const f = await this.request("accumulate", {
      mode, eps_low: opts.epsLow ?? LOSS_DEFAULTS.epsLow, eps_high: opts.epsHigh ?? LOSS_DEFAULTS.epsHigh, loss_scale: opts.lossScale ?? LOSS_DEFAULTS.lossScale,
      batch_sequences: opts.batchSequences ?? batch.length, batch_tokens: opts.batchTokens ?? 0,
    }, t);
    return f.header.result as LossResult;
  }

  /** All-reduce (in a group), clip, AdamW, zero the gradients. */
  async step(opts: StepOptions = {}): Promise<{ gradNorm: number; step: number }> {
    const r = (await this.request("step", {
      lr: opts.lr ?? 1e-6, weight_decay: opts.weightDecay ?? 0.01, beta1: opts.beta1 ?? 0.9, beta2: opts.beta2 ?? 0.999,
      eps: opts.eps ?? 1e-8, max_grad_norm: opts.maxGradNorm ?? 1.0,
    })).header.result;
    return { gradNorm: r.grad_norm, step: r.step };
  }

  async getWeights(names?: string[]): Promise<Record<string, WireTensor>> {
    return (await this.request("get_weights", names ? { names } : {})).tensors;
  }

  /** The gradients accumulated since the last step, by parameter name (fp32). */
  async getGradients(): Promise<Record<string, WireTensor>> {
    return (await this.request("get_gradients")).tensors;
  }

  /** Every weight's name and shape, in the worker's order, without moving any bytes. */
  async weightShapes(): Promise<{ name: string; shape: number[] }[]> {
    return (await this.request("get_weights", { meta: true })).header.result.tensors;
  }

  /**
   * Writes the ranges of weights (every tensor whole when none are given) back to back into `file` and returns
   * where each lies: the bulk path for moving weights, one write instead of a pipe's 64 KiB
   * hand-offs. `file` must be on this machine; a tmpfs (/dev/shm) is fastest.
   */
  async exportWeights(file: string, ranges: WeightRange[] = []): Promise<WeightFileEntry[]> {
    return (await this.request("get_weights", { file, ranges })).header.result.tensors;
  }

  /** Installs weights from a file laid out as `entries` says; all or nothing, like setWeights. */
  async importWeights(file: string, entries: WeightFileEntry[]): Promise<void> {
    await this.request("set_weights", { file, tensors: entries });
  }

  /** All or nothing: a wrong name or shape changes no weight. */
  async setWeights(weights: Record<string, WireTensor>): Promise<void> {
    await this.request("set_weights", {}, weights);
  }

  /**
   * Rank 0's first half of the rendezvous: binds a listening socket on `address` (port 0: a
   * free one, chosen by the kernel as it binds) and returns "host:port" for every rank's
   * collectiveInit. A port chosen first and bound later could be taken in between.
   */
  async collectiveListen(address = "127.0.0.1:0"): Promise<string> {
    return ((await this.request("collective_listen", { address })).header.result as { address: string }).address;
  }

  /**
   * Joins a group of `world` workers; rank 0 listens on addresses[0] ("host:port"), bound by
   * collectiveListen when it was called. The reference backend's group is a TCP star; the torch
   * backend's is c10d (Gloo on the CPU, NCCL on CUDA). Every rank then holds rank 0's weights and
   * optimizer state, or the part of them its ZeRO stage keeps.
   */
  async collectiveInit(rank: number, world: number, addresses: string[], opts: GroupOptions = {}): Promise<WorkerInfo> {
    return (await this.request("collective_init", {
      rank, world, addresses, timeout_ms: opts.timeoutMs ?? 30_000, zero: opts.zero ?? 0, host: opts.host ?? "127.0.0.1", sync: opts.sync ?? true,
    })).header.result as WorkerInfo;
  }

  /**
   * ZeRO-3: gathers the whole weights and keeps them until the next accumulate, so that
   * generating, scoring and reading weights need no other rank (every rank calls it at once).
   * Elsewhere a no-op.
   */
  async holdWeights(): Promise<WorkerInfo> {
    return (await this.request("hold_weights")).header.result as WorkerInfo;
  }

  /** The group's largest `value` (every rank calls it at once); `value` itself outside a group. */
  async agree(value: number): Promise<number> {
    return ((await this.request("agree", { value })).header.result as { max: number }).max;
  }

  /** Every worker of the group ends with `root`'s weights. */
  async broadcastWeights(root = 0): Promise<void> {
    await this.request("broadcast", { root });
  }

  /** Starts a new process after a crash (or to drop the old one); the model must be loaded again. */
  async restart(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill("SIGKILL");
      await this.exited;
    }
    this.spawn();
    await this.info();
  }

  /** Ends the process: a clean shutdown, SIGKILL if it does not exit within `graceMs`. */
  async close(graceMs = 2000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.request("shutdown").catch(() => undefined);
    const t = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    await this.exited;
    clearTimeout(t);
  }
}

function packSequences(seqs: (Int32Array | number[])[]): Record<string, WireTensor> {
  const lengths = Int32Array.from(seqs.map((s) => s.length));
  const tokens = new Int32Array(lengths.reduce((a, b) => a + b, 0));
  let at = 0;
  for (const s of seqs) {
    tokens.set(s, at);
    at += s.length;
  }
  return { tokens: { data: tokens, shape: [tokens.length] }, lengths: { data: lengths, shape: [lengths.length] } };
}

function concatF32(parts: (Float32Array | number[])[]): Float32Array {
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function splitBy(a: Float32Array, lengths: number[]): Float32Array[] {
  const out: Float32Array[] = [];
  let at = 0;
  for (const n of lengths) {
    out.push(a.slice(at, at + n));
    at += n;
  }
  return out;
}

function missing(i: number, field: string): never {
  throw new TypeError(`accumulate: sequence ${i} has no ${field} (the policy-gradient loss needs it)`);
}
