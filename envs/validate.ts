// validate-tasks: every task's gold patch must score 1 and its untouched repository 0, and the
// lists must say what the base state does (SWE-bench's definition): there, every FAIL_TO_PASS
// test fails and every PASS_TO_PASS test passes.
import { applyPatch, computeReward, gradeTask, type RewardResult } from "./reward/index.js";
import type { Sandbox, SandboxBackend } from "./sandbox/index.js";
import { setUpTask, type Task } from "./tasks/index.js";

export interface Validation {
  id: string;
  gold: 0 | 1;
  base: 0 | 1;
  ok: boolean;
  detail: string;
  ms: number;
}

/**
 * A patch scored as the harness scores a prediction: a fresh sandbox of the task's image, the
 * patch applied (none: the base state) or the task's solution script run, the hidden tests
 * run. A string says why the patch could not be applied or the solution failed.
 */
export interface ScoringOptions {
  /** Time limit of the tests, where the task sets none (default 300 s). */
  timeoutSec?: number;
  /**
   * A Docker network the scoring sandbox joins, as the harness's containers have network (some
   * install steps need a package index). No agent acts in a scoring sandbox, but the scored
   * patch's code and tests run there with that network's reach: the risk its user takes.
   */
  network?: string;
  /** Run this solution script instead of applying a patch. */
  solution?: Task["solution"];
}

export async function scorePatch(backend: SandboxBackend, task: Task, patch: string | undefined, opts: ScoringOptions = {}): Promise<RewardResult | string> {
  const s = await backend.create({ image: task.image, workdir: task.workdir, network: opts.network });
  try {
    const state = await setUpTask(s, task);
    const { solution } = opts;
    const err = solution ? await runSolution(s, solution) : patch === undefined ? undefined : await applyPatch(s, patch);
    if (err) return solution ? err : `the patch does not apply: ${err}`;
    return await computeReward(s, task, { timeoutSec: opts.timeoutSec, state });
  } finally {
    await s.close();
  }
}

/** Runs a solution script (its files written first); returns why it failed, or undefined. */
async function runSolution(s: Sandbox, solution: NonNullable<Task["solution"]>): Promise<string | undefined> {
  for (const [path, b64] of Object.entries(solution.files)) await s.writeFile(path, Buffer.from(b64, "base64"));
  const r = await s.exec(solution.command, { timeoutSec: 600 });
  return r.exitCode === 0 ? undefined : `the solution (${solution.command}) failed: exit ${r.exitCode}: ${(r.stderr || r.stdout).trim().split("\n").slice(-1)[0]}`;
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
  return { id: task.id, gold: g, base: b, ok: !notRun && g === 1 && b === 0 && !listed, detail, ms: performance.now() - t };
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
