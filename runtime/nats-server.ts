// The embedded cluster's NATS server: started on a random loopback port with JetStream
// and a private store folder, protected by a random token, stopped with the program.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError } from "./errors.js";
import { killOnExit } from "./lifecycle.js";

export interface NatsServerOptions {
  /** Port to listen on; 0 or undefined picks a free one. */
  port?: number;
  /** Store directory for JetStream; a private temporary one by default (removed on stop). */
  storeDir?: string;
  /** Client token required by the server; a random one by default. null disables auth. */
  token?: string | null;
  /** Extra command-line arguments (e.g. a config file with users or TLS). */
  args?: string[];
}

export interface NatsServer {
  url: string;
  port: number;
  token?: string;
  storeDir: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

const STORE_PREFIX = "troupe-nats-";

/** Locates nats-server: TROUPE_NATS_SERVER, then PATH, then Debian's /usr/sbin. */
export function findNatsServer(): string {
  const env = process.env.TROUPE_NATS_SERVER;
  const candidates = env ? [env] : [...(process.env.PATH ?? "").split(":"), "/usr/sbin", "/usr/local/sbin"].filter(Boolean).map((d) => join(d, "nats-server"));
  const found = candidates.find((p) => existsSync(p));
  if (found) return found;
  throw new ConfigError(
    `nats-server not found${env ? ` at TROUPE_NATS_SERVER=${env}` : " on PATH"}: the embedded cluster needs it. ` +
      "Install it with `apt-get install nats-server` (Debian/Ubuntu) or from https://github.com/nats-io/nats-server/releases " +
      "and set TROUPE_NATS_SERVER=/path/to/nats-server, or join an existing cluster with --cluster nats://HOST:4222",
  );
}

/** Removes store folders left by embedded servers whose owner process is gone (kill -9). */
function reapStaleStores(): void {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(STORE_PREFIX)) continue;
    const pid = Number(name.slice(STORE_PREFIX.length).split("-")[0]);
    if (!pid || pidAlive(pid)) continue;
    rmSync(join(tmpdir(), name), { recursive: true, force: true });
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

const hasSetpriv = (() => {
  let cached: boolean | undefined;
  return () => (cached ??= spawnSync("setpriv", ["--help"], { stdio: "ignore" }).status === 0);
})();

export async function startNatsServer(opts: NatsServerOptions = {}): Promise<NatsServer> {
  const bin = findNatsServer();
  reapStaleStores();
  const ownStore = !opts.storeDir;
  const storeDir = opts.storeDir ?? join(tmpdir(), `${STORE_PREFIX}${process.pid}-${randomBytes(4).toString("hex")}`);
  mkdirSync(storeDir, { recursive: true });
  const token = opts.token === null ? undefined : (opts.token ?? randomBytes(18).toString("base64url"));
  const args = ["-a", "127.0.0.1", "-p", String(opts.port || -1), "-js", "-sd", storeDir, ...(opts.args ?? [])];
  if (token) args.push("--auth", token);
  // setpriv --pdeathsig: the kernel kills the server if we die by SIGKILL, so no orphan.
  const [cmd, argv] = hasSetpriv() ? ["setpriv", ["--pdeathsig", "KILL", "--", bin, ...args]] : [bin, args];
  const child = spawn(cmd, argv, { stdio: ["ignore", "ignore", "pipe"] });
  const unregister = killOnExit(child, "nats-server");
  let log = "";
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nats-server did not start within 10 s:\n${log}`)), 10_000);
    child.stderr!.on("data", (d: Buffer) => {
      log += d.toString();
      const m = /Listening for client connections on [^\s]*:(\d+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once("exit", (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`nats-server exited during start (code ${code}, signal ${sig}):\n${log.slice(-2000)}`));
    });
  });
  child.stderr!.resume();
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= new Promise<void>((resolve) => {
      unregister();
      const finish = () => {
        if (ownStore) rmSync(storeDir, { recursive: true, force: true });
        resolve();
      };
      if (child.exitCode !== null || child.signalCode !== null) return finish();
      child.once("exit", finish);
      child.kill("SIGTERM");
      setTimeout(() => child.kill("SIGKILL"), 3000).unref();
    }));
  return { url: `nats://127.0.0.1:${port}`, port, token, storeDir, process: child, stop };
}
