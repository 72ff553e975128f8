// Reproduction tests (DEEPSWE.md, test-time scaling): a script written from the issue alone,
// meant to exit 0 once the issue is fixed and fail while it is there, run against a candidate
// as the hidden tests are: a fresh sandbox of the task, the candidate's source change applied
// (scoring's rules: applyCandidate), then the script from the repository's folder.
import { shellQuote } from "./sandbox/index.js";
import { applyCandidate, type SandboxSource } from "./score.js";
import { setUpTask, type Task } from "./tasks/index.js";

export interface ReproResult {
  passed: boolean;
  /** The script's exit code (null: it ran out of time), and its last output line. */
  exitCode: number | null;
  detail: string;
}

/** Where the script goes: outside the repository, so that no diff or test run sees it. */
const SCRIPT = "/tmp/troupe_reproduce_issue.py";

/**
 * Runs a reproduction script against `patch` (undefined: the base state, where a script that
 * reproduces the issue must fail). A patch that does not apply fails every script.
 */
export async function runRepro(source: SandboxSource, task: Task, patch: string | undefined, script: string, opts: { timeoutSec?: number } = {}): Promise<ReproResult> {
  const s = await source.create({ image: task.image, workdir: task.workdir });
  try {
    await setUpTask(s, task);
    if (patch !== undefined) {
      const applied = await applyCandidate(s, task, patch);
      if (typeof applied === "string") return { passed: false, exitCode: null, detail: applied };
    }
    await s.writeFile(SCRIPT, Buffer.from(script));
    const python = `$(command -v python || command -v python3)`;
    const r = await s.exec(`cd ${shellQuote(task.workdir)} && ${python} ${SCRIPT}`, { timeoutSec: opts.timeoutSec ?? 120 });
    const last = (r.stderr.trim() || r.stdout.trim()).split("\n").at(-1) ?? "";
    return { passed: !r.timedOut && r.exitCode === 0, exitCode: r.timedOut ? null : r.exitCode, detail: last.slice(0, 300) };
  } finally {
    await s.close();
  }
}
