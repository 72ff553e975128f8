// One sender streams a sequence of blobs to N receivers over plain NATS pub/sub: the server
// fans each chunk out, so the sender's bytes leave it once however many receivers listen
// (a call per receiver would send them N times). Used for weight sync (actors/) and anything
// else that moves bulk bytes one-to-many.
//
// Protocol, all on subjects under `subject`:
//   hello  sender → `${subject}.hello` (reply = its inbox), repeated until `receivers` distinct
//          receivers have answered with their id; a receiver may subscribe late.
//   data   sender → `${subject}`: u32 chunk | u32 blob | u8 flags | bytes. A blob larger than
//          the server's max_payload is cut into chunks; flags mark a blob's last chunk, the
//          stream's end and an abort (its bytes are then the sender's error message).
//   ack    receiver → `${subject}.ack`: "id chunk", sent once the chunk is taken; a blob's last
//          chunk is acked after the receiver's handler has finished with the blob.
//   gone   anyone → `${subject}.gone`: "id", a receiver that will never ack again (its process
//          died); the sender stops waiting for it and goes on with the others.
// Flow control: the sender keeps at most `windowBytes` not yet acked by every receiver, so a
// slow receiver slows the sender instead of piling up in the server (which would drop a slow
// consumer's messages). Silence past `idleTimeoutMs` fails either side with a clear error.
import { randomBytes } from "node:crypto";
import type { NatsConnection } from "@nats-io/nats-core";
import { BroadcastError } from "./errors.js";
import { maxPayload } from "./transport.js";
import { chunkLimit } from "./wire.js";

const HEAD = 9;
const LAST_OF_BLOB = 1;
const END = 2;
const ABORT = 4;
const HELLO_EVERY_MS = 50;

export interface BroadcastOptions {
  /** Bytes in flight not yet acked by every receiver (default 16 MiB). */
  windowBytes?: number;
  /** Fail when nothing is heard from the other side for this long (default 60 s). */
  idleTimeoutMs?: number;
  /**
   * A receiver's id (default: random). Whoever chose it can declare the receiver gone
   * (dropReceiver) when its process dies, instead of the sender waiting out its silence.
   */
  id?: string;
}

export interface BroadcastStats {
  blobs: number;
  chunks: number;
  bytes: number;
  seconds: number;
}

/** Sends every blob to `receivers` receivers; resolves when all of them have handled all. */
export async function sendBroadcast(
  nc: NatsConnection, subject: string, receivers: number, blobs: Iterable<Uint8Array> | AsyncIterable<Uint8Array>, opts: BroadcastOptions = {},
): Promise<BroadcastStats> {
  const window = opts.windowBytes ?? 16 * 1024 * 1024;
  const idle = opts.idleTimeoutMs ?? 60_000;
  const limit = chunkLimit(maxPayload(nc)) - HEAD;
  const acked = new Map<string, number>();  // receiver id → chunks it has acked
  const gone = new Set<string>();
  let heard = Date.now();
  let wake: (() => void) | undefined;
  const notify = () => {
    heard = Date.now();
    wake?.();
  };
  const hello = nc.subscribe(`_INBOX.bc.${randomBytes(8).toString("hex")}`, {
    callback: (_e, m) => {
      const id = new TextDecoder().decode(m.data);
      // An empty one is the server's "no responders" status: nobody listens yet.
      if (id && !acked.has(id) && !gone.has(id) && acked.size < receivers) acked.set(id, 0), notify();
    },
  });
  const dropped = nc.subscribe(`${subject}.gone`, {
    callback: (_e, m) => {
      const id = new TextDecoder().decode(m.data);
      if (gone.has(id)) return;
      gone.add(id);
      acked.delete(id);
      receivers--;
      notify();
    },
  });
  const acks = nc.subscribe(`${subject}.ack`, {
    callback: (_e, m) => {
      const [id, n] = new TextDecoder().decode(m.data).split(" ");
      if (acked.has(id)) acked.set(id, Math.max(acked.get(id)!, Number(n) + 1)), notify();
    },
  });
  /**
   * Waits until `ready()` holds, calling `tick` every HELLO_EVERY_MS meanwhile; fails after
   * `idle` ms without news from any receiver.
   */
  const until = async (ready: () => boolean, what: () => string, tick?: () => void) => {
    while (!ready()) {
      const left = heard + idle - Date.now();
      if (left <= 0) throw new BroadcastError(`broadcast on '${subject}': ${what()} (nothing heard for ${idle} ms)`);
      tick?.();
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, HELLO_EVERY_MS));
        wake = () => (clearTimeout(t), r());
      });
    }
  };
  const t0 = performance.now();
  const sizes: number[] = [];  // bytes of each chunk sent, to know what the window holds
  let chunk = 0, blob = 0, bytes = 0, inFlightFrom = 0, inFlight = 0;
  const slowest = () => (acked.size ? Math.min(...acked.values()) : chunk);
  const publish = (flags: number, body: Uint8Array, blobIndex: number) => {
    const m = new Uint8Array(HEAD + body.byteLength);
    const v = new DataView(m.buffer);
    v.setUint32(0, chunk, true);
    v.setUint32(4, blobIndex, true);
    m[8] = flags;
    m.set(body, HEAD);
    nc.publish(subject, m);
    sizes.push(body.byteLength);
    inFlight += body.byteLength;
    chunk++;
  };
  const settle = () => {
    for (const s = slowest(); inFlightFrom < s; inFlightFrom++) inFlight -= sizes[inFlightFrom];
  };
  try {
    heard = Date.now();
    await until(() => acked.size >= receivers, () => `${acked.size} of ${receivers} receivers answered`,
      () => nc.publish(`${subject}.hello`, new Uint8Array(0), { reply: hello.getSubject() }));
    try {
      for await (const b of blobs) {
        for (let at = 0; at === 0 || at < b.byteLength; at += limit) {
          const body = b.subarray(at, at + limit);
          await until(() => (settle(), inFlight + body.byteLength <= window || inFlight === 0), () => `receivers stopped acknowledging at chunk ${inFlightFrom}`);
          publish(at + limit >= b.byteLength ? LAST_OF_BLOB : 0, body, blob);
          bytes += body.byteLength;
        }
        blob++;
      }
    } catch (e) {
      if (e instanceof BroadcastError) throw e;
      publish(ABORT, new TextEncoder().encode((e as Error).message), blob);  // the receivers fail at once, not after a timeout
      throw e;
    }
    publish(END, new Uint8Array(0), blob);
    await until(() => slowest() >= chunk, () => `receivers stopped acknowledging at chunk ${slowest()} of ${chunk}`);
    return { blobs: blob, chunks: chunk - 1, bytes, seconds: (performance.now() - t0) / 1000 };
  } finally {
    hello.unsubscribe();
    acks.unsubscribe();
    dropped.unsubscribe();
  }
}

/** Tells the sender on `subject` that receiver `id` is gone for good: it stops waiting for it. */
export function dropReceiver(nc: NatsConnection, subject: string, id: string): void {
  nc.publish(`${subject}.gone`, new TextEncoder().encode(id));
}

export interface BroadcastReceiver {
  /** Resolves once every blob has been handled; rejects on a lost chunk, an abort or silence. */
  done: Promise<BroadcastStats>;
  /** Stops listening (done rejects if the stream had not ended). */
  close(): void;
}

/**
 * Subscribes at once and hands each blob, in order, to `onBlob` as the chunks it came in (not
 * joined: a handler that writes them out with writev saves a copy of every byte); the next blob
 * waits for the handler's promise. Start it before or while the sender starts: the hello round
 * finds it.
 */
export function receiveBroadcast(
  nc: NatsConnection, subject: string, onBlob: (parts: Uint8Array[], index: number) => void | Promise<void>, opts: BroadcastOptions = {},
): BroadcastReceiver {
  const id = opts.id ?? randomBytes(8).toString("hex");
  const idle = opts.idleTimeoutMs ?? 60_000;
  const t0 = performance.now();
  let expect = 0, blobs = 0, bytes = 0;
  let parts: Uint8Array[] = [];
  let chain = Promise.resolve();
  let finished = false;
  let resolve!: (s: BroadcastStats) => void, reject!: (e: Error) => void;
  const done = new Promise<BroadcastStats>((a, b) => ((resolve = a), (reject = b)));
  done.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => fail(new BroadcastError(`broadcast on '${subject}': nothing heard from the sender for ${idle} ms (at chunk ${expect})`)), idle);
  };
  const fail = (e: Error) => {
    if (finished) return;
    finished = true;
    stop();
    reject(e);
  };
  const ack = (n: number) => nc.publish(`${subject}.ack`, new TextEncoder().encode(`${id} ${n}`));
  const hello = nc.subscribe(`${subject}.hello`, {
    callback: (_e, m) => {
      arm();
      if (m.reply) nc.publish(m.reply, new TextEncoder().encode(id));
    },
  });
  const data = nc.subscribe(subject, {
    callback: (_e, m) => {
      if (finished) return;
      arm();
      const v = new DataView(m.data.buffer, m.data.byteOffset, m.data.byteLength);
      const n = v.getUint32(0, true), flags = m.data[8], body = m.data.subarray(HEAD);
      if (n !== expect) return fail(new BroadcastError(`broadcast on '${subject}': chunk ${expect} was lost (got ${n})`));
      expect++;
      if (flags & ABORT) return fail(new BroadcastError(`broadcast on '${subject}' aborted by the sender: ${new TextDecoder().decode(body)}`));
      if (flags & END) {
        chain = chain.then(() => {
          ack(n);
          finished = true;
          stop();
          resolve({ blobs, chunks: n, bytes, seconds: (performance.now() - t0) / 1000 });
        });
        return;
      }
      parts.push(body);  // the client hands each message its own bytes (a fresh socket read or its own buffer)
      bytes += body.byteLength;
      // Acks go through the chain too: they stay in order, so "acked up to n" is always true.
      if (!(flags & LAST_OF_BLOB)) return void (chain = chain.then(() => ack(n)));
      const whole = parts;
      parts = [];
      const index = blobs++;
      chain = chain.then(async () => {
        if (finished) return;
        await onBlob(whole, index);
        ack(n);
      }).catch((e) => fail(e as Error));
    },
  });
  const stop = () => {
    clearTimeout(timer);
    hello.unsubscribe();
    data.unsubscribe();
  };
  arm();
  return { done, close: () => fail(new BroadcastError(`broadcast on '${subject}': receiver closed before the end`)) };
}
