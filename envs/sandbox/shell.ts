// A persistent POSIX shell inside a sandbox, driven over its stdin, stdout and stderr. A
// command costs one round trip on open streams instead of a new `docker exec` (tens of ms).
//
// Speed comes from starting as few programs as possible per command: each exec of a binary
// costs about a millisecond in a container, a builtin almost nothing. A command is passed as a
// single-quoted argument (large ones through a file) to `timeout … sh -c`, whose process group
// is killed when it returns, so nothing it started outlives it. Its stdout and stderr go
// straight to the shell's own streams; after it, the shell prints an end mark with a random
// nonce on each stream (`\n<nonce> <rc>\n` on stdout, `\n<nonce>\n` on stderr), so command output
// can never fake the frame. The output cap is kept here: bytes past it are dropped, and the
// backend's `interrupt` kills the command at once rather than letting endless output run to
// its time limit. Needs only sh, timeout and kill in the image (coreutils or busybox).
// A non-interactive sh exits when a fork fails, so before starting a command the shell waits
// (builtins only) while its cgroup is within a few pids of its limit: after a fork bomb is
// killed, its processes are still being reaped for a moment.
import { randomBytes } from "node:crypto";
import type { Readable, Writable } from "node:stream";
import { SandboxBrokenError } from "../errors.js";

export const SHELL_DIR = "/tmp/.troupe";
/** Where the shell records the process group of the running command, for `interrupt`. */
export const PGID_FILE = `${SHELL_DIR}/pg`;
/** `$0` of every command's `sh`: lets a backend find a command's processes by nonce. */
export const COMMAND_TAG = "troupe-cmd-";

// An argument may not exceed 128 KiB (MAX_ARG_STRLEN); bigger commands go through a file.
const INLINE_LIMIT = 64 * 1024;

const PRELUDE = `
mkdir -p ${SHELL_DIR}
troupe_pids=
for d in /sys/fs/cgroup /sys/fs/cgroup/pids; do [ -r $d/pids.current ] && troupe_pids=$d && break; done
troupe_room() {
  [ -n "$troupe_pids" ] || return 0
  i=0
  while [ $i -lt 50000 ] && read c < $troupe_pids/pids.current && read m < $troupe_pids/pids.max && [ "$m" != max ] && [ $((m - c)) -lt 8 ]; do i=$((i+1)); done
} 2>/dev/null
troupe_run() {
  troupe_room
  cd "$2" 2>/dev/null || cd /
  timeout -k 2 "$1" sh -c "$4" "${COMMAND_TAG}$3" </dev/null & p=$!
  echo $p > ${PGID_FILE}
  wait $p; rc=$?
  kill -9 -$p 2>/dev/null
  cd /
  printf '\\n%s %s\\n' "$3" "$rc"
  printf '\\n%s\\n' "$3" >&2
}
echo troupe-shell-ready
`;

export interface RawResult {
  exitCode: number;
  stdout: Buffer;
  stderr: Buffer;
  timedOut: boolean;
  truncated: boolean;
  durationMs: number;
}

export interface RunOptions {
  timeoutSec: number;
  maxOutputBytes: number;
  cwd: string;
}

/** Kills the running command whose nonce is given (its whole process group). */
export type Interrupt = (nonce: string) => Promise<void>;

export class ShellSession {
  private out: Capture = new Capture();
  private err: Capture = new Capture();
  private waiter?: { resolve: () => void; reject: (e: Error) => void };
  private tail: Promise<unknown> = Promise.resolve();
  private dead?: Error;
  /** The nonce of the command running now, if any. */
  private current?: string;

  private constructor(private stdin: Writable, stdout: Readable, stderr: Readable, private what: string, private interrupt: Interrupt) {
    stdout.on("data", (d: Buffer) => this.onData(this.out, d));
    stderr.on("data", (d: Buffer) => this.onData(this.err, d));
    const die = (why: string) => this.kill(new SandboxBrokenError(`${what}: shell ${why}`));
    stdout.on("end", () => die("output ended"));
    stdout.on("error", (e) => die(`output failed: ${e.message}`));
    stdin.on("error", (e) => die(`input failed: ${e.message}`));
  }

  /** Starts the protocol on an already running `sh` and waits until it answers. */
  static async open(
    io: { stdin: Writable; stdout: Readable; stderr: Readable; interrupt: Interrupt },
    what: string,
    timeoutMs = 30_000,
  ): Promise<ShellSession> {
    const s = new ShellSession(io.stdin, io.stdout, io.stderr, what, io.interrupt);
    await s.handshake(timeoutMs);
    return s;
  }

  get alive(): boolean {
    return !this.dead;
  }

  /** Kills the running command's process group (as its time limit would); nothing when idle. */
  async stopCurrent(): Promise<void> {
    if (this.current) await this.interrupt(this.current);
  }

  /** Runs one command; commands queue, one at a time per shell. */
  run(command: string, opts: RunOptions): Promise<RawResult> {
    const p = this.tail.then(() => this.runNow(command, opts));
    this.tail = p.catch(() => undefined);
    return p;
  }

  /** Writes a file through base64 in a here-document (exact bytes, any content). */
  async writeFile(path: string, data: Uint8Array): Promise<void> {
    const b64 = Buffer.from(data).toString("base64").replace(/.{1,76}/g, "$&\n");
    const q = shellQuote(path);
    const r = await this.run(`mkdir -p "$(dirname ${q})" && base64 -d > ${q} <<'__TROUPE_B64'\n${b64}__TROUPE_B64`, {
      timeoutSec: 60, maxOutputBytes: 4096, cwd: "/",
    });
    if (r.exitCode !== 0) throw new Error(`cannot write ${path}: ${r.stderr.toString().trim() || `exit ${r.exitCode}`}`);
  }

  kill(err: Error): void {
    if (this.dead) return;
    this.dead = err;
    this.waiter?.reject(err);
    this.waiter = undefined;
    this.stdin.destroy();
  }

  private async handshake(timeoutMs: number): Promise<void> {
    this.out.expect("troupe-shell-ready\n", 1 << 20, false);
    this.err.expect(null, 0, false);
    const ready = this.wait();
    this.stdin.write(PRELUDE);
    await withTimer(ready, timeoutMs, () => this.kill(new SandboxBrokenError(`${this.what}: shell did not start within ${timeoutMs} ms`)));
    this.out.take();
  }

  private wait(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiter = { resolve, reject };
      this.check();
    });
  }

  private async runNow(command: string, opts: RunOptions): Promise<RawResult> {
    if (this.dead) throw this.dead;
    const nonce = randomBytes(12).toString("hex");
    this.current = nonce;
    const started = performance.now();
    const secs = Math.max(1, Math.ceil(opts.timeoutSec));
    this.out.expect(`\n${nonce} `, opts.maxOutputBytes, true);
    this.err.expect(`\n${nonce}\n`, opts.maxOutputBytes, false);
    const done = this.wait();
    let script = command;
    if (Buffer.byteLength(command) > INLINE_LIMIT) {
      // Sourced, not run: `$0`, the tag, stays on the command's `sh`.
      const file = `${SHELL_DIR}/cmd.${nonce}`;
      this.stdin.write(`cat > ${file} <<'__TROUPE_${nonce}'\n${command}\n__TROUPE_${nonce}\n`);
      script = `. ${file}; rm -f ${file}`;
    }
    this.stdin.write(`troupe_run ${secs} ${shellQuote(opts.cwd)} ${nonce} ${shellQuote(script)}\n`);
    // Endless output: stop the command as soon as the cap is passed, again if it lingers.
    let interrupts = 0;
    let retry: NodeJS.Timeout | undefined;
    const interrupt = () => {
      if (interrupts++ < 5) void this.interrupt(nonce).catch(() => undefined);
    };
    this.out.onOverflow = this.err.onOverflow = () => {
      interrupt();
      retry ??= setInterval(interrupt, 3000);
    };
    try {
      // The shell enforces the limit; this guard only catches a shell that stopped answering.
      await withTimer(done, (secs + 30) * 1000, () =>
        this.kill(new SandboxBrokenError(`${this.what}: shell stopped answering during a command`)));
    } finally {
      clearInterval(retry);
      this.current = undefined;
    }
    const durationMs = performance.now() - started;
    const rc = Number(this.out.trailer.toString().trim());
    return {
      exitCode: rc,
      stdout: this.out.take(),
      stderr: this.err.take(),
      // timeout(1) exits 124 after TERM, 137 after the KILL that follows; trust it only when
      // the time actually ran out (an interrupted or self-killed command also exits 137).
      timedOut: (rc === 124 || rc === 137) && durationMs >= secs * 1000 - 100,
      truncated: interrupts > 0,
      durationMs,
    };
  }

  private onData(c: Capture, d: Buffer): void {
    c.push(d);
    this.check();
  }

  private check(): void {
    if (this.waiter && this.out.done && this.err.done) {
      const w = this.waiter;
      this.waiter = undefined;
      w.resolve();
    }
  }
}

/**
 * One stream of one command: keeps up to `cap` bytes of output, drops the rest, and watches
 * for the end mark (and, on stdout, the line after it) even across dropped bytes.
 */
class Capture {
  onOverflow?: () => void;
  done = true;
  trailer: Buffer = Buffer.alloc(0);
  private mark: Buffer | null = null;
  private cap = 0;
  private line = false;
  private kept: Buffer[] = [];
  private keptLen = 0;
  private overflowed = false;
  private window: Buffer = Buffer.alloc(0); // unsearched bytes, plus the last mark-length of the searched
  private after?: Buffer; // bytes past the mark, while waiting for the trailer line

  /** Starts waiting for `mark` (null: nothing); with `line`, also for the line that follows it. */
  expect(mark: string | null, cap: number, line: boolean): void {
    this.mark = mark === null ? null : Buffer.from(mark);
    this.cap = cap;
    this.line = line;
    this.kept = [];
    this.keptLen = 0;
    this.overflowed = false;
    this.window = Buffer.alloc(0);
    this.after = undefined;
    this.trailer = Buffer.alloc(0);
    this.done = mark === null;
  }

  push(d: Buffer): void {
    if (this.done || !this.mark) return; // nothing expected: stray bytes
    if (this.after) return this.readTrailer(Buffer.concat([this.after, d]));
    const buf = this.window.length ? Buffer.concat([this.window, d]) : d;
    const i = buf.indexOf(this.mark);
    if (i >= 0) {
      this.keep(buf.subarray(0, i));
      return this.readTrailer(buf.subarray(i + this.mark.length));
    }
    // Everything but the last mark-length bytes is surely output.
    const safe = Math.max(0, buf.length - this.mark.length);
    this.keep(buf.subarray(0, safe));
    this.window = Buffer.from(buf.subarray(safe));
  }

  take(): Buffer {
    const b = Buffer.concat(this.kept, this.keptLen);
    this.kept = [];
    this.keptLen = 0;
    return b;
  }

  private keep(b: Buffer): void {
    const room = this.cap - this.keptLen;
    if (b.length > room) {
      if (room > 0) this.kept.push(Buffer.from(b.subarray(0, room)));
      this.keptLen = this.cap;
      if (!this.overflowed) {
        this.overflowed = true;
        this.onOverflow?.();
      }
    } else if (b.length) {
      this.kept.push(Buffer.from(b));
      this.keptLen += b.length;
    }
  }

  private readTrailer(rest: Buffer): void {
    if (!this.line) {
      this.done = true;
      return;
    }
    const eol = rest.indexOf(10);
    if (eol < 0) {
      this.after = Buffer.from(rest);
      return;
    }
    this.trailer = Buffer.from(rest.subarray(0, eol));
    this.after = undefined;
    this.done = true;
  }
}

/** A word as sh reads it back: as it is when it holds nothing sh would interpret, else single-quoted. */
export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

async function withTimer<T>(p: Promise<T>, ms: number, onTimeout: () => void): Promise<T> {
  const t = setTimeout(onTimeout, ms);
  try {
    return await p;
  } finally {
    clearTimeout(t);
  }
}
