// `node driver.js eval`: k rollouts of a policy on every task, spread over env actors, with
// pass@1, pass@k and execution-based best-of-k. Writes DIR/results.jsonl (a row per task, as
// soon as its k rollouts are in), DIR/trajectories.jsonl (each as it ends), DIR/traces.jsonl,
// and what SWE-bench's tools read: DIR/predictions.jsonl and DIR/report.json. A crashed
// sandbox or actor marks that trajectory as an error and the evaluation goes on; a crashed
// evaluation continues with `resume`, losing no finished task.
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tokenizerForVocab, type TokenizerName } from "../../llm/index.js";
import { EngineActorClass, parsePolicySpec, type Generator, type PolicySpec, type RolloutActor, type RolloutJob } from "../../actors/index.js";
import { gradeTask, type BackendKind, type Task } from "../../envs/index.js";
import { bestOfK, failed, passAtK, type Trajectory } from "../../rl/index.js";
import { init, stopping, type ActorHandle, type Cluster } from "../../runtime/index.js";
import { progressBar, stderrProgress, type ProgressSink } from "../progress.js";
import { readJsonl } from "../jsonl.js";
import { rolloutSlots, runJobs } from "../rollouts.js";
import { instanceReport, runReport, type InstanceReport, type Prediction } from "./harness-report.js";

export interface EvalOptions {
  tasks: Task[];
  model: string;
  k: number;
  parallel: number;
  out: string;
  backend?: BackendKind;
  cluster?: string;
  /** Embedded cluster: local nodes to spread the env actors over (default 1). */
  nodes?: number;
  temperature?: number;
  maxSteps?: number;
  /** Tokens after the prompt per trajectory (DEEPSWE: 32,768). */
  maxResponseTokens?: number;
  /** Continue the evaluation in `out`: tasks with a row in results.jsonl are not run again. */
  resume?: boolean;
  /** Progress lines (default: stderr). */
  progress?: ProgressSink;
}

export interface TaskRow {
  task_id: string;
  k: number;
  rewards: (number | null)[];
  reward: number;
  pass_at_1: number;
  pass_at_k: number;
  best_of_k: { index: number; reward: number } | null;
  terminations: string[];
  errors: number;
  /** Why the first failed trajectory failed (an error, or tests that did not run). */
  error?: string;
  /** The harness's report on the submitted candidate (best-of-k's), null when none was scored. */
  submitted: InstanceReport | null;
}

export interface EvalSummary {
  tasks: number;
  trajectories: number;
  errors: number;
  pass_at_1: number;
  pass_at_k: number;
  best_of_k: number;
  rows: TaskRow[];
  /** From the first rollout's start to the last one's end (actor start-up excluded). */
  rolloutMs: number;
}

/** The files of an evaluation folder. */
const FILES = { rows: "results.jsonl", trajectories: "trajectories.jsonl", predictions: "predictions.jsonl", report: "report.json" };

export async function runEval(o: EvalOptions): Promise<EvalSummary> {
  const spec = parsePolicySpec(o.model);
  mkdirSync(o.out, { recursive: true });
  const path = (f: string) => join(o.out, f);
  // What a crashed run finished: its rows (the commit mark of a task), the predictions and
  // trajectories of those tasks; the rest is run again.
  const previous = <T>(file: string): T[] => (o.resume ? readJsonl<T>(path(file)) : []);
  const done = previous<TaskRow>(FILES.rows);
  const doneIds = new Set(done.map((r) => r.task_id));
  const predictions = new Map(previous<Prediction>(FILES.predictions).filter((p) => doneIds.has(p.instance_id)).map((p) => [p.instance_id, p]));
  const keptTrajectories = previous<Trajectory>(FILES.trajectories).filter((t) => doneIds.has(t.taskId));
  writeFileSync(path(FILES.rows), done.map((r) => `${JSON.stringify(r)}\n`).join(""));
  writeFileSync(path(FILES.predictions), [...predictions.values()].map((p) => `${JSON.stringify(p)}\n`).join(""));
  writeFileSync(path(FILES.trajectories), keptTrajectories.map((t) => `${JSON.stringify(t)}\n`).join(""));
  const todo = o.tasks.filter((t) => !doneIds.has(t.id));
  const rows = new Map(done.map((r) => [r.task_id, r]));

  const tracesFile = path("traces.jsonl");
  const cluster = await init(o.cluster ? { cluster: o.cluster, tracesFile } : { nodes: o.nodes ?? 1, tracesFile });
  const report = o.progress ?? stderrProgress();
  let rolloutMs = 0;
  try {
    if (todo.length) {
      const engine = spec.kind === "native" ? await cluster.actor(EngineActorClass, [{ checkpoint: spec.dir }], { process: "dedicated" }) : undefined;
      const policy: PolicySpec = spec.kind === "native" ? { kind: "engine", name: o.model } : spec;
      const tokenizer = engine ? tokenizerForVocab((await engine.info()).vocabSize) : "qwen3";
      const slots = await makeSlots(cluster, o, policy, tokenizer, engine);
      const jobs: RolloutJob[] = todo.flatMap((task) => Array.from({ length: o.k }, (_, i) => ({ task, rolloutIndex: i })));
      const byTask = new Map<string, (Trajectory | null)[]>(todo.map((t) => [t.id, Array(o.k).fill(null)]));
      let solved = 0, errors = 0;
      const t0 = Date.now();
      await runJobs(slots, jobs, o.model, (tr, job, n) => {
        // Rollouts cut short by an interruption record nothing: --resume runs their tasks again.
        if (stopping()) return;
        if (failed(tr)) errors++;
        solved += tr.reward;
        const trs = byTask.get(job.task.id)!;
        trs[job.rolloutIndex] = tr;
        appendFileSync(path(FILES.trajectories), `${JSON.stringify(tr)}\n`);
        // A task is written as soon as its k rollouts are in: its prediction, then its row.
        if (trs.every((t) => t !== null)) {
          const { row, prediction } = taskResult(job.task, trs, o.k, o.model);
          if (prediction) appendFileSync(path(FILES.predictions), `${JSON.stringify(prediction)}\n`);
          appendFileSync(path(FILES.rows), `${JSON.stringify(row)}\n`);
          rows.set(row.task_id, row);
          if (prediction) predictions.set(prediction.instance_id, prediction);
        }
        report(progressBar("trajectories", n, jobs.length, t0, `${solved} solved, ${errors} errors`), false);
      });
      rolloutMs = Date.now() - t0;
      report(progressBar("trajectories", jobs.length, jobs.length, t0, `${solved} solved, ${errors} errors`), true);
    }
    const all = o.tasks.map((t) => rows.get(t.id)).filter((r): r is TaskRow => r !== undefined);
    const submitted = new Map([...predictions.values()].map((p) => [p.instance_id, { prediction: p, report: rows.get(p.instance_id)?.submitted ?? undefined }]));
    writeFileSync(path(FILES.report), JSON.stringify(runReport(o.tasks.map((t) => t.id), submitted), null, 2));
    const mean = (f: (r: TaskRow) => number) => (all.length ? all.reduce((a, r) => a + f(r), 0) / all.length : 0);
    return {
      tasks: all.length, trajectories: all.length * o.k, errors: all.reduce((a, r) => a + r.errors, 0),
      pass_at_1: mean((r) => r.pass_at_1), pass_at_k: mean((r) => r.pass_at_k), best_of_k: mean((r) => r.best_of_k?.reward ?? 0), rows: all, rolloutMs,
    };
  } finally {
    await cluster.shutdown();
  }
}

function makeSlots(cluster: Cluster, o: EvalOptions, policy: PolicySpec, tokenizer: TokenizerName, engine?: ActorHandle<Generator>): Promise<ActorHandle<RolloutActor>[]> {
  return rolloutSlots(cluster, o.parallel, { backend: o.backend, maxSteps: o.maxSteps ?? 50 }, () => ({
    policy, engine, tokenizer, limits: { maxResponseTokens: o.maxResponseTokens ?? 32768 }, sampling: { temperature: o.temperature ?? 1, seed: 1 },
  }));
}

/**
 * A task's row and its prediction. The candidate submitted is best-of-k's among those scored;
 * when none was, one whose scoring failed but that left a patch (its report is then missing,
 * and the harness counts it as an error).
 */
function taskResult(task: Task, trs: (Trajectory | null)[], k: number, model: string): { row: TaskRow; prediction?: Prediction } {
  const rewards = trs.map((t) => (failed(t) ? null : t!.reward));
  const c = rewards.filter((r) => r === 1).length;
  const cands = trs.flatMap((t, index) => (!failed(t)
    ? [{ index, reward: t!.reward, regressionPassed: gradeTask(task, t!.tests ?? {}).PASS_TO_PASS.success.length }]
    : []));
  const best = bestOfK(cands);
  const firstFailure = trs.find((t) => failed(t));
  const pick = best ? trs[best.index]! : trs.find((t) => t?.scoringError && t.patch !== undefined);
  const row: TaskRow = {
    task_id: task.id, k, rewards, reward: c / k, pass_at_1: passAtK(k, c, 1), pass_at_k: passAtK(k, c, k),
    best_of_k: best ? { index: best.index, reward: best.reward } : null,
    terminations: trs.map((t) => t?.termination ?? "error"), errors: trs.filter(failed).length,
    ...(firstFailure ? { error: firstFailure.scoringError ?? firstFailure.error ?? "failed" } : {}),
    submitted: best ? instanceReport(task, trs[best.index]!) : null,
  };
  return { row, prediction: pick ? { instance_id: task.id, model_name_or_path: model, model_patch: pick.patch ?? "" } : undefined };
}

/** The terminal table: one line per task and the totals. */
export function summaryTable(s: EvalSummary): string {
  const w = Math.max(4, ...s.rows.map((r) => r.task_id.length));
  const lines = [`${"task".padEnd(w)}  rewards${" ".repeat(Math.max(0, 2 * (s.rows[0]?.k ?? 1) - 7))}  pass@1  pass@k  best-of-k`];
  for (const r of s.rows) {
    const rw = r.rewards.map((x) => (x === null ? "E" : String(x))).join(" ");
    lines.push(`${r.task_id.padEnd(w)}  ${rw.padEnd(Math.max(7, 2 * r.k - 1))}  ${r.pass_at_1.toFixed(2).padStart(6)}  ${r.pass_at_k.toFixed(2).padStart(6)}  ${r.best_of_k ? `${r.best_of_k.reward} (#${r.best_of_k.index})` : "-"}`);
  }
  lines.push(`${s.tasks} tasks, ${s.trajectories} trajectories (${s.errors} errors): pass@1 ${(100 * s.pass_at_1).toFixed(1)}%, pass@k ${(100 * s.pass_at_k).toFixed(1)}%, best-of-k ${(100 * s.best_of_k).toFixed(1)}%`);
  return lines.join("\n");
}
