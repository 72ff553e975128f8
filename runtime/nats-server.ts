// The embedded cluster's NATS server: started on a random loopback port with JetStream
// and a private store folder, protected by a random token, stopped with the program.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError } from "./errors.js";
import { isRunning, killOnExit } from "./lifecycle.js";

export interface NatsServerOptions {
  /** Port to listen on; 0 or undefined picks a free one. */
  port?: number;
  /** Store directory for JetStream; a private temporary one by default (removed on stop). */
  storeDir?: string;
  /** Client token required by the server; a random one by default. null disables auth. */
  token?: string | null;
  /** Extra command-line arguments (e.g. a config file with users or TLS). */
  args?: string[];
  /** Start the server again when it dies (same port, store and token); the embedded cluster's. */
  restart?: boolean;
  /** Called after each restart. */
  onRestart?: () => void;
}

export interface NatsServer {
  url: string;
  port: number;
  token?: string;
  storeDir: string;
  /** The running server process (a new one after each restart). */
  readonly process: ChildProcess;
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

/** Spawns the server and resolves with its port once it listens. */
async function launch(bin: string, args: string[]): Promise<{ child: ChildProcess; port: number }> {
  // setpriv --pdeathsig: the kernel kills the server if we die by SIGKILL, so no orphan.
  const [cmd, argv] = hasSetpriv() ? ["setpriv", ["--pdeathsig", "KILL", "--", bin, ...args]] : [bin, args];
  const child = spawn(cmd, argv, { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  try {
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
    child.stderr!.removeAllListeners("data").resume();
    return { child, port };
  } catch (e) {
    child.kill("SIGKILL");
    throw e;
  }
}

/** Waits before each attempt to bring a dead server back; past the last, it stays down. */
const RESTART_DELAYS_MS = [0, 250, 500, 1000, 2000, 4000, 8000];

export async function startNatsServer(opts: NatsServerOptions = {}): Promise<NatsServer> {
  const bin = findNatsServer();
  reapStaleStores();
  const ownStore = !opts.storeDir;
  const storeDir = opts.storeDir ?? join(tmpdir(), `${STORE_PREFIX}${process.pid}-${randomBytes(4).toString("hex")}`);
  mkdirSync(storeDir, { recursive: true });
  const token = opts.token === null ? undefined : (opts.token ?? randomBytes(18).toString("base64url"));
  const args = (port: number) => {
    const a = ["-a", "127.0.0.1", "-p", String(port || -1), "-js", "-sd", storeDir, ...(opts.args ?? [])];
    if (token) a.push("--auth", token);
    return a;
  };
  let { child, port } = await launch(bin, args(opts.port ?? 0));
  let stopped: Promise<void> | undefined;
  let unregister = killOnExit(child, "nats-server");

  // Supervision: a server that dies under us is started again on the same port with the same
  // store and token, so clients reconnect by themselves and JetStream state (the head's KV)
  // survives. Attempts that fail in a row back off; a server that stays up a minute resets them.
  const restart = (attempt: number) => {
    if (attempt >= RESTART_DELAYS_MS.length) {
      process.stderr.write(`troupe: nats-server on port ${port} could not be restarted (${attempt} attempts); the cluster is down\n`);
      return;
    }
    setTimeout(() => {
      if (stopped) return;
      launch(bin, args(port)).then(
        (r) => {
          if (stopped) return void r.child.kill("SIGKILL");
          child = r.child;
          unregister = killOnExit(child, "nats-server");
          watch(child, attempt + 1);
          opts.onRestart?.();
        },
        () => restart(attempt + 1),
      );
    }, RESTART_DELAYS_MS[attempt]).unref();
  };
  const watch = (c: ChildProcess, attempt: number) => {
    const upSince = Date.now();
    c.once("exit", (code, sig) => {
      if (stopped) return;
      unregister();
      process.stderr.write(`troupe: nats-server on port ${port} died (${sig ?? `exit ${code}`}); restarting it with the same store\n`);
      restart(Date.now() - upSince > 60_000 ? 0 : attempt);
    });
  };
  if (opts.restart) watch(child, 0);

  const stop = () =>
    (stopped ??= new Promise<void>((resolve) => {
      unregister();
      const finish = () => {
        if (ownStore) rmSync(storeDir, { recursive: true, force: true });
        resolve();
      };
      if (!isRunning(child)) return finish();
      child.once("exit", finish);
      child.kill("SIGTERM");
      setTimeout(() => child.kill("SIGKILL"), 3000).unref();
    }));
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    token,
    storeDir,
    get process() {
      return child;
    },
    stop,
  };
}
