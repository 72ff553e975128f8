// `node driver.js score`: a predictions file made by any agent, scored with Troupe's sandboxes
// as SWE-bench's harness scores it: each patch applied in a fresh sandbox of its task's image,
// the hidden tests run and read. Writes the harness's run report and per-instance reports.
import { readFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { scorePatch, type SandboxBackend, type Task } from "../../envs/index.js";
import { instanceReport, runReport, type InstanceReport, type Prediction, type RunReport } from "./harness-report.js";

const PredictionSchema = z.object({
  instance_id: z.string().min(1),
  model_name_or_path: z.string().default(""),
  model_patch: z.string().nullable().transform((p) => p ?? ""),
});

/** A predictions file: JSON lines, or one JSON array (both are what the harness takes). */
export function readPredictions(file: string): Prediction[] {
  const text = readFileSync(file, "utf8");
  const items: { where: string; value: unknown }[] = text.trimStart().startsWith("[")
    ? (JSON.parse(text) as unknown[]).map((value, i) => ({ where: `${file}[${i}]`, value }))
    : text.split("\n").flatMap((line, i) => {
      if (!line.trim()) return [];
      try {
        return [{ where: `${file}:${i + 1}`, value: JSON.parse(line) as unknown }];
      } catch (e) {
        throw new TypeError(`${file}:${i + 1}: not JSON (${(e as Error).message})`);
      }
    });
  return items.map(({ where, value }) => {
    const r = PredictionSchema.safeParse(value);
    if (!r.success) throw new TypeError(`${where}: ${r.error.issues[0].path.join(".") || "(row)"}: ${r.error.issues[0].message}`);
    return r.data;
  });
}

export interface ScoreOptions {
  tasks: Task[];
  predictions: Prediction[];
  backend: SandboxBackend;
  parallel: number;
  /** The folder for report.json and instance_reports.json. */
  out: string;
  timeoutSec?: number;
  /** A Docker network the scoring sandboxes join (see ScoringOptions.network). */
  network?: string;
  /** Each instance's verdict as it comes: resolved, unresolved, empty patch, or an error's reason. */
  onResult?: (id: string, verdict: string) => void;
}

export interface ScoreSummary {
  report: RunReport;
  instances: Record<string, InstanceReport>;
  /** Why an instance could not be scored (the patch did not apply, the tests did not run). */
  errors: Record<string, string>;
  /** Predictions for instances that are not among the tasks. */
  skipped: string[];
}

export async function scorePredictions(o: ScoreOptions): Promise<ScoreSummary> {
  const byId = new Map(o.tasks.map((t) => [t.id, t]));
  const skipped = o.predictions.filter((p) => !byId.has(p.instance_id)).map((p) => p.instance_id);
  const todo = o.predictions.filter((p) => byId.has(p.instance_id) && p.model_patch.trim() !== "");
  const instances: Record<string, InstanceReport> = {};
  const errors: Record<string, string> = {};
  let next = 0;
  await Promise.all(Array.from({ length: Math.max(1, o.parallel) }, async () => {
    while (next < todo.length) {
      const p = todo[next++];
      const task = byId.get(p.instance_id)!;
      const r = await scorePatch(o.backend, task, p.model_patch, { timeoutSec: o.timeoutSec, network: o.network }).catch((e: Error) => `scoring failed: ${e.message}`);
      if (typeof r === "string") errors[p.instance_id] = r;
      else if (r.scoringError) errors[p.instance_id] = r.scoringError;
      else instances[p.instance_id] = instanceReport(task, { patch: p.model_patch, reward: r.reward, tests: r.statuses });
      o.onResult?.(p.instance_id, errors[p.instance_id] ?? (instances[p.instance_id].resolved ? "resolved" : "unresolved"));
    }
  }));
  for (const p of o.predictions) if (byId.has(p.instance_id) && !p.model_patch.trim()) o.onResult?.(p.instance_id, "empty patch");
  // As the harness counts them: every prediction is submitted, among the tasks or not.
  const submitted = new Map(o.predictions.map((p) => [p.instance_id, { prediction: p, report: instances[p.instance_id] }]));
  const report = runReport(o.tasks.map((t) => t.id), submitted);
  mkdirSync(o.out, { recursive: true });
  writeFileSync(join(o.out, "report.json"), JSON.stringify(report, null, 2));
  writeFileSync(join(o.out, "instance_reports.json"), JSON.stringify(instances, null, 2));
  return { report, instances, errors, skipped };
}
