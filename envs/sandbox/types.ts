// The sandbox interface every backend implements (docker, local; kubernetes later).

export interface ExecOptions {
  /** Hard limit in seconds; the command's whole process group is killed when it passes. */
  timeoutSec?: number;
  /** Bytes kept of stdout and of stderr each; the rest is dropped and `truncated` set. */
  maxOutputBytes?: number;
  /** Working directory (default: the sandbox's workdir). */
  cwd?: string;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** The command ran past its time limit and was killed. */
  timedOut: boolean;
  /** Output went past maxOutputBytes and was cut. */
  truncated: boolean;
  durationMs: number;
}

export interface SandboxLimits {
  /** Memory limit in bytes (swap included). */
  memoryBytes: number;
  /** Most processes/threads at once (a fork bomb stops here). */
  pids: number;
  /** CPU share, in CPUs. */
  cpus: number;
  /** Largest file a command may write, in bytes (RLIMIT_FSIZE). */
  fileBytes: number;
}

export const DEFAULT_LIMITS: SandboxLimits = {
  memoryBytes: 2 * 1024 ** 3,
  pids: 256,
  cpus: 1,
  fileBytes: 512 * 1024 ** 2,
};

export interface SandboxSpec {
  /** Docker image (docker backend) or a root file system folder (local backend). */
  image: string;
  /** Where the repository lives and commands start (default /testbed). */
  workdir?: string;
  limits?: Partial<SandboxLimits>;
  /** Extra labels (docker) for finding a sandbox again. */
  labels?: Record<string, string>;
  /**
   * A Docker network to join (docker backend only). Sandboxes have no network unless this is
   * given; only scoring runs, where no agent acts, ever give it (see `score --network`).
   */
  network?: string;
}

export interface Sandbox {
  readonly id: string;
  readonly backend: string;
  readonly image: string;
  readonly workdir: string;
  /** Runs a shell command (`sh -c` semantics) in a fresh process group. */
  exec(command: string, opts?: ExecOptions): Promise<ExecResult>;
  /** Reads a file exactly (no output cap). */
  readFile(path: string): Promise<Uint8Array>;
  /** Writes a file exactly, creating parent folders. */
  writeFile(path: string, data: Uint8Array | string): Promise<void>;
  /** The repository's diff against its base state (`git diff`, new files included). */
  diff(): Promise<string>;
  /** Bytes the sandbox has written to disk (its writable layer), measured from the host. */
  diskBytes(): Promise<number>;
  /** Kills the command running now, if any (its whole process group). */
  stopCommand(): Promise<void>;
  /** Whether the sandbox can still run a command (its shell and basic binaries are there). */
  healthy(): Promise<boolean>;
  /**
   * Why the sandbox stopped from outside (its container stopped or was removed, its process
   * was killed), or undefined while it runs. The agent cannot do that from inside, so a
   * sandbox lost so is the infrastructure's failure, not the agent's.
   */
  lost(): Promise<string | undefined>;
  /** Removes the sandbox; safe to call twice. */
  close(): Promise<void>;
  readonly closed: boolean;
}

export interface SandboxBackend {
  readonly name: string;
  create(spec: SandboxSpec): Promise<Sandbox>;
  /** Removes leftovers of runs whose owning process is dead; returns how many. */
  reap(): Promise<number>;
}

export function resolveLimits(l: Partial<SandboxLimits> | undefined): SandboxLimits {
  return { ...DEFAULT_LIMITS, ...l };
}
