// `node driver.js eval`: k rollouts of a policy on every task, spread over env actors, with
// pass@1, pass@k and execution-based best-of-k. Writes DIR/results.jsonl (a row per task),
// DIR/trajectories.jsonl and DIR/traces.jsonl. A crashed sandbox or actor marks that
// trajectory as an error and the evaluation goes on.
import { mkdirSync, createWriteStream, type WriteStream } from "node:fs";
import { join } from "node:path";
import { EngineActorClass, parsePolicySpec, type EngineActor, type PolicySpec, type RolloutActor, type RolloutJob } from "../../actors/index.js";
import type { BackendKind, Task } from "../../envs/index.js";
import { bestOfK, passAtK, type Trajectory } from "../../rl/index.js";
import { init, type ActorHandle, type Cluster } from "../../runtime/index.js";
import { progressBar, stderrProgress, type ProgressSink } from "../progress.js";
import { rolloutSlots, runJobs } from "../rollouts.js";

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

export async function runEval(o: EvalOptions): Promise<EvalSummary> {
  const spec = parsePolicySpec(o.model);
  mkdirSync(o.out, { recursive: true });
  const tracesFile = join(o.out, "traces.jsonl");
  const cluster = await init(o.cluster ? { cluster: o.cluster, tracesFile } : { nodes: o.nodes ?? 1, tracesFile });
  const trajOut = createWriteStream(join(o.out, "trajectories.jsonl"));
  const report = o.progress ?? stderrProgress();
  try {
    const engine = spec.kind === "native" ? await cluster.actor(EngineActorClass, [{ checkpoint: spec.dir }], { process: "dedicated" }) : undefined;
    const policy: PolicySpec = spec.kind === "native" ? { kind: "engine", name: o.model } : spec;
    const tokenizer = engine && (await engine.info()).vocabSize < 151_669 ? "bytes" : "qwen3";
    const slots = await makeSlots(cluster, o, policy, tokenizer, engine);
    const jobs: RolloutJob[] = o.tasks.flatMap((task) => Array.from({ length: o.k }, (_, i) => ({ task, rolloutIndex: i })));
    const byTask = new Map<string, (Trajectory | null)[]>(o.tasks.map((t) => [t.id, Array(o.k).fill(null)]));
    let solved = 0, errors = 0;
    const t0 = Date.now();
    await runJobs(slots, jobs, o.model, (tr, job, done) => {
      if (tr.termination === "error") errors++;
      solved += tr.reward;
      byTask.get(job.task.id)![job.rolloutIndex] = tr;
      writeLine(trajOut, tr);
      report(progressBar("trajectories", done, jobs.length, t0, `${solved} solved, ${errors} errors`), false);
    });
    const rolloutMs = Date.now() - t0;
    report(progressBar("trajectories", jobs.length, jobs.length, t0, `${solved} solved, ${errors} errors`), true);
    const rows = o.tasks.map((t) => taskRow(t, byTask.get(t.id)!, o.k));
    const rowsOut = createWriteStream(join(o.out, "results.jsonl"));
    for (const r of rows) writeLine(rowsOut, r);
    await Promise.all([close(rowsOut), close(trajOut)]);
    const mean = (f: (r: TaskRow) => number) => (rows.length ? rows.reduce((a, r) => a + f(r), 0) / rows.length : 0);
    return {
      tasks: rows.length, trajectories: jobs.length, errors,
      pass_at_1: mean((r) => r.pass_at_1), pass_at_k: mean((r) => r.pass_at_k), best_of_k: mean((r) => r.best_of_k?.reward ?? 0), rows, rolloutMs,
    };
  } finally {
    if (!trajOut.writableEnded) trajOut.end();
    await cluster.shutdown();
  }
}

function makeSlots(cluster: Cluster, o: EvalOptions, policy: PolicySpec, tokenizer: "bytes" | "qwen3", engine?: ActorHandle<EngineActor>): Promise<ActorHandle<RolloutActor>[]> {
  return rolloutSlots(cluster, o.parallel, { backend: o.backend, maxSteps: o.maxSteps ?? 50 }, () => ({
    policy, engine, tokenizer, limits: { maxResponseTokens: o.maxResponseTokens ?? 32768 }, sampling: { temperature: o.temperature ?? 1, seed: 1 },
  }));
}

function taskRow(task: Task, trs: (Trajectory | null)[], k: number): TaskRow {
  const rewards = trs.map((t) => (t && t.termination !== "error" ? t.reward : null));
  const c = rewards.filter((r) => r === 1).length;
  const p2p = new Set(task.passToPass);
  const cands = trs.flatMap((t, index) => (t && t.termination !== "error"
    ? [{ index, reward: t.reward, regressionPassed: Object.entries(t.tests ?? {}).filter(([id, s]) => p2p.has(id) && (s === "PASSED" || s === "XFAIL")).length }]
    : []));
  const best = bestOfK(cands);
  return {
    task_id: task.id, k, rewards, reward: c / k, pass_at_1: passAtK(k, c, 1), pass_at_k: passAtK(k, c, k),
    best_of_k: best ? { index: best.index, reward: best.reward } : null,
    terminations: trs.map((t) => t?.termination ?? "error"), errors: trs.filter((t) => !t || t.termination === "error").length,
  };
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

function writeLine(s: WriteStream, v: unknown): void {
  s.write(`${JSON.stringify(v)}\n`);
}

function close(s: WriteStream): Promise<void> {
  return new Promise((r) => s.end(r));
}
