// Publishing frames on a NATS connection, in chunks when they exceed the server's max_payload.
import type { NatsConnection } from "@nats-io/nats-core";
import { chunkLimit, chunks } from "./wire.js";

/** Flush after this many bytes of chunks so a 50 MB payload does not pile up in the client. */
const FLUSH_EVERY_BYTES = 8 * 1024 * 1024;

export function maxPayload(nc: NatsConnection): number {
  return nc.info?.max_payload ?? 1024 * 1024;
}

/**
 * Publishes one frame. Small frames go out synchronously (the fast path of every call);
 * big ones go out as chunks with periodic flushes, and the returned promise says when.
 */
export function publishFrame(nc: NatsConnection, subject: string, bytes: Uint8Array, reply?: string): void | Promise<void> {
  // A connection being closed refuses to publish (by throwing): what would have gone out is
  // moot then, and must not surface as an uncaught error at shutdown.
  if (nc.isDraining() || nc.isClosed()) return;
  const limit = chunkLimit(maxPayload(nc));
  if (bytes.byteLength <= limit) {
    nc.publish(subject, bytes, reply ? { reply } : undefined);
    return;
  }
  return (async () => {
    let since = 0;
    for (const c of chunks(bytes, limit)) {
      nc.publish(subject, c, reply ? { reply } : undefined);
      since += c.byteLength;
      if (since >= FLUSH_EVERY_BYTES) {
        since = 0;
        await nc.flush();
      }
    }
  })();
}
