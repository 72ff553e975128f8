// validate-tasks: every task's gold patch must score 1 and its untouched repository 0.
import { applyPatch, computeReward, type RewardResult } from "./reward/index.js";
import type { SandboxBackend } from "./sandbox/index.js";
import type { Task } from "./tasks/index.js";

export interface Validation {
  id: string;
  gold: 0 | 1;
  base: 0 | 1;
  ok: boolean;
  detail: string;
  ms: number;
}

export async function validateTask(backend: SandboxBackend, task: Task, timeoutSec = 300): Promise<Validation> {
  const t = performance.now();
  const score = async (patch: string | undefined): Promise<RewardResult | string> => {
    const s = await backend.create({ image: task.image, workdir: task.workdir });
    try {
      const err = patch === undefined ? undefined : await applyPatch(s, patch);
      if (err) return `gold patch does not apply: ${err}`;
      return await computeReward(s, task, { timeoutSec });
    } finally {
      await s.close();
    }
  };
  if (task.goldPatch === undefined) return { id: task.id, gold: 0, base: 0, ok: false, detail: "no gold patch", ms: 0 };
  const [gold, base] = await Promise.all([score(task.goldPatch), score(undefined)]);
  const g = typeof gold === "string" ? 0 : gold.reward;
  const b = typeof base === "string" ? 0 : base.reward;
  const why = (r: RewardResult | string) =>
    typeof r === "string" ? r : r.error ?? Object.entries(r.failing).slice(0, 3).map(([k, v]) => `${k}=${v}`).join(", ");
  const detail = g !== 1 ? `gold: ${why(gold)}` : b !== 0 ? "base state already passes every selected test" : "";
  return { id: task.id, gold: g, base: b, ok: g === 1 && b === 0, detail, ms: performance.now() - t };
}

/** Validates tasks, `parallel` at a time, in input order. */
export async function validateTasks(backend: SandboxBackend, tasks: Task[], parallel = 2, onResult?: (v: Validation) => void): Promise<Validation[]> {
  const out: Validation[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      out[i] = await validateTask(backend, tasks[i]).catch((e: Error) => ({ id: tasks[i].id, gold: 0 as const, base: 0 as const, ok: false, detail: e.message, ms: 0 }));
      onResult?.(out[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, parallel) }, worker));
  return out;
}
