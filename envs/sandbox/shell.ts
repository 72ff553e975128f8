// A persistent POSIX shell inside a sandbox, driven over its stdin/stdout. A command costs one
// round trip on an open stream instead of a new `docker exec` (tens of milliseconds).
//
// Each command is written to a file through a quoted here-document, then run by the shell
// function below in a child `sh` under `timeout`, in a process group of its own. Its stdout and
// stderr go through `head -c` into files (the cap: endless output stops at once through SIGPIPE),
// and whatever it left running in its group is killed when it returns, so a straggler cannot
// hold the pipes open. The shell then prints `\n<nonce> <rc> <outLen> <errLen>\n` and the two
// outputs; the random nonce per command means command output can never fake the frame.
// Needs only sh, timeout, head, wc, cat, base64 and kill in the image (coreutils or busybox).
import { randomBytes } from "node:crypto";
import type { Readable, Writable } from "node:stream";
import { SandboxBrokenError } from "../errors.js";

const DIR = "/tmp/.troupe";

const PRELUDE = `
mkdir -p ${DIR}
troupe_run() {
  ( ( cd "$4" 2>/dev/null || cd /; timeout -k 2 "$1" sh "$3" </dev/null & p=$!; wait $p; echo $? > ${DIR}/rc; kill -9 -$p 2>/dev/null ) 2>&1 1>&3 | head -c "$2" > ${DIR}/err ) 3>&1 | head -c "$2" > ${DIR}/out
  printf '\\n%s %s %s %s\\n' "$5" "$(cat ${DIR}/rc 2>/dev/null || echo 255)" "$(wc -c < ${DIR}/out)" "$(wc -c < ${DIR}/err)"
  cat ${DIR}/out ${DIR}/err
  rm -f "$3" ${DIR}/rc
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

interface Waiter {
  nonce: string;
  resolve: (r: { rc: number; out: Buffer; err: Buffer }) => void;
  reject: (e: Error) => void;
}

export class ShellSession {
  private buf: Buffer = Buffer.alloc(0);
  private waiter?: Waiter;
  private tail: Promise<unknown> = Promise.resolve();
  private dead?: Error;

  private constructor(private stdin: Writable, stdout: Readable, private what: string) {
    stdout.on("data", (d: Buffer) => this.onData(d));
    const die = (why: string) => this.kill(new SandboxBrokenError(`${what}: shell ${why}`));
    stdout.on("end", () => die("output ended"));
    stdout.on("error", (e) => die(`output failed: ${e.message}`));
    stdin.on("error", (e) => die(`input failed: ${e.message}`));
  }

  /** Starts the protocol on an already running `sh` and waits until it answers. */
  static async open(stdin: Writable, stdout: Readable, what: string, timeoutMs = 30_000): Promise<ShellSession> {
    const s = new ShellSession(stdin, stdout, what);
    await s.handshake(timeoutMs);
    return s;
  }

  get alive(): boolean {
    return !this.dead;
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
    const ready = new Promise<void>((resolve, reject) => {
      this.waiter = { nonce: "troupe-shell-ready\n", resolve: () => resolve(), reject };
    });
    this.stdin.write(PRELUDE);
    await withTimer(ready, timeoutMs, () => this.kill(new SandboxBrokenError(`${this.what}: shell did not start within ${timeoutMs} ms`)));
  }

  private async runNow(command: string, opts: RunOptions): Promise<RawResult> {
    if (this.dead) throw this.dead;
    const nonce = randomBytes(12).toString("hex");
    const file = `${DIR}/cmd.${nonce}`;
    const started = performance.now();
    const done = new Promise<{ rc: number; out: Buffer; err: Buffer }>((resolve, reject) => {
      this.waiter = { nonce, resolve, reject };
    });
    const secs = Math.max(1, Math.ceil(opts.timeoutSec));
    this.stdin.write(
      `cat > ${file} <<'__TROUPE_${nonce}'\n${command}\n__TROUPE_${nonce}\n` +
      `troupe_run ${secs} ${opts.maxOutputBytes + 1} ${file} ${shellQuote(opts.cwd)} ${nonce}\n`,
    );
    // The shell enforces the limit; this guard only catches a shell that stopped answering.
    const r = await withTimer(done, (secs + 30) * 1000, () =>
      this.kill(new SandboxBrokenError(`${this.what}: shell stopped answering during a command`)));
    const durationMs = performance.now() - started;
    const truncated = r.out.length > opts.maxOutputBytes || r.err.length > opts.maxOutputBytes;
    return {
      exitCode: r.rc,
      stdout: r.out.subarray(0, opts.maxOutputBytes),
      stderr: r.err.subarray(0, opts.maxOutputBytes),
      // timeout(1) exits 124 after TERM, 137 after the KILL that follows; trust it only
      // when the time actually ran out.
      timedOut: (r.rc === 124 || r.rc === 137) && durationMs >= secs * 1000 - 100,
      truncated,
      durationMs,
    };
  }

  private onData(d: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    this.parse();
  }

  private parse(): void {
    const w = this.waiter;
    if (!w) {
      this.buf = Buffer.alloc(0); // nothing expected: stray bytes
      return;
    }
    if (w.nonce.endsWith("\n")) {
      // handshake: a plain line
      const i = this.buf.indexOf(w.nonce);
      if (i < 0) return;
      this.buf = this.buf.subarray(i + w.nonce.length);
      this.waiter = undefined;
      w.resolve({ rc: 0, out: Buffer.alloc(0), err: Buffer.alloc(0) });
      return;
    }
    const mark = this.buf.indexOf(`\n${w.nonce} `);
    if (mark < 0) return;
    const eol = this.buf.indexOf(10, mark + 1);
    if (eol < 0) return;
    const [, rc, outLen, errLen] = this.buf.subarray(mark + 1, eol).toString().trim().split(/\s+/);
    const o = Number(outLen);
    const e = Number(errLen);
    if (this.buf.length < eol + 1 + o + e) return;
    const out = Buffer.from(this.buf.subarray(eol + 1, eol + 1 + o));
    const err = Buffer.from(this.buf.subarray(eol + 1 + o, eol + 1 + o + e));
    this.buf = this.buf.subarray(eol + 1 + o + e);
    this.waiter = undefined;
    w.resolve({ rc: Number(rc), out, err });
  }
}

/** Single-quotes a string for sh. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

async function withTimer<T>(p: Promise<T>, ms: number, onTimeout: () => void): Promise<T> {
  const t = setTimeout(onTimeout, ms);
  try {
    return await p;
  } finally {
    clearTimeout(t);
  }
}
