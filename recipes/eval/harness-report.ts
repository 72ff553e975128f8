// What SWE-bench's tools read, written beside Troupe's own files: `predictions.jsonl` (one
// line per instance: instance_id, model_name_or_path, model_patch) and the run report of
// `swebench.harness.run_evaluation` (schema_version 2: counts and sorted id lists), with each
// instance's report in the harness's per-instance shape (resolved, and the FAIL_TO_PASS /
// PASS_TO_PASS tests that succeeded and failed).
import { gradeTask, type Outcome, type Task } from "../../envs/index.js";
import type { Trajectory } from "../../rl/index.js";

export interface Prediction {
  instance_id: string;
  model_name_or_path: string;
  model_patch: string;
}


export interface InstanceReport {
  patch_is_None: boolean;
  patch_exists: boolean;
  patch_successfully_applied: boolean;
  resolved: boolean;
  tests_status: { FAIL_TO_PASS: Outcome; PASS_TO_PASS: Outcome; FAIL_TO_FAIL: Outcome; PASS_TO_FAIL: Outcome };
}

export interface RunReport {
  total_instances: number;
  submitted_instances: number;
  completed_instances: number;
  resolved_instances: number;
  unresolved_instances: number;
  empty_patch_instances: number;
  error_instances: number;
  completed_ids: string[];
  incomplete_ids: string[];
  empty_patch_ids: string[];
  submitted_ids: string[];
  resolved_ids: string[];
  unresolved_ids: string[];
  error_ids: string[];
  schema_version: 2;
}

/** What a verdict needs of a candidate (a trajectory, or a scored prediction). */
export type Scored = Pick<Trajectory, "patch" | "reward" | "tests">;

/** The harness's verdict on one candidate: its patch, and each selected test's outcome. */
export function instanceReport(task: Task, t: Scored): InstanceReport {
  const graded = gradeTask(task, t.tests ?? {});
  const patch = t.patch ?? "";
  return {
    patch_is_None: t.patch === undefined,
    patch_exists: patch.trim() !== "",
    // Troupe's patch is the sandbox's own diff: it applied by construction.
    patch_successfully_applied: patch.trim() !== "",
    resolved: t.reward === 1,
    tests_status: { ...graded, FAIL_TO_FAIL: { success: [], failure: [] }, PASS_TO_FAIL: { success: [], failure: [] } },
  };
}

/**
 * The run report over every task of the evaluation: a task without a submitted candidate is
 * incomplete, an empty patch is counted apart, a candidate whose scoring failed is an error.
 */
export function runReport(taskIds: string[], submitted: Map<string, { prediction: Prediction; report?: InstanceReport }>): RunReport {
  const ids = (f: (id: string) => boolean) => taskIds.filter(f).sort();
  const has = (id: string) => submitted.has(id);
  const empty = (id: string) => has(id) && submitted.get(id)!.prediction.model_patch.trim() === "";
  const scored = (id: string) => has(id) && !empty(id) && submitted.get(id)!.report !== undefined;
  const resolved = ids((id) => scored(id) && submitted.get(id)!.report!.resolved);
  const unresolved = ids((id) => scored(id) && !submitted.get(id)!.report!.resolved);
  const errors = ids((id) => has(id) && !empty(id) && !scored(id));
  const emptyIds = ids(empty);
  const completed = ids(scored);
  return {
    total_instances: taskIds.length,
    submitted_instances: submitted.size,
    completed_instances: completed.length,
    resolved_instances: resolved.length,
    unresolved_instances: unresolved.length,
    empty_patch_instances: emptyIds.length,
    error_instances: errors.length,
    completed_ids: completed,
    incomplete_ids: ids((id) => !has(id)),
    empty_patch_ids: emptyIds,
    submitted_ids: [...submitted.keys()].sort(),
    resolved_ids: resolved,
    unresolved_ids: unresolved,
    error_ids: errors,
    schema_version: 2,
  };
}
