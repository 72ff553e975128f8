// Serves one object's methods on one NATS subject: the actor side of a call.
// Mailbox rules: calls run in arrival order, at most `maxConcurrency` at a time (1 by
// default, so calls from one caller run in order); once `maxPendingCalls` calls wait, new
// ones are refused with PendingCallsLimitError. Methods may return async iterables; their
// items are streamed back on the call's reply subject.
import type { Msg, NatsConnection, Subscription } from "@nats-io/nats-core";
import { callStorage, type CallContext } from "./call-context.js";
import { ActorUnavailableError, CallCancelledError, CallTimeoutError, PendingCallsLimitError, toErrorData } from "./errors.js";
import { BATCH_FRAME_MAX, byBytes, Outbox } from "./outbox.js";
import { ReplyMemory } from "./replies.js";
import { publishFrame } from "./transport.js";
import { consumerSpan, type SpanHandle } from "./tracing.js";
import {
  CHUNK_MARK, ChunkAssembler, decode, encode, encodeBatch, REP_BATCH, REP_END, REP_ERR, REP_ITEM, REP_OK, REP_STREAM_START,
  REQ_BATCH, REQ_CALL, REQ_CANCEL, REQ_RESEND, type RequestFrame,
} from "./wire.js";

export interface EndpointOptions {
  maxConcurrency?: number;
  /** Waiting calls beyond which new calls are refused; 0 or undefined = unlimited. */
  maxPendingCalls?: number;
  /** NATS queue group, for services several processes serve together (tasks, head). */
  queue?: string;
  /** Name used in spans. */
  name?: string;
}

interface Job {
  reply: string;
  /**
   * Set when the call came in a batch: its replies are batched too, per caller, under this
   * inbox prefix and call id (only a Troupe caller sends batches, and it reads reply batches).
   */
  prefix?: string;
  id: number;
  method: string;
  args: unknown[];
  deadline: number;
  traceparent: string;
  abort?: AbortController;
}

export class Endpoint {
  private sub: Subscription;
  private queue: Job[] = [];
  private head = 0;
  private running = 0;
  private active = new Map<string, Job>();
  private partial = new Map<string, ChunkAssembler>();
  private readonly maxConcurrency: number;
  private readonly maxPending: number;
  private closed = false;
  private idle?: () => void;
  private replies = new ReplyMemory();
  private outbox = new Outbox<[number, Uint8Array]>((prefix, replies) => this.flushReplies(prefix, replies), (r) => r[1].byteLength);

  constructor(
    private nc: NatsConnection,
    readonly subject: string,
    private target: object,
    opts: EndpointOptions = {},
  ) {
    this.maxConcurrency = Math.max(1, opts.maxConcurrency ?? 1);
    this.maxPending = opts.maxPendingCalls ?? 0;
    this.name = opts.name ?? subject;
    this.sub = nc.subscribe(subject, { queue: opts.queue, callback: (err, msg) => { if (!err) this.onMessage(msg); } });
  }
  readonly name: string;

  /** Resolves once the server has registered the subscription (so calls can no longer miss it). */
  ready(): Promise<void> {
    return this.nc.flush();
  }

  private onMessage(msg: Msg): void {
    let data = msg.data;
    const reply = msg.reply;
    if (!reply) return;
    if (data[0] === CHUNK_MARK) {
      let asm = this.partial.get(reply);
      if (!asm) this.partial.set(reply, (asm = new ChunkAssembler()));
      let whole: Uint8Array | undefined;
      try {
        whole = asm.add(data);
      } catch (e) {
        this.partial.delete(reply);
        this.send(reply, [REP_ERR, toErrorData(e)]);
        return;
      }
      if (!whole) return;
      this.partial.delete(reply);
      data = whole;
    }
    let frame: RequestFrame;
    try {
      frame = decode<RequestFrame>(data);
    } catch (e) {
      this.send(reply, [REP_ERR, toErrorData(new Error(`undecodable request on ${this.subject}: ${(e as Error).message}`))]);
      return;
    }
    if (frame[0] === REQ_BATCH) {
      const [, prefix, ids, frames] = frame as unknown as [number, string, number[], RequestFrame[]];
      for (let i = 0; i < ids.length; i++) this.onFrame(`${prefix}.${ids[i]}`, frames[i], prefix, ids[i]);
      return;
    }
    this.onFrame(reply, frame);
  }

  private onFrame(reply: string, frame: RequestFrame, prefix?: string, id = 0): void {
    if (frame[0] === REQ_CANCEL) return this.cancel(reply);
    if (frame[0] === REQ_RESEND) {
      if (this.seen(reply, prefix, id)) return;
      frame = (frame as unknown as [number, [RequestFrame]])[1][0];
    }
    if (frame[0] !== REQ_CALL) return;
    const job: Job = { reply, prefix, id, method: frame[1]!, args: frame[2] ?? [], deadline: frame[3] ?? 0, traceparent: frame[4] ?? "" };
    if (this.closed) {
      this.send(job, [REP_ERR, toErrorData(new CallCancelledError(`${this.name} is shutting down`))]);
      return;
    }
    if (this.running < this.maxConcurrency && this.head === this.queue.length) {
      this.start(job);
      return;
    }
    if (this.maxPending > 0 && this.queue.length - this.head >= this.maxPending) {
      const e = new PendingCallsLimitError(`${this.name}: ${this.maxPending} calls already waiting (maxPendingCalls); retry later`);
      this.send(job, [REP_ERR, toErrorData(e)]);
      return;
    }
    this.queue.push(job);
  }

  /** A call sent again after a reconnect: answered from memory or ignored if it ran or runs. */
  private seen(reply: string, prefix: string | undefined, id: number): boolean {
    const kept = this.replies.recall(reply);
    if (kept === undefined) return this.active.has(reply) || this.queue.some((j, i) => i >= this.head && j.reply === reply);
    const job = { reply, prefix, id } as Job;
    if (kept) this.sendBytes(job, kept);
    else {
      const e = new ActorUnavailableError(`${this.name}: the call ran, but its reply was lost with the connection and could not be kept (a stream, or too big)`);
      this.send(job, [REP_ERR, toErrorData(e)]);
    }
    return true;
  }

  private cancel(reply: string): void {
    const running = this.active.get(reply);
    if (running) {
      running.abort?.abort(new CallCancelledError("cancelled by the caller"));
      return;
    }
    // Not started yet: drop it from the queue.
    for (let i = this.head; i < this.queue.length; i++) {
      if (this.queue[i].reply === reply) {
        const [job] = this.queue.splice(i, 1);
        this.send(job, [REP_ERR, toErrorData(new CallCancelledError("cancelled by the caller before it started"))]);
        return;
      }
    }
  }

  private next(): void {
    while (this.running < this.maxConcurrency && this.head < this.queue.length) {
      const job = this.queue[this.head++];
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      this.start(job);
    }
    if (this.running === 0 && this.head === this.queue.length) this.idle?.();
  }

  private start(job: Job): void {
    if (job.deadline && Date.now() > job.deadline) {
      this.send(job, [REP_ERR, toErrorData(new CallTimeoutError(`${this.name}.${job.method}: deadline passed before the call started`))]);
      return;
    }
    this.running++;
    const span = consumerSpan(this.name, job.method, job.traceparent);
    let result: unknown;
    try {
      const fn = this.lookup(job.method);
      const ctx = new JobContext(job);
      result = span ? span.run(() => callStorage.run(ctx, () => fn.apply(this.target, job.args))) : callStorage.run(ctx, () => fn.apply(this.target, job.args));
    } catch (e) {
      this.finish(job, [REP_ERR, toErrorData(e)], span, e);
      return;
    }
    if (result !== null && typeof result === "object" && typeof (result as PromiseLike<unknown>).then === "function") {
      // Only a call that is still running after this tick can be cancelled, so only such
      // calls are indexed for cancellation (the common synchronous call skips the map).
      this.active.set(job.reply, job);
      (result as Promise<unknown>).then(
        (v) => this.settle(job, v, span),
        (e) => this.finish(job, [REP_ERR, toErrorData(e)], span, e),
      );
    } else {
      this.settle(job, result, span);
    }
  }

  private lookup(method: string): (...a: unknown[]) => unknown {
    const fn = method !== "constructor" && !method.startsWith("#") ? (this.target as Record<string, unknown>)[method] : undefined;
    if (typeof fn !== "function" || Object.prototype.hasOwnProperty.call(Object.prototype, method)) {
      throw new TypeError(`${this.name} has no method '${method}'`);
    }
    return fn as (...a: unknown[]) => unknown;
  }

  private settle(job: Job, value: unknown, span: SpanHandle | undefined): void {
    if (isStream(value)) {
      this.active.set(job.reply, job);
      void this.stream(job, value, span);
      return;
    }
    this.finish(job, [REP_OK, value], span);
  }

  private async stream(job: Job, it: AsyncIterable<unknown>, span: SpanHandle | undefined): Promise<void> {
    try {
      await this.sendAsync(job, [REP_STREAM_START]);
      for await (const item of it) {
        if (job.abort?.signal.aborted) break;
        await this.sendAsync(job, [REP_ITEM, item]);
      }
      this.finish(job, [REP_END], span);
    } catch (e) {
      this.finish(job, [REP_ERR, toErrorData(e)], span, e);
    }
  }

  private finish(job: Job, frame: unknown[], span: SpanHandle | undefined, err?: unknown): void {
    const bytes = this.encode(frame);
    this.replies.remember(job.reply, frame[0] === REP_END ? null : bytes);
    const sent = this.sendBytes(job, bytes);
    if (sent) sent.catch(() => undefined);
    span?.end(err);
    if (this.active.size) this.active.delete(job.reply);
    this.running--;
    this.next();
  }

  /** Sends one of a call's frames (a failure to send is the caller's timeout to see). */
  private send(to: Job | string, frame: unknown[]): void {
    const p = this.sendAsync(to, frame);
    if (p) p.catch(() => undefined);
  }

  private encode(frame: unknown[]): Uint8Array {
    try {
      return encode(frame);
    } catch (e) {
      return encode([REP_ERR, toErrorData(new TypeError(`${this.name}: the reply cannot be serialized: ${(e as Error).message}`))]);
    }
  }

  /** `to` is the job, or only a reply subject when the request could not even be read. */
  private sendAsync(to: Job | string, frame: unknown[]): void | Promise<void> {
    return this.sendBytes(to, this.encode(frame));
  }

  private sendBytes(to: Job | string, bytes: Uint8Array): void | Promise<void> {
    if (this.nc.isClosed()) return;
    if (typeof to === "string") return publishFrame(this.nc, to, bytes);
    if (to.prefix !== undefined) {
      if (bytes.byteLength <= BATCH_FRAME_MAX) return this.outbox.add(to.prefix, [to.id, bytes]);
      this.outbox.flushKey(to.prefix);  // what was queued for this caller goes first
    }
    return publishFrame(this.nc, to.reply, bytes);
  }

  private flushReplies(prefix: string, replies: [number, Uint8Array][]): void {
    if (this.nc.isClosed() || this.nc.isDraining()) return;
    for (const run of byBytes(replies, (r) => r[1].byteLength)) {
      if (run.length === 1) this.nc.publish(`${prefix}.${run[0][0]}`, run[0][1]);
      else this.nc.publish(`${prefix}.0`, encodeBatch([REP_BATCH, run.map((r) => r[0])], run.map((r) => r[1])));
    }
  }

  /** Stops taking calls; waits for the running and queued ones when `drain` is set. */
  async close(drain = false): Promise<void> {
    this.closed = true;
    this.sub.unsubscribe();
    if (drain && (this.running > 0 || this.head < this.queue.length)) {
      await new Promise<void>((r) => (this.idle = r));
    }
    this.outbox.flush();
  }
}

/** The CallContext of one job; its AbortController is made on first use (most methods never look). */
class JobContext implements CallContext {
  constructor(private job: Job) {}
  get method(): string {
    return this.job.method;
  }
  get deadline(): number {
    return this.job.deadline;
  }
  get traceparent(): string | undefined {
    return this.job.traceparent || undefined;
  }
  get signal(): AbortSignal {
    const job = this.job;
    if (!job.abort) {
      const ctrl = (job.abort = new AbortController());
      if (job.deadline) {
        const t = setTimeout(() => ctrl.abort(new CallTimeoutError("call deadline passed")), Math.max(0, job.deadline - Date.now()));
        t.unref();
      }
    }
    return job.abort.signal;
  }
}

function isStream(v: unknown): v is AsyncIterable<unknown> {
  return v !== null && typeof v === "object" && typeof (v as AsyncIterable<unknown>)[Symbol.asyncIterator] === "function";
}
