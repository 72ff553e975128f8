// `node driver.js eval`: k rollouts of a policy on every task, spread over env actors, with
// pass@1, pass@k and test-time selection among the k (rl/selection.ts: oracle, regression,
// verifier, hybrid, random; each candidate's index and scores kept in its row). Writes DIR/results.jsonl (a row per task, as
// soon as its k rollouts are in), DIR/trajectories.jsonl (each as it ends), DIR/traces.jsonl,
// and what SWE-bench's tools read: DIR/predictions.jsonl and DIR/report.json. A crashed
// sandbox or actor marks that trajectory as an error and the evaluation goes on; a crashed
// evaluation continues with `resume`, losing no finished task.
import { createHash } from "node:crypto";
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeTokenizer, modelTokenizer, OpenAIClient, type Policy, type Tokenizer, type TokenizerName } from "../../llm/index.js";
import { EngineActorClass, EnginePolicy, parsePolicySpec, type Generator, type PolicySpec, type RolloutActor, type RolloutJob } from "../../actors/index.js";
import { gradeTask, type BackendKind, type Task } from "../../envs/index.js";
import { failed, passAtK, select, SELECTOR_NEEDS, SELECTORS, type Candidate, type Selector, type Trajectory } from "../../rl/index.js";
import { init, stopping, type ActorHandle, type Cluster } from "../../runtime/index.js";
import { progressBar, stderrProgress, type ProgressSink } from "../progress.js";
import { readJsonl } from "../jsonl.js";
import { envsOf, rolloutSlots, runJobs } from "../rollouts.js";
import { instanceReport, runReport, type InstanceReport, type Prediction } from "./harness-report.js";
import { pYes, type Verifier } from "./verifier.js";
import { hiddenTestsWriter, modelWriter, reproduce, type ReproOutcome } from "./repro.js";

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
  /** The tokenizer of an OpenAI-compatible model (default qwen3): a model folder, for a model that is not Qwen3. */
  tokenizer?: TokenizerName;
  /** Progress lines (default: stderr). */
  progress?: ProgressSink;
  /**
   * Selection rules to report (default: regression, oracle, random; with a verifier also
   * hybrid and verifier, with reproduction tests repro). The submitted candidate is the choice
   * of the first listed (oracle aside) that made one.
   */
  select?: Selector[];
  /** The execution-free verifier: native:CHECKPOINT_DIR or openai:URL[,URL…]:NAME. */
  verifier?: string;
  /** Who writes reproduction tests: a model as for the verifier, or replay:gold (the hidden tests). */
  repro?: string;
  /** Reproduction scripts written per task (default 2). */
  reproTests?: number;
}

/** One candidate of a task's row: everything each rule looked at, under its rollout index. */
export interface CandidateRow {
  index: number;
  /** sha256 of the final patch (null: none, the trajectory failed). */
  patch_sha256: string | null;
  empty: boolean;
  /** null: the trajectory failed through the infrastructure; it is no candidate. */
  reward: number | null;
  regression_passed: number | null;
  /** The verifier's P(YES). */
  verifier?: number;
  /** Reproduction scripts (of those that reproduce the issue) the patch passes. */
  repro?: number;
  /** The rules that chose this candidate. */
  chosen_by: Selector[];
}

export interface TaskRow {
  task_id: string;
  k: number;
  rewards: (number | null)[];
  reward: number;
  pass_at_1: number;
  pass_at_k: number;
  best_of_k: { index: number; reward: number } | null;
  candidates: CandidateRow[];
  /** Each rule's choice (null: nothing to choose, or the rule lacked its scores). */
  selected: Partial<Record<Selector, { index: number; reward: number } | null>>;
  /** The rule whose choice was submitted (null: none chose). */
  submitted_by: Selector | null;
  /** Why the verifier scored none of this task's candidates. */
  verifier_error?: string;
  /** Reproduction scripts written, and of those the ones that fail on the base state. */
  repro_tests?: { written: number; reproducing: number };
  repro_error?: string;
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
  /** Per rule: the mean reward of what it chose (nothing chosen counts 0). */
  selected: Partial<Record<Selector, number>>;
  selectors: Selector[];
  rows: TaskRow[];
  /** From the first rollout's start to the last one's end (actor start-up excluded). */
  rolloutMs: number;
}

/** The files of an evaluation folder. */
const FILES = { rows: "results.jsonl", trajectories: "trajectories.jsonl", predictions: "predictions.jsonl", report: "report.json" };

/** The rules reported when none are asked for: hybrid and verifier with a verifier, repro with reproduction tests. */
export function defaultSelectors(verifier: boolean, repro: boolean): Selector[] {
  return [...(verifier ? ["hybrid", "verifier"] as const : []), ...(repro ? ["repro"] as const : []), "regression", "oracle", "random"];
}

export async function runEval(o: EvalOptions): Promise<EvalSummary> {
  const spec = parsePolicySpec(o.model);
  const selectors = o.select ?? defaultSelectors(!!o.verifier, !!o.repro);
  const needsVerifier = selectors.filter((s) => SELECTOR_NEEDS[s].includes("verifier"));
  if (needsVerifier.length && !o.verifier) throw new TypeError(`--select ${needsVerifier.join(",")} needs --verifier MODEL (native:CHECKPOINT_DIR or openai:URL:NAME)`);
  const needsRepro = selectors.filter((s) => SELECTOR_NEEDS[s].includes("repro"));
  if (needsRepro.length && !o.repro) throw new TypeError(`--select ${needsRepro.join(",")} needs --repro MODEL (who writes the reproduction tests)`);
  const verifierSpec = o.verifier ? parsePolicySpec(o.verifier) : undefined;
  if (verifierSpec?.kind === "replay") throw new TypeError("--verifier must be a model: native:CHECKPOINT_DIR or openai:URL:NAME");
  if (verifierSpec?.kind === "openai" && verifierSpec.chat) throw new TypeError("--verifier needs the log-probs of its answers: openai:URL:NAME (completions with echo), not openai-chat");
  const reproSpec = o.repro ? parsePolicySpec(o.repro) : undefined;
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
      // A checkpoint's own tokenizer files, else its vocabulary's; an API's model: --tokenizer, else Qwen3's.
      const tokenizer = spec.kind === "native" ? modelTokenizer(spec.dir) : (o.tokenizer ?? "qwen3");
      const slots = await makeSlots(cluster, o, policy, tokenizer, engine);
      const agentTok = makeTokenizer(tokenizer);
      const verifier = verifierSpec ? await startModel(cluster, o.verifier!, verifierSpec as ModelSpec) : undefined;
      const writer = !reproSpec ? undefined : reproSpec.kind === "replay" ? hiddenTestsWriter : await (async () => {
        const m = await startModel(cluster, o.repro!, reproSpec);
        return modelWriter(o.repro!, m.policy, m.tokenizer);
      })();
      const envs = envsOf(slots);
      // Tasks are written one after the other, in the order their k rollouts came in; the
      // verifier scores a task's candidates while the rollouts of others go on.
      let writing = Promise.resolve();
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
        // A task is written as soon as its k rollouts are in (and scored): its prediction, then its row.
        if (trs.every((t) => t !== null)) {
          writing = writing.then(async () => {
            const [verified, reproduced] = await Promise.all([
              verifier ? verify(verifier, job.task, trs, agentTok) : undefined,
              writer ? reproduce(writer, envs, job.task, trs, o.reproTests ?? 2).catch((e: Error) => ({ error: `reproduction tests by ${writer.name}: ${e.message.split("\n")[0]}` })) : undefined,
            ]);
            if (stopping()) return;
            const { row, prediction } = taskResult(job.task, trs, o.k, o.model, selectors, verified, reproduced);
            if (prediction) appendFileSync(path(FILES.predictions), `${JSON.stringify(prediction)}\n`);
            appendFileSync(path(FILES.rows), `${JSON.stringify(row)}\n`);
            rows.set(row.task_id, row);
            if (prediction) predictions.set(prediction.instance_id, prediction);
          });
        }
        report(progressBar("trajectories", n, jobs.length, t0, `${solved} solved, ${errors} errors`), false);
      });
      await writing;
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
      // A row written before selection rules existed (an older evaluation resumed) has none.
      selectors, selected: Object.fromEntries(selectors.map((s) => [s, mean((r) => r.selected?.[s]?.reward ?? 0)])),
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

type ModelSpec = { kind: "native"; dir: string } | { kind: "openai"; urls: string[]; model: string; chat?: boolean };

/**
 * A model that judges or writes for the selection (the verifier, the reproduction tests' writer):
 * an engine serving the checkpoint, or the OpenAI-compatible endpoints; as a Scorer and as a
 * Policy, with its tokenizer and context.
 */
async function startModel(cluster: Cluster, name: string, spec: ModelSpec): Promise<Verifier & { policy: (key: string) => Policy }> {
  if (spec.kind === "openai") {
    const client = new OpenAIClient({ endpoints: spec.urls, model: spec.model });
    const tokenizer = makeTokenizer("qwen3");
    return { name, scorer: client, policy: (key) => (spec.chat ? client.chatSession(key, tokenizer) : client.session(key)), tokenizer, maxPromptTokens: 32768 - 8 };
  }
  const engine = await cluster.actor(EngineActorClass, [{ checkpoint: spec.dir }], { process: "dedicated" });
  const info = await engine.info();
  return { name, scorer: engine, policy: () => new EnginePolicy(engine, name), tokenizer: makeTokenizer(modelTokenizer(spec.dir)), maxPromptTokens: (info.maxPositions || 32768) - 8 };
}

/**
 * The verifier's P(YES) for each candidate (by rollout index; none for failed trajectories and
 * empty patches, which are no candidates for it), or why it could not score them: a verifier
 * that fails costs its rules this task, not the evaluation.
 */
async function verify(v: Verifier, task: Task, trs: (Trajectory | null)[], agentTok: Tokenizer): Promise<(number | undefined)[] | { error: string }> {
  try {
    return await Promise.all(trs.map((t) => (failed(t) || !t!.patch?.trim() ? undefined : pYes(v, task, t!, agentTok))));
  } catch (e) {
    return { error: `verifier ${v.name}: ${(e as Error).message.split("\n")[0]}` };
  }
}

/** A number in [0, 1) fixed by the task: the random rule's draw, the same run after run. */
function taskDraw(id: string): number {
  return createHash("sha256").update(id).digest().readUInt32BE(0) / 2 ** 32;
}

/**
 * A task's row and its prediction. The candidate submitted is the choice of the first rule
 * listed (oracle aside) that made one, else regression's; when none was scored, one whose
 * scoring failed but that left a patch (its report is then missing, and the harness counts it
 * as an error).
 */
function taskResult(task: Task, trs: (Trajectory | null)[], k: number, model: string, selectors: Selector[],
  verified?: (number | undefined)[] | { error: string }, reproduced?: ReproOutcome | { error: string }): { row: TaskRow; prediction?: Prediction } {
  const rewards = trs.map((t) => (failed(t) ? null : t!.reward));
  const c = rewards.filter((r) => r === 1).length;
  const verifier = Array.isArray(verified) ? verified : undefined;
  const repro = reproduced && "scores" in reproduced ? reproduced : undefined;
  const cands: Candidate[] = trs.flatMap((t, index) => (!failed(t)
    ? [{
      index, reward: t!.reward, regressionPassed: gradeTask(task, t!.tests ?? {}).PASS_TO_PASS.success.length, empty: !t!.patch?.trim(),
      ...(verifier?.[index] !== undefined ? { verifier: verifier[index] } : {}), ...(repro?.scores[index] !== undefined ? { repro: repro.scores[index] } : {}),
    }]
    : []));
  const draw = taskDraw(task.id);
  const choice = Object.fromEntries(SELECTORS.map((s) => [s, select(s, cands, draw)])) as Record<Selector, Candidate | undefined>;
  const brief = (x: Candidate | undefined) => (x ? { index: x.index, reward: x.reward } : null);
  const selected: TaskRow["selected"] = Object.fromEntries(selectors.map((s) => [s, brief(choice[s])]));
  const by = [...selectors.filter((s) => s !== "oracle"), "regression" as const].find((s) => choice[s]);
  const best = by ? choice[by] : undefined;
  const firstFailure = trs.find((t) => failed(t));
  const pick = best ? trs[best.index]! : trs.find((t) => t?.scoringError && t.patch !== undefined);
  const row: TaskRow = {
    task_id: task.id, k, rewards, reward: c / k, pass_at_1: passAtK(k, c, 1), pass_at_k: passAtK(k, c, k),
    best_of_k: brief(choice.regression),
    candidates: trs.map((t, index) => {
      const cand = cands.find((x) => x.index === index);
      return {
        index, patch_sha256: t?.patch === undefined ? null : createHash("sha256").update(t.patch).digest("hex"), empty: !t?.patch?.trim(),
        reward: cand?.reward ?? null, regression_passed: cand?.regressionPassed ?? null,
        ...(cand?.verifier !== undefined ? { verifier: cand.verifier } : {}), ...(cand?.repro !== undefined ? { repro: cand.repro } : {}),
        chosen_by: selectors.filter((x) => selected[x]?.index === index),
      };
    }),
    selected, submitted_by: by ?? null,
    ...(verified && !Array.isArray(verified) ? { verifier_error: verified.error } : {}),
    ...(repro ? { repro_tests: { written: repro.written, reproducing: repro.reproducing } } : {}),
    ...(reproduced && "error" in reproduced ? { repro_error: reproduced.error } : {}),
    terminations: trs.map((t) => t?.termination ?? "error"), errors: trs.filter(failed).length,
    ...(firstFailure ? { error: firstFailure.scoringError ?? firstFailure.error ?? "failed" } : {}),
    submitted: best ? instanceReport(task, trs[best.index]!) : null,
  };
  return { row, prediction: pick ? { instance_id: task.id, model_name_or_path: model, model_patch: pick.patch ?? "" } : undefined };
}

/** The terminal table: one line per task (each rule's choice as reward and #index) and the totals. */
export function summaryTable(s: EvalSummary): string {
  const w = Math.max(4, ...s.rows.map((r) => r.task_id.length));
  const rw = Math.max(7, 2 * (s.rows[0]?.k ?? 1) - 1);
  const cols = s.selectors.map((x) => Math.max(x.length, 2 + String(s.rows[0]?.k ?? 1).length + 2));
  const lines = [`${"task".padEnd(w)}  ${"rewards".padEnd(rw)}  pass@1  pass@k  ${s.selectors.map((x, i) => x.padStart(cols[i])).join("  ")}`];
  for (const r of s.rows) {
    const rewards = r.rewards.map((x) => (x === null ? "E" : String(x))).join(" ");
    const chosen = s.selectors.map((x, i) => {
      const c = r.selected?.[x];
      return (c ? `${c.reward} #${c.index}` : "-").padStart(cols[i]);
    });
    lines.push(`${r.task_id.padEnd(w)}  ${rewards.padEnd(rw)}  ${r.pass_at_1.toFixed(2).padStart(6)}  ${r.pass_at_k.toFixed(2).padStart(6)}  ${chosen.join("  ")}`);
  }
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  lines.push(`${s.tasks} tasks, ${s.trajectories} trajectories (${s.errors} errors): pass@1 ${pct(s.pass_at_1)}, pass@k ${pct(s.pass_at_k)}; selected: ${s.selectors.map((x) => `${x} ${pct(s.selected[x] ?? 0)}`).join(", ")}`);
  return lines.join("\n");
}
