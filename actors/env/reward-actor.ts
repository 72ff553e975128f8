// RewardActor: scores a patch for a task in a fresh sandbox of the task's image — the agent's
// diff applied, the hidden tests restored, the tests run. Evaluation uses it to re-check
// candidates (best-of-k) without the sandbox they were made in.
import { applyPatch, computeReward, openBackend, WarmPool, type BackendKind, type RewardResult, type Task } from "../../envs/index.js";

export class RewardActor {
  private pool?: WarmPool;

  constructor(private opts: { backend?: BackendKind } = {}) {}

  async onStart(): Promise<void> {
    this.pool = new WarmPool(await openBackend(this.opts.backend ?? "auto"), { size: 0 });
  }

  async onStop(): Promise<void> {
    await this.pool?.close();
  }

  async score(task: Task, patch: string): Promise<RewardResult> {
    const sandbox = await this.pool!.acquire({ image: task.image, workdir: task.workdir });
    try {
      if (patch.trim()) {
        const err = await applyPatch(sandbox, patch);
        if (err) return { reward: 0, statuses: {}, failing: {}, timedOut: false, exitCode: -1, error: `the patch does not apply: ${err}`, outputTail: "", durationMs: 0 };
      }
      return await computeReward(sandbox, task);
    } finally {
      await sandbox.close();
    }
  }
}
