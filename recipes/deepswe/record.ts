// What a deepswe run leaves in its folder, and how it stays consistent through crashes and
// resumes: config.json, metrics.jsonl (one row per step), trajectories.jsonl (each step's, with
// their step), plot.html, and checkpoints/step-N (a temporary folder renamed into place). A
// step's row and its trajectories are written together once it is whole; a resume drops what
// it redoes (the steps after the checkpoint it starts from), so each step is there once.
import { appendFileSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { LearnerActor } from "../../actors/index.js";
import type { Trajectory } from "../../rl/index.js";
import type { ActorHandle } from "../../runtime/index.js";
import type { DeepSWEConfig } from "./config.js";
import { keepStepsUpTo, readJsonl } from "../jsonl.js";
import { plotHtml } from "./plot.js";
import type { StepRow } from "./step.js";

const FILES = { config: "config.json", metrics: "metrics.jsonl", trajectories: "trajectories.jsonl", plot: "plot.html", checkpoints: "checkpoints" } as const;

export class RunRecord {
  readonly checkpoints: string;
  private rows: StepRow[] = [];

  constructor(readonly out: string, private config: DeepSWEConfig) {
    this.checkpoints = join(out, FILES.checkpoints);
    mkdirSync(this.checkpoints, { recursive: true });
  }

  /** A fresh run: its config; records of an earlier run in the same folder go. */
  start(): void {
    writeFileSync(join(this.out, FILES.config), JSON.stringify(this.config, null, 2));
    for (const f of [FILES.metrics, FILES.trajectories]) rmSync(join(this.out, f), { force: true });
  }

  /** A resume from the checkpoint of step `done`: the steps after it are dropped (they are redone). */
  async resumeAfter(done: number): Promise<void> {
    for (const f of [FILES.metrics, FILES.trajectories]) await keepStepsUpTo(join(this.out, f), done);
    this.rows = readJsonl<StepRow>(join(this.out, FILES.metrics));
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
    writeFileSync(join(this.out, FILES.plot), plotHtml(this.rows, `deepswe (${this.config.profile})`));
  }

  /** Rank 0's state after step `step`, saved into a temporary folder and renamed into place. */
  async checkpoint(learner: ActorHandle<LearnerActor>, step: number): Promise<void> {
    const tmp = join(this.checkpoints, `.step-${step}.tmp`);
    rmSync(tmp, { recursive: true, force: true });
    await learner.save(tmp);
    rmSync(join(this.checkpoints, `step-${step}`), { recursive: true, force: true });
    renameSync(tmp, join(this.checkpoints, `step-${step}`));
  }
}
