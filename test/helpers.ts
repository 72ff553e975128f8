// Shared test plumbing: clusters, node processes, the CLI, waiting for conditions.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { expect } from "chai";
import { actorClass, init, type Cluster, type ClusterOptions } from "../runtime/index.js";
import type * as Fixtures from "./fixtures/actors.js";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const FIXTURES = new URL("./fixtures/actors.js", import.meta.url);

export const Echo = actorClass<typeof Fixtures.Echo>(FIXTURES, "Echo");
export const Chain = actorClass<typeof Fixtures.Chain>(FIXTURES, "Chain");
export const Broken = actorClass<typeof Fixtures.Broken>(FIXTURES, "Broken");
export const Slow = actorClass<typeof Fixtures.Slow>(FIXTURES, "Slow");
export const TASKS = new URL("./fixtures/tasks.js", import.meta.url);

/** One call from this process through a Chain actor's host to an Echo actor's (three processes), on a cluster of its own. */
export async function callThroughTwoHosts(opts: ClusterOptions = {}): Promise<void> {
  const cluster = await init(opts);
  try {
    const e = await cluster.actor(Echo, [], { process: "dedicated" });
    const c = await cluster.actor(Chain, [e], { process: "dedicated" });
    expect(await c.forward("traced")).to.equal("traced");
  } finally {
    await cluster.shutdown();
  }
}

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

/**
 * A TensorBoard event file read as TensorBoard reads it: TFRecord framing with each masked
 * CRC-32C checked, each record decoded as tensorflow.Event from the .proto text (not from the
 * writer's own schema). Throws on a bad checksum.
 */
export async function readEvents(file: string): Promise<{ step: number; wall_time: number; file_version?: string; scalars: Record<string, number> }[]> {
  const { default: protobuf } = await import("protobufjs");
  const { default: CRC32C } = await import("crc-32/crc32c.js");
  const proto = `syntax = "proto3"; package tensorflow;
    message Event { double wall_time = 1; int64 step = 2; oneof what { string file_version = 3; Summary summary = 5; } }
    message Summary { message Value { string tag = 1; oneof value { float simple_value = 2; } } repeated Value value = 1; }`;
  const Event = protobuf.parse(proto, { keepCase: true }).root.lookupType("tensorflow.Event");
  const masked = (b: Uint8Array) => {
    const c = CRC32C.buf(b) >>> 0;
    return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
  };
  const buf = readFileSync(file);
  const out = [];
  for (let at = 0; at < buf.length;) {
    const len = buf.subarray(at, at + 8);
    if (buf.readUInt32LE(at + 8) !== masked(len)) throw new Error(`${file}: bad length checksum at byte ${at}`);
    const n = Number(buf.readBigUInt64LE(at));
    const data = buf.subarray(at + 12, at + 12 + n);
    if (buf.readUInt32LE(at + 12 + n) !== masked(data)) throw new Error(`${file}: bad data checksum at byte ${at}`);
    const e = Event.toObject(Event.decode(data), { longs: Number }) as { step?: number; wall_time: number; file_version?: string; summary?: { value?: { tag: string; simple_value: number }[] } };
    out.push({ step: e.step ?? 0, wall_time: e.wall_time, file_version: e.file_version, scalars: Object.fromEntries((e.summary?.value ?? []).map((v) => [v.tag, v.simple_value])) });
    at += 12 + n + 4;
  }
  return out;
}
