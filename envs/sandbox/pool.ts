// A warm pool: ready sandboxes per image, so that reset() takes one that is already started
// instead of paying for a container start. A sandbox leaves the pool for good when taken:
// it serves one trajectory and is then closed, never handed out again.
import type { Sandbox, SandboxBackend, SandboxSpec } from "./types.js";

export interface WarmPoolOptions {
  /** Ready sandboxes kept per distinct spec. */
  size: number;
}

interface Slot {
  spec: SandboxSpec;
  ready: Promise<Sandbox>[];
}

export class WarmPool {
  private slots = new Map<string, Slot>();
  private closed = false;
  /** The last error met while refilling (the next acquire creates directly and throws it). */
  lastError?: Error;

  constructor(readonly backend: SandboxBackend, readonly opts: WarmPoolOptions = { size: 2 }) {}

  /** Starts filling the pool for a spec (reset does this on first use). */
  warm(spec: SandboxSpec): void {
    this.refill(this.slot(spec));
  }

  /** Ready sandboxes (started or starting) held for a spec. */
  readyCount(spec: SandboxSpec): number {
    return this.slots.get(keyOf(spec))?.ready.length ?? 0;
  }

  /** A fresh sandbox for `spec`: a pooled one when ready, else a new one; the pool refills. */
  async acquire(spec: SandboxSpec): Promise<Sandbox> {
    if (this.closed) throw new Error("the sandbox pool is closed");
    const slot = this.slot(spec);
    const next = slot.ready.shift();
    this.refill(slot);
    if (next) {
      const s = await next.catch(() => undefined);
      if (s && !s.closed) return s;
    }
    return this.backend.create(spec);
  }

  /** Closes every sandbox still waiting in the pool. */
  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.slots.values()].flatMap((s) => s.ready);
    this.slots.clear();
    await Promise.all(all.map((p) => p.then((s) => s.close(), () => undefined)));
  }

  private slot(spec: SandboxSpec): Slot {
    const key = keyOf(spec);
    let slot = this.slots.get(key);
    if (!slot) this.slots.set(key, (slot = { spec, ready: [] }));
    return slot;
  }

  private refill(slot: Slot): void {
    while (!this.closed && slot.ready.length < this.opts.size) {
      const p = this.backend.create(slot.spec);
      p.catch((e: Error) => {
        this.lastError = e;
        const i = slot.ready.indexOf(p);
        if (i >= 0) slot.ready.splice(i, 1);
      });
      slot.ready.push(p);
    }
  }
}

function keyOf(spec: SandboxSpec): string {
  return JSON.stringify([spec.image, spec.workdir ?? "", spec.limits ?? {}, spec.labels ?? {}]);
}
