// What docker and local sandboxes share: everything goes through one persistent shell, so a
// backend only has to start a `sh` with piped stdin/stdout and know how to remove it.
import { SandboxBrokenError, SandboxDestroyedError, SandboxLostError } from "../errors.js";
import type { RawResult, ShellSession } from "./shell.js";
import { shellQuote } from "./shell.js";
import { track } from "./cleanup.js";
import type { ExecOptions, ExecResult, Sandbox } from "./types.js";

const DEFAULT_TIMEOUT_SEC = 90;
const DEFAULT_OUTPUT_BYTES = 1024 * 1024;
const READ_LIMIT_BYTES = 256 * 1024 * 1024;

export abstract class ShellSandbox implements Sandbox {
  abstract readonly backend: string;
  private untrack: () => void;
  private closing?: Promise<void>;

  protected constructor(
    readonly id: string,
    readonly image: string,
    readonly workdir: string,
    protected shell: ShellSession,
  ) {
    this.untrack = track(this);
  }

  get closed(): boolean {
    return this.closing !== undefined;
  }

  async exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    const r = await this.raw(command, opts);
    return { ...r, stdout: r.stdout.toString("utf8"), stderr: r.stderr.toString("utf8") };
  }

  async readFile(path: string): Promise<Uint8Array> {
    const r = await this.raw(`cat -- ${shellQuote(path)}`, { maxOutputBytes: READ_LIMIT_BYTES, cwd: this.workdir });
    if (r.exitCode !== 0) throw new Error(r.stderr.toString().trim() || `cannot read ${path} (exit ${r.exitCode})`);
    return r.stdout;
  }

  async writeFile(path: string, data: Uint8Array | string): Promise<void> {
    this.check();
    const abs = path.startsWith("/") ? path : `${this.workdir}/${path}`;
    await this.shell.writeFile(abs, typeof data === "string" ? Buffer.from(data) : data);
  }

  async diff(): Promise<string> {
    // Untracked files are marked intent-to-add so that they show up as new; the diff is taken
    // against HEAD, so deletions and anything staged show up too (`git add -A` would stage the
    // deletions and hide them from a plain `git diff`).
    const r = await this.exec("git ls-files -z --others --exclude-standard | xargs -0 -r git add -N -- >/dev/null 2>&1; git -c core.quotepath=off diff --no-color --no-ext-diff HEAD", {
      maxOutputBytes: 64 * 1024 * 1024, timeoutSec: 120,
    });
    if (r.exitCode !== 0) throw new Error(`git diff failed in ${this.workdir}: ${r.stderr.trim()}`);
    return r.stdout;
  }

  abstract diskBytes(): Promise<number>;

  abstract lost(): Promise<string | undefined>;

  async stopCommand(): Promise<void> {
    await this.shell.stopCurrent();
  }

  async healthy(): Promise<boolean> {
    const r = await this.exec("true", { timeoutSec: 30 }).catch(() => undefined);
    return r?.exitCode === 0;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.untrack();
      this.shell.kill(new Error(`sandbox ${this.id} is closed`));
      await this.remove();
    })();
    return this.closing;
  }

  /** Removes the backend's resources (container, process, folders). */
  protected abstract remove(): Promise<void>;

  /** A new shell in the same sandbox, files kept, or undefined where the sandbox is gone. */
  protected abstract reopen(): Promise<ShellSession | undefined>;

  private check(): void {
    if (this.closing) throw new Error(`sandbox ${this.id} is closed`);
  }

  /**
   * Runs a command in the shell. When the command killed the shell itself (`kill -9 -1`), a
   * new shell is started in the same sandbox and the command answers as killed (exit 137): the
   * agent's own doing, told to it like any other result. Where no new shell can start, the
   * sandbox is destroyed (SandboxDestroyedError).
   */
  private async raw(command: string, opts: ExecOptions): Promise<RawResult> {
    this.check();
    try {
      return await this.shell.run(command, {
        timeoutSec: opts.timeoutSec ?? DEFAULT_TIMEOUT_SEC,
        maxOutputBytes: opts.maxOutputBytes ?? DEFAULT_OUTPUT_BYTES,
        cwd: opts.cwd ?? this.workdir,
      });
    } catch (e) {
      if (!(e instanceof SandboxBrokenError) || this.closing) throw e;
      const fresh = await this.reopen().catch(() => undefined);
      if (!fresh) {
        const lost = await this.lost();
        if (lost) throw new SandboxLostError(`sandbox ${this.id}: ${lost}`);
        throw new SandboxDestroyedError(`sandbox ${this.id} no longer works after a command (${e.message})`);
      }
      this.shell = fresh;
      const note = "troupe: the command killed the sandbox's shell; a new shell was started in the same sandbox (files are kept, processes are gone)\n";
      return { exitCode: 137, stdout: Buffer.alloc(0), stderr: Buffer.from(note), timedOut: false, truncated: false, durationMs: 0 };
    }
  }
}
