// The asynchronous loop (config `async`): rollouts never stop for training. Rollout slots pull
// the jobs of admitted groups and run them with whatever weights their generator holds at each
// turn; a group whose k trajectories are all in joins a buffer; the trainer takes the oldest
// complete groups as soon as a step's worth is there, drops those that outgrew the staleness
// bound (their tasks are admitted again), trains (decoupled PPO: step.ts) and syncs. Groups are
// admitted only while they stay within what the next `maxStaleness + 1` steps will train on
// (rl/off-policy.ts, mayStartGroup), so generators run at most that far ahead.
//
// Weights change between a trajectory's turns, never inside one: an engine takes a new version
// between calls (its mailbox runs one call at a time), so a turn is the safe point at which a
// rollout in flight continues with new weights; its tokens keep their own versions.
import type { Task } from "../../envs/index.js";
import { failed, mayStartGroup, spansVersions, staleness, type Trajectory } from "../../rl/index.js";
import { stopping } from "../../runtime/index.js";
import type { RolloutJob } from "../../actors/index.js";
import { runJob } from "../rollouts.js";
import { groupJobs, repair, trainOn, trainTask, type StepContext, type StepOutcome } from "./step.js";

/** Steps' worth of groups failing in a row after which the run stops (the infrastructure is down). */
const FAILED_GROUPS_MAX = 3;

interface Group {
  task: Task;
  trajectories: (Trajectory | undefined)[];
  left: number;
}

export class AsyncLoop {
  private queue: { job: RolloutJob; group: Group }[] = [];
  private complete: Group[] = [];
  /** Tasks of dropped groups, admitted again before new ones. */
  private again: Task[] = [];
  private started = 0;
  private next: number;
  private trained = 0;
  private closed = false;
  private wake: (() => void)[] = [];
  private idleMs = 0;
  private stale = 0;
  private failed = 0;
  private failedInARow = 0;

  /** `first`: the step the loop starts at (its tasks are the train set's from there, as in the synchronous loop). */
  constructor(private x: StepContext, first: number) {
    this.next = (first - 1) * x.config.rollout.tasksPerStep;
    this.admit();
    for (const slot of x.crew.slots) void this.work(slot);
  }

  /** Trains step `step` on the oldest complete groups within the staleness bound. */
  async step(step: number): Promise<StepOutcome> {
    const c = this.x.config;
    const t0 = Date.now();
    const version = (await this.x.crew.learner.info()).version;
    const groups: Group[] = [];
    while (groups.length < c.rollout.tasksPerStep) {
      const g = this.complete.shift();
      if (!g) {
        if (stopping()) return undefined;
        await this.changed();
        continue;
      }
      const trajs = g.trajectories as Trajectory[];
      if (trajs.some(failed)) await repair(this.x);
      // A group whose every trajectory failed through the infrastructure (an engine restarting)
      // says nothing: its task runs again, unless nothing has worked for a while.
      if (trajs.every(failed)) {
        this.failed++;
        if (++this.failedInARow > FAILED_GROUPS_MAX * c.rollout.tasksPerStep) {
          throw new Error(`step ${step}: the last ${this.failedInARow - 1} groups failed through infrastructure (the first error: ${trajs[0]?.error ?? "none recorded"}); the run stops here, --resume continues it`);
        }
        this.requeue(g);
        continue;
      }
      this.failedInARow = 0;
      if (trajs.some((t) => staleness(t, version) > c.async.maxStaleness)) {
        this.stale++;
        this.requeue(g);
        continue;
      }
      groups.push(g);
    }
    const waited = (Date.now() - t0) / 1000;
    const trajs = groups.flatMap((g) => g.trajectories as Trajectory[]);
    const hist: Record<string, number> = {};
    for (const t of trajs) {
      const s = staleness(t, version);
      hist[s] = (hist[s] ?? 0) + 1;
    }
    const extra = {
      staleness: hist, partial_rollouts: trajs.filter(spansVersions).length, groups_stale: this.stale, groups_failed: this.failed,
      generator_idle_s: this.idleMs / 1000, trainer_idle_s: waited,
    };
    this.stale = 0;
    this.failed = 0;
    this.idleMs = 0;
    const out = await trainOn(this.x, step, groups.map((g) => g.task), trajs, waited, extra);
    this.trained++;
    this.admit();
    return out;
  }

  /**
   * Stops admitting work. Rollouts still in flight (for steps that will not come) are not
   * waited for — one may take its whole time limit — the cluster's shutdown ends them.
   */
  close(): void {
    this.closed = true;
    this.queue = [];
    this.notify();
  }

  /** A dropped group: its task is admitted again, before new ones. */
  private requeue(g: Group): void {
    this.started--;
    this.again.push(g.task);
    this.admit();
  }

  /** Admits groups while the staleness bound allows. */
  private admit(): void {
    const c = this.x.config;
    while (!this.closed && mayStartGroup(this.started, this.trained, c.rollout.tasksPerStep, c.async.maxStaleness)) {
      const task = this.again.shift() ?? trainTask(this.x.train, this.next++);
      const group: Group = { task, trajectories: new Array(c.rollout.k), left: c.rollout.k };
      for (const job of groupJobs(c, task, this.started)) this.queue.push({ job, group });
      this.started++;
    }
    this.notify();
  }

  private async work(slot: StepContext["crew"]["slots"][number]): Promise<void> {
    while (!this.closed) {
      const item = this.queue.shift();
      if (!item) {
        const t = Date.now();
        await this.changed();
        this.idleMs += Date.now() - t;
        continue;
      }
      const { job, group } = item;
      group.trajectories[job.rolloutIndex] = await runJob(slot, job, "learner");
      if (--group.left === 0) {
        this.complete.push(group);
        this.notify();
      }
    }
  }

  private changed(): Promise<void> {
    return new Promise((r) => this.wake.push(r));
  }

  private notify(): void {
    for (const w of this.wake.splice(0)) w();
  }
}
