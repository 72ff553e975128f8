// Every open sandbox is registered here so that it is removed on normal exit paths and on
// SIGINT/SIGTERM, in plain scripts too (envs/ does not depend on the runtime's teardown).
// After a kill -9 nothing can run: the backends' reap() removes such leftovers at the next start,
// recognising them by their owner label (this host and a process id that no longer exists).
import { hostname } from "node:os";

export interface Closable {
  close(): Promise<void>;
}

const live = new Set<Closable>();
let installed = false;
/** Set once everything is being closed: a sandbox that starts now is closed as it registers. */
let closingAll = false;
/** Sandboxes being created (not registered yet), and those closed since closingAll was set. */
const inflight = new Set<Promise<unknown>>();

export const OWNER_LABEL = "troupe.owner";
export const SANDBOX_LABEL = "troupe.sandbox";

/** This process as a sandbox owner: "host/pid". */
export function ownerId(): string {
  return `${hostname()}/${process.pid}`;
}

/** True when `owner` names a process of this host that no longer runs. */
export function ownerIsDead(owner: string | undefined): boolean {
  if (!owner) return false;
  const slash = owner.lastIndexOf("/");
  if (owner.slice(0, slash) !== hostname()) return false;
  return processGone(Number(owner.slice(slash + 1)));
}

/** True when `pid` names no process of this host (false for what is not a pid). */
export function processGone(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ESRCH";
  }
}

export function track(s: Closable): () => void {
  install();
  if (closingAll) {
    // Closed once its constructor (which registers it) has finished.
    settle(Promise.resolve().then(() => s.close()));
    return () => undefined;
  }
  live.add(s);
  return () => live.delete(s);
}

/**
 * Creates a sandbox in a way closeAllSandboxes can wait for: once closing has begun no new one
 * starts, and one half made then is closed as soon as it exists.
 */
export function creating<T>(make: () => Promise<T>): Promise<T> {
  if (closingAll) return Promise.reject(new Error("no new sandbox: this process is closing its sandboxes (it is stopping)"));
  const p = make();
  settle(p);
  return p;
}

function settle(p: Promise<unknown>): void {
  const done = p.then(() => undefined, () => undefined);
  inflight.add(done);
  void done.then(() => inflight.delete(done));
}

/** Closes every sandbox this process still has open, and any that was being created. */
export async function closeAllSandboxes(): Promise<void> {
  closingAll = true;
  const all = [...live];
  live.clear();
  await Promise.all(all.map((s) => s.close().catch(() => undefined)));
  while (inflight.size) await Promise.all([...inflight]);
}

function install(): void {
  if (installed) return;
  installed = true;
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    const onSignal = () => {
      process.off(sig, onSignal);
      void closeAllSandboxes().finally(() => {
        // Someone else (the runtime's teardown) handles the exit; otherwise die of the signal.
        if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
      });
    };
    process.on(sig, onSignal);
  }
}
