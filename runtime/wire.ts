// The call protocol's frames. Call metadata (method, deadline, traceparent) travels inside
// the payload, not in NATS headers: header encoding cost 40% of call throughput when measured
// (see README, "Design decisions"). NATS headers are still read for the server's own status
// messages (503 = no responders).
//
// request  = msgpack [REQ_CALL, method, args[], deadlineMs|0, traceparent|""]
//          | msgpack [REQ_CANCEL]                 (to the actor subject, reply = the call's inbox)
//          | msgpack [REQ_RESEND, [call frame]]       the same call sent again after a reconnect:
//            the callee runs it only if it never got it (see replies.ts)
//          | msgpack [REQ_BATCH, inbox prefix, call ids[], [request frame, …]]
//            several calls from one caller sent in one turn (see outbox.ts); call i's replies
//            go to `${prefix}.${ids[i]}` as if it had come alone
// reply    = msgpack [REP_*, value]
//          | msgpack [REP_BATCH, call ids[], [reply frame, …]]   on `${prefix}.0`
// A batch embeds its frames as they were encoded (each is a msgpack value already), so
// batching costs no second encode or decode of any call.
// any frame larger than the server's max_payload is sent as chunks:
//   0xC1 (a byte msgpack never uses) | u32 index | u32 count | bytes
import { pack, unpack } from "./codec.js";

export const REQ_CALL = 0;
export const REQ_CANCEL = 1;
export const REQ_BATCH = 2;
export const REQ_RESEND = 3;

export const REP_OK = 0;
export const REP_ERR = 1;
export const REP_STREAM_START = 2;
export const REP_ITEM = 3;
export const REP_END = 4;
export const REP_BATCH = 5;

export const CHUNK_MARK = 0xc1;
const CHUNK_HEAD = 9;

export type RequestFrame = [kind: number, method?: string, args?: unknown[], deadline?: number, traceparent?: string];
export type ReplyFrame = [kind: number, value?: unknown];

export function encode(frame: unknown[]): Uint8Array {
  return pack(frame);
}
export function decode<T>(bytes: Uint8Array): T {
  return unpack<T>(bytes);
}

/** msgpack `[...head, [frames…]]`, the frames spliced in as already-encoded values. */
export function encodeBatch(head: unknown[], frames: Uint8Array[]): Uint8Array {
  const parts = [arrayHeader(head.length + 1), ...head.map((h) => pack(h)), arrayHeader(frames.length), ...frames];
  let size = 0;
  for (const p of parts) size += p.byteLength;
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

function arrayHeader(n: number): Uint8Array {
  if (n < 16) return Uint8Array.of(0x90 | n);
  if (n < 0x10000) return Uint8Array.of(0xdc, n >> 8, n & 0xff);
  return Uint8Array.of(0xdd, n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
}

/** Splits an encoded frame into chunk messages no larger than `limit` bytes each. */
export function* chunks(bytes: Uint8Array, limit: number): Generator<Uint8Array> {
  const body = limit - CHUNK_HEAD;
  const count = Math.ceil(bytes.byteLength / body);
  for (let i = 0; i < count; i++) {
    const part = bytes.subarray(i * body, Math.min(bytes.byteLength, (i + 1) * body));
    const out = new Uint8Array(CHUNK_HEAD + part.byteLength);
    const dv = new DataView(out.buffer);
    out[0] = CHUNK_MARK;
    dv.setUint32(1, i, true);
    dv.setUint32(5, count, true);
    out.set(part, CHUNK_HEAD);
    yield out;
  }
}

/**
 * Collects the chunks of one frame. NATS keeps one publisher's messages in order, so chunks
 * arrive in order; a gap means a lost message and fails loudly instead of corrupting data.
 */
export class ChunkAssembler {
  private parts: Uint8Array[] = [];
  private size = 0;

  /** Returns the whole frame when the last chunk arrives, else undefined. */
  add(msg: Uint8Array): Uint8Array | undefined {
    const dv = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
    const index = dv.getUint32(1, true);
    const count = dv.getUint32(5, true);
    if (index !== this.parts.length) {
      this.parts = [];
      this.size = 0;
      throw new Error(`chunk ${index} of ${count} arrived after ${this.parts.length}: a chunk was lost`);
    }
    const part = msg.slice(CHUNK_HEAD);
    this.parts.push(part);
    this.size += part.byteLength;
    if (this.parts.length < count) return undefined;
    const whole = new Uint8Array(this.size);
    let off = 0;
    for (const p of this.parts) {
      whole.set(p, off);
      off += p.byteLength;
    }
    this.parts = [];
    this.size = 0;
    return whole;
  }
}

/** Headroom under max_payload for the protocol line and headers. */
export function chunkLimit(maxPayload: number): number {
  return Math.max(1024, maxPayload - 1024);
}
