// What a deepswe run leaves in its folder, and how it stays consistent through crashes and
// resumes: config.json, metrics.jsonl (one row per step) and the same figures as a TensorBoard
// event file (under the names verl and rLLM use), trajectories.jsonl (each step's, with their
// step), plot.html, and checkpoints/step-N (a temporary folder renamed into place). A
// step's row and its trajectories are written together once it is whole; a resume drops what
// it redoes (the steps after the checkpoint it starts from), so each step is there once.
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { LearnerActor } from "../../actors/index.js";
import { writeTokenizerFiles } from "../../llm/index.js";
import type { Trajectory } from "../../rl/index.js";
import type { ActorHandle } from "../../runtime/index.js";
import type { DeepSWEConfig } from "./config.js";
import { keepStepsUpTo, readJsonl } from "../jsonl.js";
import { plotHtml } from "./plot.js";
import { EventWriter } from "../tensorboard.js";
import type { StepRow } from "./step.js";
import type { PassAt1 } from "./evaluate.js";
import type { StarterInfo } from "./starter.js";

const FILES = { config: "config.json", metrics: "metrics.jsonl", trajectories: "trajectories.jsonl", plot: "plot.html", checkpoints: "checkpoints", eval: "eval.json" } as const;

/** eval.json: where RL started from, and the fixed evaluation before and after it. */
export interface EvalRecord {
  starter?: StarterInfo;
  before?: PassAt1;
  after?: PassAt1;
}

/**
 * A step's figures under the names verl (critic/, actor/, response_length/, timing_s/) and
 * rLLM (batch/solve_*) log them, and Troupe's own under troupe/ (the README has the table).
 */
export function stepScalars(row: StepRow): Record<string, number> {
  const n = Object.values(row.terminations).reduce((a, x) => a + x, 0);
  const out: Record<string, number> = {
    "critic/score/mean": row.reward_mean, "actor/pg_loss": row.loss, "actor/grad_norm": row.grad_norm,
    "response_length/mean": n ? row.generated_tokens / n : 0,
    "timing_s/gen": row.rollout_s, "timing_s/update_actor": row.train_s, "timing_s/sync_weights": row.sync_s,
    "batch/solve_all": row.solve_all, "batch/solve_none": row.solve_none, "batch/solve_partial": row.solve_partial,
    "troupe/errors": row.errors, "troupe/infra_failure_rate": row.infra_failure_rate, "troupe/filtered": row.filtered,
    "troupe/groups_dropped": row.groups_dropped, "troupe/clipped_tokens": row.clipped, "troupe/sync_bytes": row.sync_bytes,
  };
  if (row.val_reward !== undefined) out["val/reward"] = row.val_reward;
  for (const [k, v] of Object.entries(row.terminations)) out[`troupe/termination/${k}`] = v;
  if (row.partial_rollouts !== undefined) out["troupe/partial_rollouts"] = row.partial_rollouts;
  return out;
}

export class RunRecord {
  readonly checkpoints: string;
  private rows: StepRow[] = [];
  private evals: EvalRecord = {};
  private events?: EventWriter;

  constructor(readonly out: string, private config: DeepSWEConfig) {
    this.checkpoints = join(out, FILES.checkpoints);
    mkdirSync(this.checkpoints, { recursive: true });
    const e = join(out, FILES.eval);
    if (existsSync(e)) this.evals = JSON.parse(readFileSync(e, "utf8")) as EvalRecord;
  }

  /** A fresh run: its config; records of an earlier run in the same folder go. */
  start(): void {
    writeFileSync(join(this.out, FILES.config), JSON.stringify(this.config, null, 2));
    for (const f of [FILES.metrics, FILES.trajectories, FILES.eval]) rmSync(join(this.out, f), { force: true });
    this.evals = {};
    this.events = new EventWriter(this.out);
  }

  /** A resume from the checkpoint of step `done`: the steps after it are dropped (they are redone). */
  async resumeAfter(done: number): Promise<void> {
    for (const f of [FILES.metrics, FILES.trajectories]) await keepStepsUpTo(join(this.out, f), done);
    this.rows = readJsonl<StepRow>(join(this.out, FILES.metrics));
    delete this.evals.after;  // the run goes on: what it ends at is measured again
    this.events = new EventWriter(this.out);
    for (const row of this.rows) this.events.scalars(row.step, stepScalars(row));
  }

  get evaluation(): Readonly<EvalRecord> {
    return this.evals;
  }

  /** Adds to eval.json (written whole each time) and the plot. */
  addEval(e: EvalRecord): void {
    Object.assign(this.evals, e);
    writeFileSync(join(this.out, FILES.eval), JSON.stringify(this.evals, null, 2));
    this.plot();
  }

  private plot(): void {
    const { before, after } = this.evals;
    const marks = [before && { label: `train pass@1 before RL: ${before.pass1.toFixed(3)}`, value: before.pass1 }, after && { label: `after: ${after.pass1.toFixed(3)}`, value: after.pass1 }];
    writeFileSync(join(this.out, FILES.plot), plotHtml(this.rows, `deepswe (${this.config.profile})`, marks.filter((m) => !!m)));
  }

  /** The steps recorded so far. */
  get steps(): readonly StepRow[] {
    return this.rows;
  }

  /** A whole step: its trajectories, then its row (the row says the step is done), then the plot. */
  addStep(row: StepRow, trajectories: Trajectory[]): void {
    appendFileSync(join(this.out, FILES.trajectories), trajectories.map((t) => JSON.stringify({ step: row.step, ...t }) + "\n").join(""));
    this.rows.push(row);
    appendFileSync(join(this.out, FILES.metrics), JSON.stringify(row) + "\n");
    this.events?.scalars(row.step, stepScalars(row));
    this.plot();
  }

  /** Rank 0's state after step `step`, saved into a temporary folder and renamed into place. */
  /** Every learner saves at once: in a ZeRO group each writes its shard of the optimizer state. */
  async checkpoint(learners: ActorHandle<LearnerActor>[], step: number): Promise<void> {
    const tmp = join(this.checkpoints, `.step-${step}.tmp`);
    rmSync(tmp, { recursive: true, force: true });
    await Promise.all(learners.map((l) => l.save(tmp)));
    // The tokenizer's files go with the weights: the folder then serves and exports as it is.
    writeTokenizerFiles(this.config.model.tokenizer, tmp, this.config.model.init);
    rmSync(join(this.checkpoints, `step-${step}`), { recursive: true, force: true });
    renameSync(tmp, join(this.checkpoints, `step-${step}`));
  }
}
