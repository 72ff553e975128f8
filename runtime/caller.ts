// The caller side of calls: one wildcard inbox subscription per connection, one reply
// subject per call (so the server's "no responders" status can be matched to its call),
// replies matched without a per-call subscription. Handles timeouts, cancellation, chunked
// replies, streams, and re-sending calls after an actor restart when retries are allowed.
import type { Msg, NatsConnection, Subscription } from "@nats-io/nats-core";
import { nuid } from "@nats-io/nats-core";
import {
  ActorUnavailableError, CallCancelledError, CallTimeoutError, fromErrorData, TroupeError, type ErrorData,
} from "./errors.js";
import { BATCH_FRAME_MAX, byBytes, Outbox } from "./outbox.js";
import { publishFrame } from "./transport.js";
import { producerSpan, type SpanHandle } from "./tracing.js";
import {
  CHUNK_MARK, ChunkAssembler, decode, encode, encodeBatch, REP_BATCH, REP_END, REP_ERR, REP_ITEM, REP_OK, REP_STREAM_START,
  REQ_BATCH, REQ_CALL, REQ_CANCEL, REQ_RESEND, type ReplyFrame,
} from "./wire.js";

export interface CallOptions {
  /** Fails the call with CallTimeoutError after this many milliseconds (0 = never). */
  timeoutMs?: number;
  /** Cancels the call: the caller gets CallCancelledError, the actor's signal aborts. */
  signal?: AbortSignal;
}

export interface PendingCall {
  id: number;
  subject: string;
  method: string;
  /** How many more times the call may be re-sent after its actor died. */
  retriesLeft: number;
  /** Set while the call waits for its actor to come back before being re-sent. */
  parked: boolean;
  /** True once a stream started or any reply came: such a call is never re-sent. */
  answered: boolean;
}

interface Pending extends PendingCall {
  /** Published while the connection was down: the client dropped it, it never left. */
  unsent: boolean;
  /** Sent again after a reconnect, marked so that the callee runs it at most once. */
  resent?: boolean;
  bytes: Uint8Array;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer?: NodeJS.Timeout;
  asm?: ChunkAssembler;
  stream?: Channel;
  span?: SpanHandle;
  unlisten?: () => void;
  /** The batch message it last went out in: a "no responders" for that batch is its too. */
  batch?: number;
}

/** What to do when the server says nobody listens on a call's subject. */
export type NoRespondersHandler = (call: PendingCall) => void;

export class Caller {
  private readonly prefix: string;
  private readonly prefixLen: number;
  private readonly pending = new Map<number, Pending>();
  // Id 0 is the subject replies come to in batches; calls and batches count from 1.
  private nextId = 1;
  private sub: Subscription;
  private outbox = new Outbox<Pending>((subject, calls) => this.flush(subject, calls), (p) => p.bytes.byteLength);
  /** Batch id → its calls, until one of them is answered (so the batch was delivered). */
  private batches = new Map<number, number[]>();
  onNoResponders: NoRespondersHandler = (c) => this.fail(c.id, new ActorUnavailableError(`nobody serves ${c.subject} (call ${c.method})`));

  constructor(private nc: NatsConnection) {
    this.prefix = `_INBOX.${nuid.next()}`;
    this.prefixLen = this.prefix.length + 1;
    this.sub = nc.subscribe(`${this.prefix}.*`, { callback: (err, msg) => { if (!err) this.onReply(msg); } });
  }

  get inFlight(): number {
    return this.pending.size;
  }

  /** `hold`, when given, takes the new call instead of sending it (its callee is not there yet). */
  call(subject: string, method: string, args: unknown[], opts: CallOptions = {}, retries = 0, hold?: (c: PendingCall) => void): Promise<unknown> {
    if (opts.signal?.aborted) return Promise.reject(new CallCancelledError(`${method} cancelled before it was sent`));
    const id = this.nextId++;
    const span = producerSpan(subject, method);
    const deadline = opts.timeoutMs ? Date.now() + opts.timeoutMs : 0;
    const bytes = encode(span ? [REQ_CALL, method, args, deadline, span.traceparent] : deadline ? [REQ_CALL, method, args, deadline] : [REQ_CALL, method, args]);
    return new Promise((resolve, reject) => {
      const p: Pending = {
        id, subject, method, retriesLeft: retries, parked: false, answered: false,
        bytes, resolve, reject, span, unsent: false,
      };
      this.pending.set(id, p);
      if (opts.timeoutMs) {
        p.timer = setTimeout(() => this.fail(id, new CallTimeoutError(`${subject}: ${method} got no reply within ${opts.timeoutMs} ms`)), opts.timeoutMs);
      }
      if (opts.signal) {
        const onAbort = () => {
          this.sendCancel(p);
          this.fail(id, new CallCancelledError(`${method} cancelled by the caller`));
        };
        opts.signal.addEventListener("abort", onAbort, { once: true });
        p.unlisten = () => opts.signal!.removeEventListener("abort", onAbort);
      }
      if (hold) hold(p);
      else this.send(p);
    });
  }

  private send(p: Pending): void {
    // nats.js discards what is published while disconnected (its buffer is reset on every
    // reconnect attempt), so such a call is held and sent after the reconnect instead.
    if (!isConnected(this.nc)) {
      p.unsent = true;
      return;
    }
    p.unsent = false;
    if (p.bytes.byteLength <= BATCH_FRAME_MAX) return this.outbox.add(p.subject, p);
    // A big call goes alone, after the small ones queued before it.
    this.outbox.flushKey(p.subject);
    this.publishOne(p);
  }

  private publishOne(p: Pending): void {
    p.batch = undefined;
    const r = publishFrame(this.nc, p.subject, p.bytes, this.replyTo(p));
    if (r) r.catch((e) => this.fail(p.id, e));
  }

  /** Sends the calls queued for one subject: alone, or as batches. */
  private flush(subject: string, queued: Pending[]): void {
    // Calls that timed out or were cancelled while queued are gone from `pending`.
    const calls = queued.filter((p) => this.pending.get(p.id) === p && !p.parked);
    if (!isConnected(this.nc)) {
      for (const p of calls) p.unsent = true;
      return;
    }
    // A connection that is draining (the process is shutting down) refuses to publish: the
    // calls fail with that reason instead of the error escaping from a microtask.
    if (this.nc.isDraining()) {
      for (const p of calls) this.fail(p.id, new ActorUnavailableError(`${p.method} not sent: the connection is closing`));
      return;
    }
    for (const run of byBytes(calls, (p) => p.bytes.byteLength)) {
      if (run.length === 1) {
        this.publishOne(run[0]);
        continue;
      }
      const batch = this.nextId++;
      const ids = run.map((p) => p.id);
      for (const p of run) p.batch = batch;
      this.batches.set(batch, ids);
      this.nc.publish(subject, encodeBatch([REQ_BATCH, this.prefix, ids], run.map((p) => p.bytes)), { reply: `${this.prefix}.${batch}` });
    }
  }

  private sendCancel(p: Pending): void {
    // The call itself may still be queued: it must leave first.
    this.outbox.flushKey(p.subject);
    if (!this.nc.isClosed() && !this.nc.isDraining()) this.nc.publish(p.subject, encode([REQ_CANCEL]), { reply: this.replyTo(p) });
  }

  /** A call's own reply subject (made only when needed: calls sent in a batch never need it). */
  private replyTo(p: Pending): string {
    return `${this.prefix}.${p.id}`;
  }

  private onReply(msg: Msg): void {
    const id = Number(msg.subject.slice(this.prefixLen));
    if (id === 0) {
      const [, ids, frames] = decode<[number, number[], ReplyFrame[]]>(msg.data);
      for (let i = 0; i < ids.length; i++) this.onReplyFrame(ids[i], frames[i]);
      return;
    }
    const h = msg.headers;
    if (h && h.code === 503) {
      const p = this.pending.get(id);
      if (p) {
        if (!p.answered) this.onNoResponders(p);
        return;
      }
      // A batch nobody received: each of its calls was never delivered.
      const calls = this.batches.get(id);
      this.batches.delete(id);
      for (const cid of calls ?? []) {
        const c = this.pending.get(cid);
        if (c && !c.answered && c.batch === id) this.onNoResponders(c);
      }
      return;
    }
    this.onReplyData(id, msg.data);
  }

  private onReplyData(id: number, bytes: Uint8Array): void {
    const p = this.pending.get(id);
    if (!p) return;
    let data = bytes;
    if (data[0] === CHUNK_MARK) {
      p.asm ??= new ChunkAssembler();
      let whole: Uint8Array | undefined;
      try {
        whole = p.asm.add(data);
      } catch (e) {
        return this.fail(id, e as Error);
      }
      if (!whole) return;
      data = whole;
    }
    let frame: ReplyFrame;
    try {
      frame = decode<ReplyFrame>(data);
    } catch (e) {
      return this.fail(id, new TroupeError(`undecodable reply to ${p.method}: ${(e as Error).message}`));
    }
    this.onReplyFrame(id, frame);
  }

  private onReplyFrame(id: number, frame: ReplyFrame): void {
    const p = this.pending.get(id);
    if (!p) return;
    if (p.batch !== undefined) this.batches.delete(p.batch);
    p.answered = true;
    switch (frame[0]) {
      case REP_OK:
        this.done(p);
        p.resolve(frame[1]);
        return;
      case REP_ERR:
        this.fail(id, fromErrorData(frame[1] as ErrorData));
        return;
      case REP_STREAM_START: {
        // The stream outlives the deadline of the call that opened it.
        clearTimeout(p.timer);
        p.stream = new Channel(() => {
          if (this.pending.has(id)) {
            this.sendCancel(p);
            this.done(p);
          }
        });
        p.resolve(p.stream);
        return;
      }
      case REP_ITEM:
        p.stream?.push(frame[1]);
        return;
      case REP_END:
        this.done(p);
        p.stream?.end();
        return;
    }
  }

  private done(p: Pending): void {
    this.pending.delete(p.id);
    if (p.batch !== undefined) this.batches.delete(p.batch);
    clearTimeout(p.timer);
    p.unlisten?.();
    p.span?.end();
  }

  /** Fails one call (or ends its stream with the error). */
  fail(id: number, err: Error): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    if (p.batch !== undefined) this.batches.delete(p.batch);
    clearTimeout(p.timer);
    p.unlisten?.();
    p.span?.end(err);
    if (p.stream) p.stream.error(err);
    else p.reject(err);
  }

  /** Calls in flight to a subject (to fail or park them when their actor dies). */
  callsTo(subject: string): PendingCall[] {
    const out: PendingCall[] = [];
    for (const p of this.pending.values()) if (p.subject === subject) out.push(p);
    return out;
  }

  /**
   * The callee behind `subject` was replaced (a new head took over): calls delivered to the
   * old one will never be answered, so every unanswered one is sent again. Only for callees
   * whose every method is idempotent, as the head's are.
   */
  replaced(subject: string): void {
    for (const p of [...this.pending.values()]) {
      if (p.subject === subject && !p.parked && !p.answered && !p.unsent) this.send(p);
    }
  }

  /** Re-sends a parked call (its actor is back). */
  resend(id: number): void {
    const p = this.pending.get(id);
    if (!p) return;
    p.parked = false;
    p.asm = undefined;
    this.send(p);
  }

  /**
   * After a reconnect: send the calls held while disconnected, and send again, marked as
   * resends, the calls that were in flight across the outage (their callee runs each at most
   * once and answers it from memory if it ran: replies.ts). A stream that had started lost
   * items with the connection and fails.
   */
  reconnected(): void {
    for (const p of [...this.pending.values()]) {
      if (p.parked) continue;
      if (p.answered) {
        this.fail(p.id, new ActorUnavailableError(`${p.subject}: the connection to the cluster was lost while the stream of ${p.method} was open; items may be missing`));
        continue;
      }
      if (!p.unsent && !p.resent) {
        p.resent = true;
        p.bytes = encodeBatch([REQ_RESEND], [p.bytes]);
      }
      this.send(p);
    }
  }

  close(err: Error = new CallCancelledError("the runtime is shutting down")): void {
    this.sub.unsubscribe();
    for (const id of [...this.pending.keys()]) this.fail(id, err);
  }
}

/** Whether the client is connected right now (nats.js keeps this on its protocol handler). */
function isConnected(nc: NatsConnection): boolean {
  const proto = (nc as unknown as { protocol?: { connected?: boolean } }).protocol;
  return proto?.connected ?? !nc.isClosed();
}

/** A stream of items from an actor, read with `for await`. Breaking out cancels the actor side. */
export class Channel<T = unknown> implements AsyncIterable<T> {
  private items: T[] = [];
  private waiters: { resolve: (r: IteratorResult<T>) => void; reject: (e: Error) => void }[] = [];
  private ended = false;
  private failure?: Error;

  constructor(private onReturn: () => void) {}

  push(v: T): void {
    const w = this.waiters.shift();
    if (w) w.resolve({ value: v, done: false });
    else this.items.push(v);
  }
  end(): void {
    this.ended = true;
    for (const w of this.waiters.splice(0)) w.resolve({ value: undefined as T, done: true });
  }
  error(e: Error): void {
    this.failure = e;
    for (const w of this.waiters.splice(0)) w.reject(e);
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        if (this.items.length) return Promise.resolve({ value: this.items.shift()!, done: false });
        if (this.failure) return Promise.reject(this.failure);
        if (this.ended) return Promise.resolve({ value: undefined as T, done: true });
        return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
      },
      return: () => {
        if (!this.ended && !this.failure) this.onReturn();
        this.ended = true;
        this.items = [];
        return Promise.resolve({ value: undefined as T, done: true });
      },
    };
  }
}
