// A fresh sandbox made into the task's base state: the image as it is, or (SWE-smith) the image
// plus the task's setup patch, committed, so that the agent's diff and the hidden tests' reset
// start from there; paths the agent must not see taken out and kept here, outside the sandbox
// (a root shell inside could read anything left in it).
import { TaskSetupError } from "../errors.js";
import { applyPatch } from "../reward/index.js";
import { shellQuote, type Sandbox } from "../sandbox/index.js";
import type { Task } from "./task.js";

/** What a sandbox's set-up took out of it, to be put back for the tests. */
export interface TaskState {
  /** The hidden paths that existed, as a gzipped tar (base64), relative to /. */
  hidden?: string;
}

const HIDDEN_BYTES = 256 * 1024 * 1024;

export async function setUpTask(sandbox: Sandbox, task: Task): Promise<TaskState> {
  const fail = (what: string, r: { stdout: string; stderr: string }) => {
    throw new TaskSetupError(`task ${task.id}: ${what}: ${(r.stderr || r.stdout).trim().slice(0, 500)}`);
  };
  if (task.setupPatch) {
    const err = await applyPatch(sandbox, task.setupPatch);
    if (err) throw new TaskSetupError(`task ${task.id}: its setup patch does not apply to ${task.image}: ${err.slice(0, 500)}`);
    const r = await sandbox.exec("git add -A && git -c user.name=troupe -c user.email=troupe@localhost commit -q --no-verify -m 'task base state'", { timeoutSec: 120 });
    if (r.exitCode !== 0) fail("committing its base state failed", r);
  }
  if (task.ignorePaths?.length) {
    const r = await sandbox.exec(`printf '%s\\n' ${task.ignorePaths.map(shellQuote).join(" ")} >> .git/info/exclude`, { timeoutSec: 30 });
    if (r.exitCode !== 0) fail("excluding paths from its diff failed", r);
  }
  if (!task.hiddenPaths?.length) return {};
  const rel = task.hiddenPaths.map((p) => shellQuote(p.replace(/^\/+/, "")));
  // Only the paths this image has; none at all is no error (nothing to hide).
  const r = await sandbox.exec(
    `cd / && set -- && for p in ${rel.join(" ")}; do [ -e "$p" ] && set -- "$@" "$p"; done; ` +
    `[ $# -eq 0 ] || { tar -czf - "$@" | base64 -w0 && rm -rf "$@"; }`,
    { timeoutSec: 300, maxOutputBytes: HIDDEN_BYTES },
  );
  if (r.exitCode !== 0) fail("taking its hidden paths out failed", r);
  return r.stdout.trim() ? { hidden: r.stdout.trim() } : {};
}

/** Puts back what `setUpTask` took out. Returns why it could not, or undefined. */
export async function restoreHidden(sandbox: Sandbox, state: TaskState | undefined): Promise<string | undefined> {
  if (!state?.hidden) return undefined;
  const file = "/tmp/.troupe/hidden.tgz";
  await sandbox.writeFile(file, Buffer.from(state.hidden, "base64"));
  const r = await sandbox.exec(`tar -C / -xzf ${file} && rm -f ${file}`, { timeoutSec: 300 });
  return r.exitCode === 0 ? undefined : `the hidden tests could not be put back: ${(r.stderr || r.stdout).trim().slice(0, 500)}`;
}
