// A fresh sandbox made into the task's base state: the image as it is, or (SWE-smith) the image
// plus the task's setup patch, committed, so that the agent's diff and the hidden tests' reset
// start from there.
import { TaskSetupError } from "../errors.js";
import { applyPatch } from "../reward/index.js";
import type { Sandbox } from "../sandbox/index.js";
import type { Task } from "./task.js";

export async function setUpTask(sandbox: Sandbox, task: Task): Promise<void> {
  if (!task.setupPatch) return;
  const err = await applyPatch(sandbox, task.setupPatch);
  if (err) throw new TaskSetupError(`task ${task.id}: its setup patch does not apply to ${task.image}: ${err.slice(0, 500)}`);
  const r = await sandbox.exec("git add -A && git -c user.name=troupe -c user.email=troupe@localhost commit -q --no-verify -m 'task base state'", { timeoutSec: 120 });
  if (r.exitCode !== 0) throw new TaskSetupError(`task ${task.id}: committing its base state failed: ${(r.stderr || r.stdout).trim().slice(0, 500)}`);
}
