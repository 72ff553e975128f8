// Local task folders: task.json beside the problem statement, the gold and test patches and
// (or pointing at) the repository. The task's image is named after a hash of everything it is
// built from, so `images build` rebuilds only what changed.
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { z } from "zod";
import { TaskFormatError } from "../errors.js";
import { baseImageTag } from "./base-image.js";
import type { Task } from "./task.js";

export const TaskJson = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9_.-]*$/, "lowercase letters, digits, '.', '_' and '-' only"),
  split: z.string().optional(),
  repo: z.string().default("repo"),
  base_patch: z.string().optional(),
  problem_statement: z.string().default("problem.md"),
  gold_patch: z.string().default("gold.patch"),
  test_patch: z.string().default("test.patch"),
  FAIL_TO_PASS: z.array(z.string()).min(1),
  PASS_TO_PASS: z.array(z.string()),
  test_command: z.string().min(1),
  test_format: z.enum(["pytest", "unittest"]).default("pytest"),
  workdir: z.string().default("/testbed"),
}).strict();

/** True when `dir` is a task folder (has task.json). */
export function isTaskFolder(dir: string): boolean {
  return existsSync(join(dir, "task.json"));
}

export function loadTaskFolder(dir: string): Task {
  const file = join(dir, "task.json");
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new TaskFormatError(file, "", (e as Error).message);
  }
  const p = TaskJson.safeParse(raw);
  if (!p.success) {
    const issue = p.error.issues[0];
    throw new TaskFormatError(file, issue.path.join("."), issue.message);
  }
  const j = p.data;
  const text = (field: string, name: string): string => {
    try {
      return readFileSync(join(dir, name), "utf8");
    } catch {
      throw new TaskFormatError(file, field, `file ${join(dir, name)} is missing`);
    }
  };
  const repoDir = resolve(dir, j.repo);
  if (!existsSync(repoDir) || !statSync(repoDir).isDirectory()) throw new TaskFormatError(file, "repo", `folder ${repoDir} is missing`);
  const basePatch = j.base_patch ? text("base_patch", j.base_patch) : undefined;
  const base = baseImageTag();
  const hash = createHash("sha256").update(base).update("\0").update(basePatch ?? "");
  for (const f of listFiles(repoDir)) hash.update("\0").update(f).update("\0").update(readFileSync(join(repoDir, f)));
  return {
    id: j.id,
    image: `troupe-task-${j.id}:${hash.digest("hex").slice(0, 16)}`,
    problemStatement: text("problem_statement", j.problem_statement),
    workdir: j.workdir,
    goldPatch: text("gold_patch", j.gold_patch),
    testPatch: text("test_patch", j.test_patch),
    failToPass: j.FAIL_TO_PASS,
    passToPass: j.PASS_TO_PASS,
    testCommand: j.test_command,
    testFormat: j.test_format,
    split: j.split,
    folder: { dir, repoDir, basePatch, baseImage: base },
  };
}

/** Files under a folder, sorted, relative, skipping caches and VCS folders. */
export function listFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      if (name === ".git" || name === "__pycache__" || name === ".pytest_cache") continue;
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(root, p));
    }
  };
  walk(root);
  return out;
}
