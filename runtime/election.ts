// Which process is the head: a lease in a JetStream KV key. The holder renews it; when the
// holder stops renewing (its process died), another candidate takes it with a
// compare-and-set on the revision it saw, so two heads never both win.
import type { KV } from "@nats-io/kv";
import { pack, unpack } from "./codec.js";

export class LeaderLease {
  private timer?: NodeJS.Timeout;
  private leading = false;
  private seen?: { revision: number; at: number };
  private stopped = false;

  constructor(
    private kv: KV,
    private key: string,
    private me: string,
    private ttlMs: number,
    private onElected: () => Promise<void>,
  ) {}

  start(): void {
    void this.tick();
  }

  get isLeader(): boolean {
    return this.leading;
  }

  private schedule(): void {
    if (!this.stopped) this.timer = setTimeout(() => void this.tick(), this.ttlMs / 4);
  }

  private async tick(): Promise<void> {
    try {
      const e = await this.kv.get(this.key);
      const holder = e && e.operation === "PUT" && e.value.length ? unpack<{ id: string }>(e.value).id : undefined;
      const value = pack({ id: this.me, at: Date.now() });
      if (!e || !holder) {
        await (e ? this.kv.update(this.key, value, e.revision) : this.kv.create(this.key, value));
        await this.won();
      } else if (holder === this.me) {
        await this.kv.update(this.key, value, e.revision);
        if (!this.leading) await this.won();
      } else {
        // Someone else holds it: take over only if its revision has not moved for a whole TTL.
        if (!this.seen || this.seen.revision !== e.revision) this.seen = { revision: e.revision, at: Date.now() };
        else if (Date.now() - this.seen.at > this.ttlMs) {
          await this.kv.update(this.key, value, e.revision);
          await this.won();
        }
      }
    } catch {
      // Lost a race or the server is away: try again next tick.
    }
    this.schedule();
  }

  private async won(): Promise<void> {
    if (this.leading) return;
    this.leading = true;
    await this.onElected();
  }

  /** Stops renewing; a leader also gives the lease up so the next head starts at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.leading) {
      this.leading = false;
      try {
        const e = await this.kv.get(this.key);
        if (e && e.value.length && unpack<{ id: string }>(e.value).id === this.me) await this.kv.update(this.key, new Uint8Array(0), e.revision);
      } catch {
        /* the next head takes over after the TTL */
      }
    }
  }
}
