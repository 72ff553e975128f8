// `node driver.js view RUN_DIR`: a run or an evaluation as one self-contained HTML page.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadRun } from "./load.js";
import { viewHtml } from "./page.js";

export { loadRun, turnsOf, type Turn, type ViewData, type ViewTrajectory } from "./load.js";
export { viewHtml } from "./page.js";

/** Writes RUN_DIR's page (default RUN_DIR/view.html); returns where, and what it holds. */
export function writeView(dir: string, out = join(dir, "view.html")): { out: string; trajectories: number; tasks: number; steps: number } {
  const data = loadRun(dir);
  writeFileSync(out, viewHtml(data));
  const tasks = new Set([...data.trajectories.map((t) => t.task), ...data.results.map((r) => r.task_id)]).size;
  return { out, trajectories: data.trajectories.length, tasks, steps: data.metrics.length };
}
