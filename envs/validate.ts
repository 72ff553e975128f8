// validate-tasks: every task's gold patch must score 1 and its untouched repository 0, and the
// lists must say what the base state does (SWE-bench's definition): there, every FAIL_TO_PASS
// test fails and every PASS_TO_PASS test passes.
import { gradeTask, patchFiles, sourcePatch, type RewardResult } from "./reward/index.js";
import type { SandboxBackend } from "./sandbox/index.js";
import { scorePatch, type ScoringOptions } from "./score.js";
import type { Task } from "./tasks/index.js";

export interface Validation {
  id: string;
  gold: 0 | 1;
  base: 0 | 1;
  ok: boolean;
  detail: string;
  /** The gold patch changes test infrastructure, whose changes never count (see reward/source-patch.ts). */
  warning?: string;
  ms: number;
}

export async function validateTask(backend: SandboxBackend, task: Task, opts: ScoringOptions = {}): Promise<Validation> {
  const t = performance.now();
  const score = (patch: string | undefined) => scorePatch(backend, task, patch, opts);
  if (task.goldPatch === undefined && !task.solution) return { id: task.id, gold: 0, base: 0, ok: false, detail: "no gold patch or solution", ms: 0 };
  const gold$ = task.goldPatch !== undefined ? score(task.goldPatch) : scorePatch(backend, task, undefined, { ...opts, solution: task.solution });
  const [gold, base] = await Promise.all([gold$, score(undefined)]);
  const g = typeof gold === "string" ? 0 : gold.reward;
  const b = typeof base === "string" ? 0 : base.reward;
  const why = (r: RewardResult | string) =>
    typeof r === "string" ? r : r.error ?? Object.entries(r.failing).slice(0, 3).map(([k, v]) => `${k}=${v}`).join(", ");
  // R2E-Gym lists no FAIL_TO_PASS tests: its expected statuses are the whole check.
  const listed = typeof base === "string" || task.expectedStatuses ? "" : baseMismatch(task, base);
  // A base that "scores 0" because its tests never ran proves nothing: say so.
  const notRun = [gold, base].map((r) => (typeof r === "string" ? undefined : r.scoringError)).find(Boolean);
  const detail = notRun ? `the tests did not run: ${notRun}` : g !== 1 ? `gold: ${why(gold)}` : b !== 0 ? "base state already passes every selected test" : listed;
  const infra = task.goldPatch ? sourcePatch(task.goldPatch, patchFiles(task.testPatch)).dropped : [];
  const warning = infra.length ? `the gold patch changes test infrastructure, which never counts: ${infra.join(", ")}` : undefined;
  return { id: task.id, gold: g, base: b, ok: !notRun && g === 1 && b === 0 && !listed, detail, ...(warning ? { warning } : {}), ms: performance.now() - t };
}

/** A FAIL_TO_PASS test that passes at base, or a PASS_TO_PASS test that does not. */
function baseMismatch(task: Task, base: RewardResult): string {
  const graded = gradeTask(task, base.statuses);
  const f2p = graded.FAIL_TO_PASS.success;
  if (f2p.length) return `base: FAIL_TO_PASS already passes: ${f2p.slice(0, 3).join(", ")}`;
  const p2p = graded.PASS_TO_PASS.failure;
  if (p2p.length) return `base: PASS_TO_PASS fails: ${p2p.slice(0, 3).map((id) => `${id}=${base.statuses[id] ?? "MISSING"}`).join(", ")}`;
  return "";
}

/** Validates tasks, `parallel` at a time, in input order. */
export async function validateTasks(backend: SandboxBackend, tasks: Task[], parallel = 2, onResult?: (v: Validation) => void, opts: ScoringOptions = {}): Promise<Validation[]> {
  const out: Validation[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      out[i] = await validateTask(backend, tasks[i], opts).catch((e: Error) => ({ id: tasks[i].id, gold: 0 as const, base: 0 as const, ok: false, detail: e.message, ms: 0 }));
      onResult?.(out[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, parallel) }, worker));
  return out;
}
