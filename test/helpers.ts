// Shared test plumbing: clusters, node processes, the CLI, waiting for conditions.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { actorClass, type Cluster } from "../runtime/index.js";
import type * as Fixtures from "./fixtures/actors.js";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const FIXTURES = new URL("./fixtures/actors.js", import.meta.url);

export const Echo = actorClass<typeof Fixtures.Echo>(FIXTURES, "Echo");
export const Chain = actorClass<typeof Fixtures.Chain>(FIXTURES, "Chain");
export const Broken = actorClass<typeof Fixtures.Broken>(FIXTURES, "Broken");
export const Slow = actorClass<typeof Fixtures.Slow>(FIXTURES, "Slow");
export const TASKS = new URL("./fixtures/tasks.js", import.meta.url);

/** `node driver.js ARGS` from the project's root; never throws: its exit code and output. */
export function driver(args: string[], opts: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return promisify(execFile)(process.execPath, ["driver.js", ...args], { cwd: ROOT, timeout: opts.timeoutMs ?? 280_000, env: { ...process.env, ...opts.env } }).then(
    (r) => ({ code: 0, ...r }),
    (e) => ({ code: e.code as number, stdout: e.stdout as string, stderr: e.stderr as string }),
  );
}

/**
 * `node driver.js ARGS`, interrupted by `signal` once `ready(stdout, stderr)` holds: its exit
 * code, its output, and the lines it wrote that start with "troupe:" (what a user reads).
 */
export async function interruptDriver(args: string[], ready: (stdout: string, stderr: string) => boolean, signal: NodeJS.Signals = "SIGINT"): Promise<{ code: number | null; stdout: string; stderr: string; said: string[] }> {
  const child = spawn(process.execPath, ["driver.js", ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "", stderr = "";
  child.stdout!.on("data", (d) => (stdout += d));
  child.stderr!.on("data", (d) => (stderr += d));
  const exited = new Promise<number | null>((r) => child.once("exit", (c) => r(c)));
  await until(`driver ${args[0]} to get going`, () => ready(stdout, stderr) || child.exitCode !== null, 280_000);
  child.kill(signal);
  const code = await exited;
  return { code, stdout, stderr, said: stderr.split("\n").filter((l) => l.startsWith("troupe:")) };
}

/** A JSON-lines file's rows. */
export function jsonl(path: string): any[] {  // eslint-disable-line @typescript-eslint/no-explicit-any
  return readFileSync(path, "utf8").trim().split("\n").map((l) => JSON.parse(l));
}

export async function until<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts `node driver.js node` joined to the cluster; resolves once the head sees it. */
export async function startNodeProcess(cluster: Cluster, args: string[] = []): Promise<{ child: ChildProcess; nodeId: string }> {
  const before = new Set((await cluster.info()).nodes.map((n) => n.id));
  const a = cluster.address;
  const child = spawn(process.execPath, ["driver.js", "node", "--cluster", a.url, ...args], {
    cwd: ROOT,
    env: { ...process.env, TROUPE_NATS_TOKEN: a.token ?? "" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  const nodeId = await until("the node process to join", async () => {
    if (child.exitCode !== null) throw new Error(`node process exited with ${child.exitCode}`);
    const m = /node (\S+) joined/.exec(out);
    if (!m) return undefined;
    const info = await cluster.info();
    return info.nodes.some((n) => n.id === m[1] && !before.has(n.id)) ? m[1] : undefined;
  });
  return { child, nodeId };
}

export function stopProcess(child: ChildProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => {
    child.once("exit", () => r());
    child.kill(signal);
  });
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
