// The local backend, for machines without Docker: bubblewrap. The image is a root file system
// folder (the same Debian tree `images build` imports into Docker), bound read-only; the
// workdir is a private writable copy; no network, no capabilities, a new session, and the
// sandbox dies with its owner. Without cgroups the limits are rlimits set in the shell:
// address space and file size are enforced, the process count is bounded only by the time limit.
import { execFile, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, readdirSync, readFileSync, writeFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { SandboxUnavailableError } from "../errors.js";
import { creating, ownerId, ownerIsDead } from "./cleanup.js";
import { COMMAND_TAG, ShellSession } from "./shell.js";
import { ShellSandbox } from "./shell-sandbox.js";
import { resolveLocalImage } from "./local-images.js";
import { resolveLimits, type SandboxBackend, type SandboxSpec } from "./types.js";

const PREFIX = "troupe-sbx-";

export class LocalBackend implements SandboxBackend {
  readonly name = "local";

  static available(): boolean {
    return spawnSync("bwrap", ["--version"]).status === 0;
  }

  static connect(): LocalBackend {
    if (!LocalBackend.available()) {
      throw new SandboxUnavailableError("bubblewrap (bwrap) is not installed; install it (Debian: apt-get install bubblewrap) or run a Docker daemon");
    }
    return new LocalBackend();
  }

  create(spec: SandboxSpec): Promise<LocalSandbox> {
    return creating(() => this.make(spec));
  }

  private async make(spec: SandboxSpec): Promise<LocalSandbox> {
    if (spec.network) throw new SandboxUnavailableError(`the local backend cannot join network ${spec.network}: its sandboxes never have one (use the docker backend)`);
    const image = resolveLocalImage(spec.image);
    const limits = resolveLimits(spec.limits);
    const workdir = spec.workdir ?? "/testbed";
    const dir = mkdtempSync(join(tmpdir(), PREFIX));
    writeFileSync(join(dir, "owner"), ownerId());
    const work = join(dir, "work");
    const seed = image.seed ?? join(image.rootfs, workdir);
    if (existsSync(seed)) cpSync(seed, work, { recursive: true });
    else mkdirSync(work);
    const args = [
      "--ro-bind", image.rootfs, "/", "--bind", work, workdir, "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
      "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL", "--chdir", "/",
      "sh", "-c", `ulimit -v ${Math.floor(limits.memoryBytes / 1024)}; ulimit -f ${Math.floor(limits.fileBytes / 512)}; exec sh`,
    ];
    const child = spawn("bwrap", args, { stdio: ["pipe", "pipe", "pipe"] });
    try {
      const io = { stdin: child.stdin!, stdout: child.stdout!, stderr: child.stderr!, interrupt: killTagged };
      const shell = await ShellSession.open(io, `bwrap sandbox ${dir}`);
      return new LocalSandbox(child, dir, spec.image, workdir, shell);
    } catch (e) {
      child.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
  }

  async reap(): Promise<number> {
    let n = 0;
    for (const name of readdirSync(tmpdir())) {
      if (!name.startsWith(PREFIX)) continue;
      const dir = join(tmpdir(), name);
      try {
        if (!statSync(dir).isDirectory() || !ownerIsDead(readFileSync(join(dir, "owner"), "utf8"))) continue;
      } catch {
        continue;
      }
      rmSync(dir, { recursive: true, force: true });
      n++;
    }
    return n;
  }
}

export class LocalSandbox extends ShellSandbox {
  readonly backend = "local";

  constructor(private child: ChildProcess, private dir: string, image: string, workdir: string, shell: ShellSession) {
    super(dir.slice(dir.lastIndexOf(PREFIX) + PREFIX.length), image, workdir, shell);
  }

  protected async remove(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const gone = new Promise((r) => this.child.once("exit", r));
      this.child.kill("SIGKILL");
      await gone;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Its shell is the sandbox's only process: once it is gone, so is the sandbox. */
  protected async reopen(): Promise<ShellSession | undefined> {
    return undefined;
  }

  async lost(): Promise<string | undefined> {
    // The sandbox's root process is outside the agent's reach (its own PID namespace's parent).
    const { exitCode, signalCode } = this.child;
    return exitCode === null && signalCode === null ? undefined : `its process was stopped from outside (${signalCode ?? `exit code ${exitCode}`})`;
  }

  /** The sandbox's folder on the host (the repository copy; /tmp is memory). */
  async diskBytes(): Promise<number> {
    const { stdout } = await promisify(execFile)("du", ["-sb", this.dir]).catch(() => ({ stdout: "0" }));
    return Number(stdout.split(/\s/)[0]) || 0;
  }
}

/**
 * Kills a command's process group, found from the host: the sandbox's processes are ours and
 * visible in /proc, and the command's `sh` carries its nonce as `$0`.
 */
async function killTagged(nonce: string): Promise<void> {
  const tag = `\0${COMMAND_TAG}${nonce}\0`;
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, "latin1").includes(tag)) continue;
      // stat: "pid (comm) state ppid pgrp …"; comm may hold spaces, so split after its ')'.
      const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
      const pgrp = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
      process.kill(-pgrp, "SIGKILL");
    } catch {
      // gone meanwhile
    }
  }
}
