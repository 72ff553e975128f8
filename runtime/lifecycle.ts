// Process-wide teardown: everything the runtime starts (nats-server, node hosts, stores)
// registers here and is stopped on normal exit, on an uncaught exception and on
// SIGINT/SIGTERM. Children are also started so that they die with us on kill -9
// (pdeathsig for nats-server, the IPC channel for host processes).
import type { ChildProcess } from "node:child_process";

type Hook = { name: string; async: () => Promise<void>; sync: () => void };
const hooks = new Set<Hook>();
let installed = false;
let exiting = false;
let interruptNote = "";

/** What the one line printed on SIGINT/SIGTERM adds (e.g. how to resume). */
export function setInterruptNote(note: string): void {
  install();
  interruptNote = note;
}

/** True once a signal started the teardown: work in progress must not record anything more. */
export function stopping(): boolean {
  return exiting;
}

export function onTeardown(name: string, asyncStop: () => Promise<void>, syncStop: () => void): () => void {
  install();
  const h: Hook = { name, async: asyncStop, sync: syncStop };
  hooks.add(h);
  return () => hooks.delete(h);
}

export function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** Registers a child process to be SIGKILLed synchronously if we exit without stopping it. */
export function killOnExit(child: ChildProcess, name: string): () => void {
  const kill = () => {
    if (isRunning(child)) child.kill("SIGKILL");
  };
  return onTeardown(name, async () => kill(), kill);
}

async function runAsyncHooks(timeoutMs: number): Promise<void> {
  // Newest first, one after another: a cluster stops its nodes before its nats-server goes.
  const all = [...hooks].reverse();
  hooks.clear();
  const done = (async () => {
    for (const h of all) await h.async().catch(() => undefined);
  })();
  let t: NodeJS.Timeout | undefined;
  await Promise.race([done, new Promise((r) => (t = setTimeout(r, timeoutMs)))]);
  clearTimeout(t);
  for (const h of all) {
    try {
      h.sync();
    } catch {
      /* best effort */
    }
  }
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on("exit", () => {
    for (const h of [...hooks].reverse()) {
      try {
        h.sync();
      } catch {
        /* best effort during exit */
      }
    }
  });
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    // Kept installed (not once): a second signal during the teardown must not kill the process
    // by the signal's default action, and others' handlers see that someone owns the exit.
    process.on(sig, () => {
      if (exiting) return;
      exiting = true;
      // One line, then quiet: what fails while everything stops (calls cut short, connections
      // closing) is the interruption itself, not news.
      process.stderr.write(`troupe: interrupted (${sig})${interruptNote ? `; ${interruptNote}` : ""}\n`);
      process.on("uncaughtException", () => undefined);
      process.on("unhandledRejection", () => undefined);
      console.error = console.log = () => undefined;
      process.stderr.write = process.stdout.write = (() => true) as typeof process.stdout.write;
      void runAsyncHooks(10_000).finally(() => process.exit(sig === "SIGINT" ? 130 : 143));
    });
  }
}
