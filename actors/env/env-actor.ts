// EnvActor: owns one SWE environment (its sandboxes, a warm spare included) on the node it was
// placed on. A rollout drives it through reset/step/reward; everything crosses as plain data.
import { openBackend, runRepro, SWEEnv, WarmPool, type BackendKind, type ReproResult, type RewardResult, type StepResult, type Task, type ToolCall } from "../../envs/index.js";

export interface EnvActorOptions {
  backend?: BackendKind;
  stepTimeoutSec?: number;
  maxSteps?: number;
  /** Warm sandboxes kept ready for the next reset (default 1). */
  warm?: number;
  /** Bytes a sandbox may write (default 2 GiB). */
  diskBudgetBytes?: number;
  /** Answer a patch scored before from its verdict (SWEEnvOptions.memoizeRewards). */
  memoizeRewards?: boolean;
  /** Time limit of the hidden tests, for tasks that set none (default 300 s, DeepSWE's). */
  testTimeoutSec?: number;
}

export class EnvActor {
  private env?: SWEEnv;
  private pool?: WarmPool;

  constructor(private opts: EnvActorOptions = {}) {}

  async onStart(): Promise<void> {
    this.pool = new WarmPool(await openBackend(this.opts.backend ?? "auto"), { size: this.opts.warm ?? 1 });
    this.env = new SWEEnv(this.pool, { stepTimeoutSec: this.opts.stepTimeoutSec, maxSteps: this.opts.maxSteps, diskBudgetBytes: this.opts.diskBudgetBytes, memoizeRewards: this.opts.memoizeRewards,
      reward: this.opts.testTimeoutSec === undefined ? undefined : { timeoutSec: this.opts.testTimeoutSec },
    });
  }

  async onStop(): Promise<void> {
    await this.env?.close();
    await this.pool?.close();
  }

  stepTimeoutSec(): number {
    return this.env!.stepTimeoutSec;
  }

  reset(task: Task): Promise<string> {
    return this.env!.reset(task);
  }

  step(call: ToolCall): Promise<StepResult> {
    return this.env!.step(call);
  }

  reward(): Promise<RewardResult> {
    return this.env!.reward();
  }

  /**
   * Runs a reproduction script against a candidate's patch (undefined: the base state) in a
   * fresh sandbox of the task, beside whatever trajectory this env is running.
   */
  reproduce(task: Task, patch: string | undefined, script: string, timeoutSec?: number): Promise<ReproResult> {
    return runRepro({ create: (spec) => this.pool!.acquire(spec) }, task, patch, script, { timeoutSec });
  }
}
