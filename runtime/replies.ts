// What lets a call survive a lost connection without running twice. A call's reply subject
// names it uniquely (the caller's inbox prefix and its call id). The callee keeps its latest
// final replies under that name; after a reconnect the caller sends every unanswered call
// again, marked as a resend, and the callee answers a resend it has seen from memory, or
// waits for the run in progress, and runs only one it never got. Replies sent during the
// outage were dropped by the client, so memory is what answers them.
//
// The memory is a ring of the latest replies, written on every call and read only on resends
// (rare), so it has no index: a Map of every call's subject cost 10 to 20% of pipelined call
// throughput (bench calls). A lost connection is seen at once when the server dies (its
// socket closes), so the replies in doubt are the last few; the ring keeps thousands.

/** Replies kept, newest first… */
const KEEP_COUNT = 16_384;
/** …within this many bytes; a reply that does not fit is remembered as run, without its bytes. */
const KEEP_BYTES = 64 * 1024 * 1024;

export class ReplyMemory {
  private keys: (string | undefined)[] = new Array(KEEP_COUNT);
  private replies: (Uint8Array | null)[] = new Array(KEEP_COUNT);
  private next = 0;
  private bytes = 0;

  /** Keeps the final reply of the call answered on `key` (null: it ran, but cannot be replayed: a stream). */
  remember(key: string, reply: Uint8Array | null): void {
    const i = this.next;
    this.next = (i + 1) % KEEP_COUNT;
    const old = this.replies[i];
    if (old) this.bytes -= old.byteLength;
    const keep = reply && this.bytes + reply.byteLength <= KEEP_BYTES ? reply : null;
    if (keep) this.bytes += keep.byteLength;
    this.keys[i] = key;
    this.replies[i] = keep;
  }

  /** The kept reply; null when the call ran but its reply was not kept; undefined when unknown. */
  recall(key: string): Uint8Array | null | undefined {
    for (let n = 1; n <= KEEP_COUNT; n++) {
      const i = (this.next - n + KEEP_COUNT) % KEEP_COUNT;
      if (this.keys[i] === undefined) return undefined;
      if (this.keys[i] === key) return this.replies[i];
    }
    return undefined;
  }
}
