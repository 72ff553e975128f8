// A candidate scored as SWE-bench scores a prediction: a fresh sandbox of the task's image, the
// candidate's change to the repository's source applied — and nothing else: what the agent did
// outside the repository stays in its own sandbox, and its changes to test infrastructure are
// dropped (reward/source-patch.ts) — then the hidden tests run and read.
import { applyPatch, CONFIG_WITH_PYTEST, computeReward, patchFiles, pytestSectionsDiffer, sourcePatch, type RewardResult } from "./reward/index.js";
import { shellQuote, type Sandbox, type SandboxSpec } from "./sandbox/index.js";
import { setUpTask, type Task } from "./tasks/index.js";

/** Where fresh sandboxes come from: a backend, or a warm pool (see SWEEnv). */
export interface SandboxSource {
  create(spec: SandboxSpec): Promise<Sandbox>;
}

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

/**
 * Scores `patch` (none: the base state) or the options' solution script in a fresh sandbox. A
 * string says why the patch could not be applied or the solution failed. The result's `patch`
 * is the candidate as given; `dropped` names the files whose changes did not count.
 */
export async function scorePatch(source: SandboxSource, task: Task, patch: string | undefined, opts: ScoringOptions = {}): Promise<RewardResult | string> {
  const s = await source.create({ image: task.image, workdir: task.workdir, network: opts.network });
  try {
    const state = await setUpTask(s, task);
    let dropped: string[] = [];
    if (opts.solution) {
      const err = await runSolution(s, opts.solution);
      if (err) return err;
    } else if (patch !== undefined) {
      const applied = await applyCandidate(s, task, patch);
      if (typeof applied === "string") return applied;
      dropped = applied;
    }
    const r = await computeReward(s, task, { timeoutSec: opts.timeoutSec, state });
    return { ...r, ...(patch !== undefined ? { patch } : {}), ...(dropped.length ? { dropped } : {}) };
  } finally {
    await s.close();
  }
}

/**
 * A candidate's change to the repository's source, applied to a set-up sandbox: its changes to
 * test infrastructure dropped; the files dropped, or why it does not apply.
 */
export async function applyCandidate(s: Sandbox, task: Task, patch: string): Promise<string[] | string> {
  const src = sourcePatch(patch, patchFiles(task.testPatch));
  const err = await applyPatch(s, src.patch);
  if (err) return `the patch does not apply: ${err}`;
  return [...src.dropped, ...await revertPytestConfig(s, patchFiles(src.patch))];
}

/** Puts back setup.cfg / pyproject.toml where the patch changed their pytest sections; returns those files. */
async function revertPytestConfig(s: Sandbox, changed: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const f of changed.filter((p) => CONFIG_WITH_PYTEST.includes(p.split("/").at(-1)!))) {
    const q = shellQuote(f);
    const before = await s.exec(`git show HEAD:${q}`, { timeoutSec: 30 });
    const after = await s.exec(`cat ${q}`, { timeoutSec: 30 });
    if (!pytestSectionsDiffer(f, before.exitCode === 0 ? before.stdout : undefined, after.exitCode === 0 ? after.stdout : undefined)) continue;
    await s.exec(before.exitCode === 0 ? `git checkout -q HEAD -- ${q}` : `rm -f ${q}`, { timeoutSec: 30 });
    out.push(f);
  }
  return out;
}

/** Runs a solution script (its files written first); returns why it failed, or undefined. */
async function runSolution(s: Sandbox, solution: NonNullable<Task["solution"]>): Promise<string | undefined> {
  for (const [path, b64] of Object.entries(solution.files)) await s.writeFile(path, Buffer.from(b64, "base64"));
  const r = await s.exec(solution.command, { timeoutSec: 600 });
  return r.exitCode === 0 ? undefined : `the solution (${solution.command}) failed: exit ${r.exitCode}: ${(r.stderr || r.stdout).trim().split("\n").slice(-1)[0]}`;
}
