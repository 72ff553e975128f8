// Grading a status map as SWE-bench's harness grades it. A FAIL_TO_PASS test succeeds only
// when it passed (or failed as expected); a PASS_TO_PASS test is also kept when skipped (a skip
// is no regression); a test absent from the log, failed, errored, or (FAIL_TO_PASS) skipped is a
// failure. A test whose status is none of these counts on neither side, as in the harness.
import type { Task } from "../tasks/index.js";
import { PASSING, type StatusMap } from "./statuses.js";

export interface Outcome {
  success: string[];
  failure: string[];
}

export interface Outcomes {
  FAIL_TO_PASS: Outcome;
  PASS_TO_PASS: Outcome;
}

/**
 * The log's key for a listed id. Exact, except for ids cut inside a pytest parameter (the
 * datasets hold hundreds, e.g. `test_x[log(photon`): those match the ids they begin, when all
 * of those agree on pass or fail.
 */
function resolveId(id: string, sm: StatusMap): string | undefined {
  if (id in sm) return id;
  if (id.split("[").length <= id.split("]").length) return undefined;
  const matches = Object.keys(sm).filter((k) => k.startsWith(id));
  return matches.length && new Set(matches.map((k) => PASSING.has(sm[k]))).size === 1 ? matches[0] : undefined;
}

function grade(ids: string[], sm: StatusMap, skipKeeps: boolean, passedOnly: boolean): Outcome {
  const out: Outcome = { success: [], failure: [] };
  for (const id of ids) {
    if (passedOnly) {
      (sm[id] === "PASSED" ? out.success : out.failure).push(id);
      continue;
    }
    const key = resolveId(id, sm);
    const status = key === undefined ? undefined : sm[key];
    if (status !== undefined && (PASSING.has(status) || (skipKeeps && status === "SKIPPED"))) out.success.push(id);
    else if (status === undefined || status === "FAILED" || status === "ERROR" || status === "SKIPPED") out.failure.push(id);
  }
  return out;
}

/** `passedOnly`: SWE-bench Pro's rule, under which a listed test passes only with the status PASSED. */
export function gradeTests(failToPass: string[], passToPass: string[], sm: StatusMap, passedOnly = false): Outcomes {
  return { FAIL_TO_PASS: grade(failToPass, sm, false, passedOnly), PASS_TO_PASS: grade(passToPass, sm, true, passedOnly) };
}

/** A task's listed tests graded by the task's own rule. */
export function gradeTask(task: Pick<Task, "failToPass" | "passToPass" | "passRule">, sm: StatusMap): Outcomes {
  return gradeTests(task.failToPass, task.passToPass, sm, task.passRule === "passed-only");
}

/** Resolved: no listed test failed (SWE-bench's RESOLVED_FULL). */
export function isResolved(o: Outcomes): boolean {
  return o.FAIL_TO_PASS.failure.length === 0 && o.PASS_TO_PASS.failure.length === 0;
}

/** Each failed listed test with what the log said of it (MISSING when nothing). */
export function failures(o: Outcomes, sm: StatusMap): Record<string, string> {
  const out: Record<string, string> = {};
  for (const id of [...o.FAIL_TO_PASS.failure, ...o.PASS_TO_PASS.failure]) {
    const key = resolveId(id, sm);
    out[id] = key === undefined ? "MISSING" : sm[key];
  }
  return out;
}
