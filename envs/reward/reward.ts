// The reward: put the hidden tests back (the task's test patch, applied now so that the agent
// never saw or changed them), run the task's test command under a time limit, read per-test
// statuses from its log, and grade them as SWE-bench's harness does (grading.ts), or as
// R2E-Gym does (every expected status, exactly).
import type { Sandbox } from "../sandbox/index.js";
import { shellQuote } from "../sandbox/index.js";
import { installNeeded, restoreHidden, type Task, type TaskState } from "../tasks/index.js";
import { failures, gradeTask, isResolved, type Outcomes } from "./grading.js";
import { verdictSection } from "./log-guard.js";
import { parseTestOutput } from "./parse.js";
import { r2eName } from "./parse-pytest.js";
import type { StatusMap } from "./statuses.js";

export interface RewardOptions {
  /** What the sandbox's set-up took out (hidden tests), put back before the tests run. */
  state?: TaskState;
  /** Time limit for the test command (DeepSWE: 5 minutes). */
  timeoutSec?: number;
  /** Characters of test output kept in the result. */
  tailChars?: number;
}

export interface RewardResult {
  reward: 0 | 1;
  /** Status of every test the run reported. */
  statuses: StatusMap;
  /** SWE-bench grading of the listed tests (not for R2E-Gym's exact match). */
  outcomes?: Outcomes;
  /** FAIL_TO_PASS / PASS_TO_PASS tests that did not pass (missing ones included, as "MISSING"). */
  failing: Record<string, string>;
  timedOut: boolean;
  exitCode: number;
  /** Why the reward is 0 when no test said so (patch did not apply, timeout, …). */
  error?: string;
  /**
   * The scoring itself failed: the test command did not start or printed nothing a parser
   * recognises. The 0 then says nothing of the patch; callers report it as an error.
   */
  scoringError?: string;
  /** The repository's diff as the agent left it, before the hidden tests were put back. */
  patch?: string;
  /** Files whose changes did not count: test infrastructure (see source-patch.ts). */
  dropped?: string[];
  outputTail: string;
  durationMs: number;
  /** The verdict given before to the same patch of the same task (SWEEnvOptions.memoizeRewards). */
  memoized?: boolean;
}

const TEST_OUTPUT_BYTES = 16 * 1024 * 1024;

/** Applies a patch (unified diff) in the sandbox's workdir; returns git's complaint or undefined. */
export async function applyPatch(sandbox: Sandbox, patch: string): Promise<string | undefined> {
  if (!patch.trim()) return undefined;
  const file = "/tmp/.troupe/apply.patch";
  await sandbox.writeFile(file, patch.endsWith("\n") ? patch : `${patch}\n`);
  const r = await sandbox.exec(`git apply --whitespace=nowarn ${file}`, { timeoutSec: 120 });
  return r.exitCode === 0 ? undefined : (r.stderr || r.stdout).trim();
}

/** Files a unified diff touches (its `+++ b/…` and `--- a/…` paths). */
export function patchFiles(patch: string): string[] {
  const files = new Set<string>();
  for (const m of patch.matchAll(/^(?:\+\+\+|---) (?:[ab]\/)?(\S+)/gm)) if (m[1] !== "/dev/null") files.add(m[1]);
  return [...files];
}

export async function computeReward(sandbox: Sandbox, task: Task, opts: RewardOptions = {}): Promise<RewardResult> {
  const started = performance.now();
  const tailChars = opts.tailChars ?? 4000;
  const timeoutSec = task.testTimeoutSec ?? opts.timeoutSec ?? 300;
  const zero = (error: string, out = ""): RewardResult => ({
    reward: 0, statuses: {}, failing: {}, timedOut: false, exitCode: -1, error,
    outputTail: out.slice(-tailChars), durationMs: performance.now() - started,
  });
  // The agent's final patch: what a predictions file carries (taken before the hidden tests
  // change the tree).
  const patch = await sandbox.diff().catch(() => undefined);
  if (task.install && installNeeded(task.install.step, patchFiles(patch ?? ""))) {
    const r = await sandbox.exec(task.install.command, { timeoutSec, maxOutputBytes: TEST_OUTPUT_BYTES });
    if (r.exitCode !== 0 || r.timedOut) {
      const why = `the install step \`${task.install.step}\` failed (${r.timedOut ? `past ${timeoutSec} s` : `exit ${r.exitCode}: ${lastLine(r.stdout + r.stderr)}`}); an install that needs the network cannot run offline (score and validate-tasks take --network NAME)`;
      return { ...zero(why, r.stdout + r.stderr), scoringError: why, patch };
    }
  }
  if (task.testPatch.trim()) {
    const restored = await restoreTestFiles(sandbox, task);
    if (restored) return { ...zero(restored), patch };
  }
  const unhidden = await restoreHidden(sandbox, opts.state);
  if (unhidden) return { ...zero(unhidden), scoringError: unhidden, patch };
  for (const [path, b64] of Object.entries(task.testFiles ?? {})) await sandbox.writeFile(path, Buffer.from(b64, "base64"));
  const r = await sandbox.exec(task.testCommand, { timeoutSec, maxOutputBytes: TEST_OUTPUT_BYTES });
  const output = `${r.stdout}${r.stderr ? `\n${r.stderr}` : ""}`;
  if (r.timedOut) return { ...zero(`the tests ran past ${timeoutSec} s`, output), timedOut: true, exitCode: r.exitCode, patch };
  // Only the runner's own verdict block is read: output the code under test prints cannot forge it.
  const verdict = verdictSection(output, task.testFormat);
  if ("forged" in verdict) return { ...zero(verdict.forged, output), exitCode: r.exitCode, patch };
  const statuses = parseTestOutput(verdict.log, task.testFormat);
  const notRun = testsDidNotRun(r.exitCode, output, statuses);
  if (notRun) return { ...zero(notRun, output), scoringError: notRun, exitCode: r.exitCode, patch };
  const result = { statuses, timedOut: false, exitCode: r.exitCode, patch, outputTail: output.slice(-tailChars), durationMs: performance.now() - started };
  if (task.expectedStatuses) {
    const failing = exactMismatches(statuses, task.expectedStatuses);
    return { ...result, reward: Object.keys(failing).length === 0 ? 1 : 0, failing };
  }
  // A run that exits non-zero yet reports no failure is not the run the log describes (the
  // harness refuses such a log too). The code under test did this: a 0, not a scoring error,
  // or a policy could escape a bad advantage by making the test process exit badly.
  if (r.exitCode !== 0 && !Object.values(statuses).some((s) => s === "FAILED" || s === "ERROR")) {
    const why = `the test command exited ${r.exitCode} but its log reports no failure: the log does not describe the run`;
    return { ...zero(why, output), exitCode: r.exitCode, patch };
  }
  const outcomes = gradeTask(task, statuses);
  const selected = task.failToPass.length + task.passToPass.length;
  return {
    ...result,
    reward: selected > 0 && isResolved(outcomes) ? 1 : 0,
    failing: failures(outcomes, statuses),
    outcomes,
    error: selected === 0 ? "the task selects no tests" : undefined,
  };
}

/**
 * R2E-Gym's rule: the run must report exactly the expected tests with exactly their statuses.
 * Each difference: an expected test's actual status (or MISSING), or a test nobody expected.
 */
function exactMismatches(got: StatusMap, expected: Record<string, string>): Record<string, string> {
  const want = new Map(Object.entries(expected).map(([k, v]) => [r2eName(k), v]));
  const out: Record<string, string> = {};
  for (const [k, v] of want) if (got[k] !== v) out[k] = got[k] ?? "MISSING";
  for (const [k, v] of Object.entries(got)) if (!want.has(k)) out[k] = `unexpected ${v}`;
  return out;
}

function lastLine(output: string): string {
  return output.trim().split("\n").slice(-1)[0]?.slice(0, 200) ?? "";
}

/**
 * Why the test command's run cannot be scored, or undefined: the shell could not find or
 * execute it (126, 127), or it printed no line the reader recognises. A test suite that ran
 * and failed still reports its tests; one that never started must not read as "all failed".
 */
function testsDidNotRun(exitCode: number, output: string, statuses: StatusMap): string | undefined {
  const last = lastLine(output);
  if (exitCode === 127) return `the test command was not found (exit 127: ${last})`;
  if (exitCode === 126) return `the test command could not be executed (exit 126: ${last})`;
  if (Object.keys(statuses).length === 0) return `the test command printed no test result the parser recognises (exit ${exitCode}${last ? `: ${last}` : ""})`;
  return undefined;
}

/** Puts the test files back to their base state, then applies the test patch. Returns an error or undefined. */
async function restoreTestFiles(sandbox: Sandbox, task: Task): Promise<string | undefined> {
  const base = task.baseCommit ?? "HEAD";
  const resets = patchFiles(task.testPatch).map((f) => {
    const q = shellQuote(f);
    // Tracked at base: check it out again; new in the test patch: remove whatever the agent put there.
    return `if git cat-file -e ${shellQuote(`${base}:${f}`)} 2>/dev/null; then git checkout -q ${shellQuote(base)} -- ${q}; else rm -rf -- ${q}; fi`;
  });
  const reset = await sandbox.exec(resets.join(" && "), { timeoutSec: 120 });
  if (reset.exitCode !== 0) return `the test files could not be reset: ${(reset.stderr || reset.stdout).trim().slice(0, 500)}`;
  const err = await applyPatch(sandbox, task.testPatch);
  return err ? `the test patch did not apply: ${err.slice(0, 500)}` : undefined;
}
