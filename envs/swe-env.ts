// The SWE environment: one trajectory at a time in a fresh sandbox of the task's image.
// reset(task) → the problem statement; step(tool call) → an observation; reward() → the tests'
// verdict. Works in a plain script: nothing here knows about actors or NATS.
import { createHash } from "node:crypto";
import { computeReward, type RewardOptions, type RewardResult } from "./reward/index.js";
import { scorePatch } from "./score.js";
import type { Sandbox, SandboxBackend } from "./sandbox/index.js";
import { WarmPool } from "./sandbox/index.js";
import { setUpTask, type Task, type TaskState } from "./tasks/index.js";
import { SandboxDestroyedError, SandboxLostError } from "./errors.js";
import { exitCodeOf, runTool, type ToolCall, type ToolResult } from "./tools/index.js";

export interface SWEEnvOptions {
  /** Per tool-call time limit in seconds (DeepSWE: 90). */
  stepTimeoutSec?: number;
  /** Steps per trajectory; observations end with how many remain (DeepSWE: 50–100). */
  maxSteps?: number;
  reward?: RewardOptions;
  /** Bytes a sandbox may write (default 2 GiB); past it the trajectory ends as `disk_budget`. */
  diskBudgetBytes?: number;
  /**
   * Keep the reward of every (task, patch) scored and answer the same patch again from it. The
   * reward is a function of the two alone (the patch is scored in a fresh sandbox), so this
   * changes no reward as long as the tests are deterministic: the laptop's bundled tasks are, and
   * a policy that has learned writes the same patch again and again. Off by default (a real
   * repository's flaky test would be frozen at its first verdict).
   */
  memoizeRewards?: boolean;
}

export const DEFAULT_DISK_BUDGET = 2 * 1024 ** 3;

export interface StepResult extends ToolResult {
  stepsLeft: number;
  /** The trajectory ends here because of what the agent did (its sandbox went past its disk budget). */
  end?: "disk_budget";
}

export class SWEEnv {
  private pool: WarmPool;
  /** A private pool (made from a backend) is closed with the env; a shared one is not. */
  private readonly ownsPool: boolean;
  private sandbox?: Sandbox;
  private task?: Task;
  private state?: TaskState;
  private history = new Map<string, string[]>();
  private rewards = new Map<string, RewardResult>();
  private steps = 0;
  private finished = false;
  readonly stepTimeoutSec: number;
  readonly maxSteps: number;

  /** A pool shares warm sandboxes between envs; a backend alone gives each env a private pool. */
  constructor(source: WarmPool | SandboxBackend, private opts: SWEEnvOptions = {}) {
    this.ownsPool = !(source instanceof WarmPool);
    this.pool = source instanceof WarmPool ? source : new WarmPool(source, { size: 1 });
    this.stepTimeoutSec = opts.stepTimeoutSec ?? 90;
    this.maxSteps = opts.maxSteps ?? 50;
  }

  get currentTask(): Task | undefined {
    return this.task;
  }

  get currentSandbox(): Sandbox | undefined {
    return this.sandbox;
  }

  /** Starts a trajectory on `task` in a fresh sandbox; returns the first observation. */
  async reset(task: Task): Promise<string> {
    await this.sandbox?.close();
    this.sandbox = undefined;
    this.sandbox = await this.pool.acquire({ image: task.image, workdir: task.workdir });
    this.state = await setUpTask(this.sandbox, task);
    this.task = task;
    this.history = new Map();
    this.steps = 0;
    this.finished = false;
    return task.problemStatement;
  }

  /**
   * Runs one tool call. The sandbox's disk is watched while it runs (a command that passes the
   * budget is stopped) and measured after; past the budget the trajectory ends. A call that
   * fails leaves the sandbox checked: one that no longer runs anything throws
   * SandboxDestroyedError — the agent's doing, scored 0 by the caller.
   */
  async step(call: ToolCall): Promise<StepResult> {
    const sandbox = this.need();
    if (this.finished) throw new Error("the trajectory is finished; call reset() for a new one");
    this.steps++;
    const budget = this.opts.diskBudgetBytes ?? DEFAULT_DISK_BUDGET;
    let over = false;
    let measuring = false;
    const watch = setInterval(() => {
      if (measuring || over) return;
      measuring = true;
      void sandbox.diskBytes().then(async (n) => {
        if (n > budget) {
          over = true;
          await sandbox.stopCommand();
        }
      }, () => undefined).finally(() => (measuring = false));
    }, 1000);
    let r: ToolResult;
    try {
      r = await runTool({ sandbox, stepTimeoutSec: this.stepTimeoutSec, history: this.history }, call);
    } finally {
      clearInterval(watch);
    }
    const stepsLeft = Math.max(0, this.maxSteps - this.steps);
    if (over || (await sandbox.diskBytes().catch(() => 0)) > budget) {
      this.finished = true;
      const gib = (budget / 1024 ** 3).toFixed(budget % 1024 ** 3 ? 2 : 0);
      return { ...r, observation: `${r.observation}\n\nThe sandbox wrote more than its disk budget (${gib} GiB): the trajectory ends here.`, done: true, error: true, stepsLeft, end: "disk_budget" };
    }
    if (r.error || (exitCodeOf(r.observation) ?? 0) !== 0) {
      if (!(await sandbox.healthy())) {
        const lost = await sandbox.lost();
        if (lost) throw new SandboxLostError(`sandbox ${sandbox.id}: ${lost}`);
        throw new SandboxDestroyedError(`sandbox ${sandbox.id} no longer runs commands after the agent's ${call.name} call`);
      }
    }
    if (r.done || stepsLeft === 0) this.finished = true;
    return { ...r, done: this.finished, stepsLeft };
  }

  /** The agent's patch so far. */
  diff(): Promise<string> {
    return this.need().diff();
  }

  /**
   * The reward of the agent's work: its final diff, test infrastructure taken out, applied in a
   * fresh sandbox of the task's image (from the warm pool), and the hidden tests run there — so
   * nothing the agent did outside the repository's source counts. A workdir that is no git
   * repository (Harbor's environments) has no diff to move: its verifier runs in place, as
   * Harbor's does.
   */
  async reward(): Promise<RewardResult> {
    const sandbox = this.need();
    const task = this.task!;
    this.finished = true;
    const patch = await sandbox.diff().catch(() => undefined);
    if (patch === undefined) return computeReward(sandbox, task, { ...this.opts.reward, state: this.state });
    // Only a memoizing env hashes the patch.
    const key = this.opts.memoizeRewards ? `${task.id}\0${createHash("sha256").update(patch).digest("hex")}` : undefined;
    const known = key === undefined ? undefined : this.rewards.get(key);
    if (known) return { ...known, durationMs: 0, memoized: true };
    const r = await scorePatch({ create: (spec) => this.pool.acquire(spec) }, task, patch, { timeoutSec: this.opts.reward?.timeoutSec });
    if (typeof r !== "string") {
      if (key !== undefined && !r.scoringError && !r.timedOut) this.rewards.set(key, r);
      return r;
    }
    // The diff came from this very repository: one that does not apply back is Troupe's fault.
    return { reward: 0, statuses: {}, failing: {}, timedOut: false, exitCode: -1, error: r, scoringError: r, patch, outputTail: "", durationMs: 0 };
  }

  async close(): Promise<void> {
    await this.sandbox?.close();
    this.sandbox = undefined;
    if (this.ownsPool) await this.pool.close();
  }

  private need(): Sandbox {
    if (!this.sandbox || !this.task) throw new Error("no trajectory: call reset(task) first");
    return this.sandbox;
  }
}
