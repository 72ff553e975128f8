// --tasks SPEC: `bundled`, `bundled:train`, `bundled:validation`, a JSONL or Parquet file of
// rows, a task folder (Troupe's or Harbor's), or a folder of task folders.
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { TaskFormatError } from "../errors.js";
import { isTaskFolder, loadTaskFolder } from "./folder.js";
import { isHarborTask, loadHarborTask } from "./harbor.js";
import type { RowOptions } from "./row-formats.js";
import { loadJsonl, loadParquet, type LoadResult } from "./rows.js";
import type { Task } from "./task.js";

/**
 * The project's root: the bundled tasks and the test specifications live in the source tree,
 * beside the code that reads them (dist/envs/tasks/spec.js or envs/tasks/spec.ts -> <root>).
 */
export function projectRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4 && !existsSync(join(d, "package.json")); i++) d = dirname(d);
  return d;
}

export function bundledDir(): string {
  return join(projectRoot(), "envs", "tasks", "bundled");
}

export async function loadTasks(spec: string, opts: RowOptions = {}): Promise<LoadResult> {
  const [name, split] = spec.split(":");
  if (name === "bundled") {
    if (split && split !== "train" && split !== "validation") throw new TaskFormatError(spec, "", "bundled splits are 'train' and 'validation'");
    const r = loadFolderTree(bundledDir());
    return { tasks: split ? r.tasks.filter((t) => t.split === split) : r.tasks, errors: r.errors };
  }
  const path = resolve(spec);
  if (!existsSync(path)) {
    throw new TaskFormatError(spec, "", "no such file or folder (use bundled, bundled:train, bundled:validation, a .jsonl or .parquet file or a task folder)");
  }
  if (statSync(path).isFile()) return path.endsWith(".parquet") ? loadParquet(path, opts) : loadJsonl(path, opts);
  return loadFolderTree(path);
}

/**
 * The tasks of a spec that can run, decided once for every command: a malformed row or folder
 * is skipped and told through `onSkip` (a dataset with one bad row still runs the rest); a spec
 * with no task left fails.
 */
export async function loadUsableTasks(spec: string, onSkip: (e: TaskFormatError) => void, opts: RowOptions = {}): Promise<Task[]> {
  const { tasks, errors } = await loadTasks(spec, opts);
  for (const e of errors) onSkip(e);
  if (tasks.length === 0) throw new TaskFormatError(spec, "", errors.length ? `no usable task (${errors.length} skipped)` : "no task");
  return tasks;
}

/** A task folder, or every task folder below a folder. */
function loadFolderTree(root: string): LoadResult {
  const out: LoadResult = { tasks: [], errors: [] };
  const visit = (d: string) => {
    if (isTaskFolder(d) || isHarborTask(d)) {
      try {
        out.tasks.push(isTaskFolder(d) ? loadTaskFolder(d) : loadHarborTask(d));
      } catch (e) {
        out.errors.push(e as TaskFormatError);
      }
      return;
    }
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      if (statSync(p).isDirectory() && n !== "repo" && !n.startsWith(".")) visit(p);
    }
  };
  visit(root);
  out.tasks.sort((a, b) => a.id.localeCompare(b.id));
  return out;
}
