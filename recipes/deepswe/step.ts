// One step of the deepswe recipe (DEEPSWE.md, hybrid engine): the step's tasks → K rollouts per
// task over the rollout slots → compact filtering and leave-one-out advantages → one optimizer
// step on every learner (each recomputes its share's old log-probs) → the weight sync → the
// step's row of metrics, with validation every N steps.
import type { Task } from "../../envs/index.js";
import type { LearnerActor, PolicySequence } from "../../actors/index.js";
import { advantages, compactFilter, solveCounts, trajectoryStats, type TrajectoryStats, type Trajectory } from "../../rl/index.js";
import { ActorDiedError, ActorUnavailableError, stopping } from "../../runtime/index.js";
import type { DeepSWEConfig } from "./config.js";
import { repairEngines, sameWeights, syncEngines, syncExternal, type Crew } from "./crew.js";
import type { PlotRow } from "./plot.js";
import { progressBar } from "../progress.js";
import { runJobs } from "../rollouts.js";

export interface StepRow extends PlotRow, TrajectoryStats {
  filtered: number;
  /** Groups left with fewer than two usable trajectories: no baseline, not trained on. */
  groups_dropped: number;
  loss: number;
  grad_norm: number;
  clipped: number;
  rollout_s: number;
  train_s: number;
  sync_s: number;
  sync_bytes: number;
  /**
   * With `schedule.checkWeights`: rank 0's weight digests before and after the step (16 hex
   * digits of a SHA-256), and how many replicas (the other learners, the engines serving) were
   * found holding the same bits after it.
   */
  weights?: { before: string; after: string; replicas: number };
  /** Asynchronous training (async.ts): trained trajectories by staleness (versions behind the weights updated). */
  staleness?: Record<string, number>;
  /** Trained trajectories whose tokens were sampled by more than one version (weights changed mid-trajectory). */
  partial_rollouts?: number;
  /** Groups dropped since the last step for outgrowing the staleness bound (their tasks run again). */
  groups_stale?: number;
  /** Groups dropped since the last step because every trajectory failed through infrastructure (run again). */
  groups_failed?: number;
  /** Rollout slots' time waiting for the staleness bound to admit work, since the last step (slot-seconds). */
  generator_idle_s?: number;
  /** The trainer's time waiting for complete groups, this step. */
  trainer_idle_s?: number;
}

export interface StepContext {
  crew: Crew;
  config: DeepSWEConfig;
  train: Task[];
  validation: Task[];
  progress: (line: string, final: boolean) => void;
  log: (line: string) => void;
  /** Rank 0's weight digest before the step (schedule.checkWeights); the step moves it on. */
  digest?: string;
}

/** The run's i-th group's task: the train set in order, wrapping around (both loops). */
export function trainTask(train: Task[], i: number): Task {
  return train[i % train.length];
}

/** The step's tasks. */
export function tasksOfStep(c: DeepSWEConfig, train: Task[], step: number): Task[] {
  return Array.from({ length: c.rollout.tasksPerStep }, (_, i) => trainTask(train, (step - 1) * c.rollout.tasksPerStep + i));
}

/** A step's outcome: its row and the trajectories it trained on; undefined when a signal cut it short. */
export type StepOutcome = { row: StepRow; trajectories: Trajectory[] } | undefined;

/**
 * The rollout jobs of the run's `group`-th group: k rollouts of one task, the first goldPerGroup
 * of them replays. Each group samples from seeds of its own (a task comes back every few steps,
 * and the same seeds would replay the same choices wherever the weights barely moved).
 */
export function groupJobs(c: DeepSWEConfig, task: Task, group: number) {
  const sampling = { seed: c.model.seed + 1000 * group };  // the rollout index is added to it
  return Array.from({ length: c.rollout.k }, (_, i) => ({ task, rolloutIndex: i, gold: i < c.rollout.goldPerGroup, sampling }));
}

/** Runs step `step` of the synchronous loop: its rollouts, then training on them. */
export async function runStep(x: StepContext, step: number): Promise<StepOutcome> {
  await repair(x);
  const t0 = Date.now();
  const tasks = tasksOfStep(x.config, x.train, step);
  const jobs = tasks.flatMap((task, i) => groupJobs(x.config, task, (step - 1) * x.config.rollout.tasksPerStep + i));
  const trajs = await runJobs(x.crew.slots, jobs, "learner", (_t, _j, d) => x.progress(progressBar(`rollouts of step ${step}`, d, jobs.length, t0), d === jobs.length));
  return trainOn(x, step, tasks, trajs, (Date.now() - t0) / 1000);
}

/**
 * Trains on a step's groups (`trajs` holds k trajectories of each of `tasks`) and makes the
 * step's row: compact filtering, advantages, one optimizer step, the weight sync, the replicas'
 * check, validation every N steps. `rolloutS` is the time the step waited for its rollouts;
 * `extra` adds the caller's own figures to the row.
 */
export async function trainOn(x: StepContext, step: number, tasks: Task[], trajs: Trajectory[], rolloutS: number, extra: Partial<StepRow> = {}): Promise<StepOutcome> {
  const { crew, config: c } = x;
  const t1 = Date.now();
  const { batch, groups, filtered, dropped } = prepare(tasks, trajs, c);
  const stats = trajectoryStats(trajs);
  // Nothing measured the policy: what serves the run is broken (the learner gone, every
  // sandbox failing). Going on would record empty steps; the run ends, resumable.
  if (stats.errors === trajs.length && !stopping()) {
    throw new Error(`step ${step}: every trajectory failed through infrastructure (the first: ${trajs[0]?.error ?? "no error recorded"}); the run stops here, --resume continues it`);
  }
  const tr = batch.length ? await trainStep(crew, c, batch) : { loss: 0, gradNorm: 0, clipped: 0 };
  const t2 = Date.now();
  const synced = batch.length ? await sync(x) : { seconds: 0, bytes: 0 };
  const row: StepRow = {
    step, ...stats, ...solveCounts(groups), filtered, groups_dropped: dropped,
    loss: tr.loss, grad_norm: tr.gradNorm, clipped: tr.clipped, rollout_s: rolloutS, train_s: (t2 - t1) / 1000, sync_s: synced.seconds, sync_bytes: synced.bytes, ...extra,
  };
  if (x.digest) {
    const after = await sameWeights(crew, step);
    row.weights = { before: x.digest.slice(0, 16), after: after.digest.slice(0, 16), replicas: after.checked };
    x.digest = after.digest;
  }
  if (step % c.schedule.validateEvery === 0 || step === c.schedule.steps) {
    const val = await runJobs(crew.slots, x.validation.map((task) => ({ task, rolloutIndex: 0, sampling: { temperature: 0 } })), "learner");
    row.val_reward = val.reduce((a, t) => a + t.reward, 0) / Math.max(1, val.length);
  }
  return stopping() ? undefined : { row, trajectories: trajs };
}

/** A rank of the learners' group failed in a training step: the group cannot step without it. */
export class LearnerGroupError extends Error {
  constructor(readonly rank: number, readonly world: number, readonly died: boolean, cause: Error) {
    super(`learner rank ${rank} of ${world} ${died ? "died" : "failed"} during the training step (${cause.message.split("\n")[0]})`);
    this.name = "LearnerGroupError";
  }
}

/**
 * The rank to blame when a training step fails: one whose actor died (the others' collectives
 * then fail for want of it), else the first that failed.
 */
function groupFailure(settled: PromiseSettledResult<unknown>[]): LearnerGroupError | undefined {
  const failed = settled.flatMap((s, rank) => (s.status === "rejected" ? [{ rank, e: s.reason as Error }] : []));
  if (!failed.length) return undefined;
  const dead = failed.find((f) => f.e instanceof ActorDiedError || f.e instanceof ActorUnavailableError);
  const blame = dead ?? failed[0];
  return new LearnerGroupError(blame.rank, settled.length, !!dead, blame.e);
}

/**
 * One optimizer step on every learner: each trains on its share, recomputing its share's old
 * log-probs under the weights before the step (as DEEPSWE does) — every rank holds the same
 * bits, so they are what rank 0 would compute; the all-reduce inside the step sums the shares'
 * gradients, and batchSequences makes each share's loss a part of the whole batch's mean.
 */
async function trainStep(crew: Crew, c: DeepSWEConfig, batch: PolicySequence[]) {
  const shares = crew.learners.map((_, r) => batch.filter((_, i) => i % crew.learners.length === r));
  // Asynchronously, samples may come from older weights: decoupled PPO corrects for them.
  const offPolicy = c.async.enabled ? { importanceCap: c.async.importanceCap } : {};
  const settled = await Promise.allSettled(crew.learners.map((l, r) => l.train(shares[r], {
    mode: "pg", epsLow: c.algorithm.epsLow, epsHigh: c.algorithm.epsHigh, lossScale: c.algorithm.lossScale, batchSequences: batch.length, ...offPolicy,
  }, { lr: c.optim.lr, weightDecay: c.optim.weightDecay, maxGradNorm: c.optim.maxGradNorm })));
  const failure = groupFailure(settled);
  if (failure) throw failure;
  const results = settled.map((s) => (s as PromiseFulfilledResult<Awaited<ReturnType<LearnerActor["train"]>>>).value);
  return { loss: results.reduce((a, x) => a + x.loss, 0), gradNorm: results[0].gradNorm, clipped: results.reduce((a, x) => a + x.clipped, 0) };
}

/** Rank 0's new weights to the engines (none to move in hybrid mode), logged when moved. */
export async function sync(x: Pick<StepContext, "crew" | "config" | "log">) {
  const ext = x.crew.external;
  const s = await x.crew.exclusive(() => (ext ? syncExternal(x.crew.learner, ext) : syncEngines(x.config, x.crew.learner, x.crew.engines)));
  const lost = "lost" in s && s.lost ? ` (${s.lost} died during it: repaired when it is back)` : "";
  const to = ext ? `${x.config.external!.urls.length} server(s) from ${ext.dir}` : `${x.crew.engines.length} engine(s)`;
  if (s.bytes) x.log(`weight sync: version ${s.version} to ${to}, ${(s.bytes / 1e6).toFixed(1)} MB in ${s.seconds.toFixed(2)} s${lost}`);
  return s;
}

/** repairEngines, logged when it gave an engine weights. */
export async function repair(x: Pick<StepContext, "crew" | "config" | "log">): Promise<void> {
  const fixed = await repairEngines(x.crew, x.config);
  if (fixed.length) x.log(`weight sync: engine(s) ${fixed.join(", ")} came back serving nothing and got the current version`);
}

/**
 * Groups by task, compact filtering, advantages; the sequences to train on. Infrastructure
 * failures leave their group; a group left with fewer than two trajectories has no baseline
 * and is dropped (counted).
 */
function prepare(tasks: Task[], trajs: Trajectory[], c: DeepSWEConfig) {
  const batch: PolicySequence[] = [];
  const groups: number[][] = [];
  let filtered = 0, dropped = 0;
  for (const task of new Set(tasks)) {
    const group = trajs.filter((t) => t.taskId === task.id);
    const prepared = compactFilter(group, c.algorithm.compactFilter);
    if (prepared.length < 2) {
      dropped++;
      continue;
    }
    filtered += prepared.filter((p) => p.filtered).length;
    const adv = advantages(prepared.map((p) => p.reward), c.algorithm.advantage);
    groups.push(prepared.map((p) => p.reward));
    prepared.forEach((p, i) => {
      if (!p.mask.some((m) => m === 1) || adv[i] === 0) return;
      const behaviour = c.async.enabled ? { behaviourLogprobs: p.trajectory.logprobs } : {};
      batch.push({ tokens: p.trajectory.tokens, mask: p.mask, advantage: adv[i], ...behaviour });
    });
  }
  return { batch, groups, filtered, dropped };
}
