// The deepswe recipe's run: its actors started from the config (crew.ts), a fresh laptop run's
// warm-up (warmup.ts), then step after step (step.ts; async.ts when rollouts run on during
// training), each recorded whole, checkpointed every N steps (record.ts). --resume continues from the newest checkpoint that loads, saying which
// ones it skipped, and drops from the records what it redoes.
import { join } from "node:path";
import { loadUsableTasks, openBackend, type Task } from "../../envs/index.js";
import { init } from "../../runtime/index.js";
import type { DeepSWEConfig } from "./config.js";
import { startCrew } from "./crew.js";
import { RunRecord } from "./record.js";
import { runStep, sync, type StepRow } from "./step.js";
import { starterFor } from "./starter.js";
import { passAt1 } from "./evaluate.js";
import { AsyncLoop } from "./async.js";
import { stderrProgress } from "../progress.js";

export interface RunOptions {
  config: DeepSWEConfig;
  out: string;
  /** Continue the run in `out` from its newest loadable checkpoint. */
  resume?: boolean;
  cluster?: string;
  log?: (line: string) => void;
  /** Phase progress (default: a bar on a terminal, lines elsewhere). */
  progress?: (line: string, final: boolean) => void;
  /** The config's task sets, when the caller has loaded them (else they are loaded here). */
  tasks?: { train: Task[]; validation: Task[] };
}

export async function runDeepSWE(o: RunOptions): Promise<StepRow[]> {
  let c = o.config;
  const log = o.log ?? ((l: string) => console.error(l));
  const progress = o.progress ?? stderrProgress();
  const record = new RunRecord(o.out, c);
  if (!o.resume) record.start();
  const sets = await taskSets(o, log);
  const train = sets.train;
  const validation = sets.validation.slice(0, c.schedule.validationTasks);
  const tracesFile = join(o.out, "traces.jsonl");
  const cluster = await init(o.cluster ? { cluster: o.cluster, tracesFile } : { tracesFile });
  try {
    // RL starts from the starter (found in the cache or built now); a resume from its checkpoint.
    if (c.warmup.epochs > 0) {
      const starter = await starterFor(cluster, c, train, log, progress);
      record.addEval({ starter });
      c = { ...c, model: { ...c.model, init: starter.dir } };
    }
    const crew = await startCrew(cluster, c, o.out, !!o.resume, log);
    if (o.resume) await record.resumeAfter(crew.done);
    const x = { crew, config: c, train, validation, progress, log, digest: undefined as string | undefined };
    await sync(x);
    if (c.schedule.checkWeights) x.digest = await crew.learner.checksum();
    const evaluate = c.schedule.evalSamples > 0 ? async (label: "before" | "after") => {
      const e = await passAt1(x, train, `evaluation ${label} RL (${train.length} train tasks × ${c.schedule.evalSamples})`);
      record.addEval({ [label]: e });
      log(`train pass@1 ${label} RL: ${e.pass1.toFixed(3)} (${train.length} tasks × ${e.samples} samples at temperature 1, ${e.seconds.toFixed(0)} s)`);
    } : undefined;
    if (crew.done === 0) await evaluate?.("before");
    // Synchronous: each step runs its rollouts, then trains. Asynchronous: rollouts run on.
    const loop = c.async.enabled ? new AsyncLoop(x, crew.done + 1) : undefined;
    try {
      for (let step = crew.done + 1; step <= c.schedule.steps; step++) {
        const done = await (loop ? loop.step(step) : runStep(x, step));
        if (!done) break;  // a signal cut the step short: nothing of it is recorded (--resume redoes it)
        record.addStep(done.row, done.trajectories);
        log(summary(done.row, c));
        if (step % c.schedule.checkpointEvery === 0 || step === c.schedule.steps) await record.checkpoint(crew.learners, step);
      }
    } finally {
      loop?.close();
    }
    if (record.steps.at(-1)?.step === c.schedule.steps && evaluate) {
      await evaluate("after");
      const { before, after } = record.evaluation;
      if (before && after) log(`train pass@1: ${before.pass1.toFixed(3)} before RL → ${after.pass1.toFixed(3)} after ${c.schedule.steps} steps (${join(o.out, "eval.json")})`);
    }
    return [...record.steps];
  } finally {
    await cluster.shutdown();
    // A host that outlived its grace period at shutdown was killed before its env actors closed
    // their sandboxes; their owner is gone now, so this removes them rather than the next run.
    await openBackend(c.backend).catch(() => undefined);
  }
}

/** The step's line in the log. */
function summary(row: StepRow, c: DeepSWEConfig): string {
  return `step ${row.step}/${c.schedule.steps}: reward ${row.reward_mean.toFixed(3)}, solve all/partial/none ${row.solve_all}/${row.solve_partial}/${row.solve_none}, ` +
    `${JSON.stringify(row.terminations)}, ${row.staleness ? `staleness ${JSON.stringify(row.staleness)}, waited` : "rollout"} ${row.rollout_s.toFixed(1)} s, train ${row.train_s.toFixed(1)} s` +
    `${row.sync_bytes ? `, sync ${row.sync_s.toFixed(2)} s (${(row.sync_bytes / 1e6).toFixed(1)} MB)` : ""}${row.val_reward !== undefined ? `, validation ${row.val_reward.toFixed(3)}` : ""}`;
}

/** The run's task sets: as given (the driver loaded them already), or loaded here. */
async function taskSets(o: RunOptions, log: (l: string) => void): Promise<{ train: Task[]; validation: Task[] }> {
  if (o.tasks) return o.tasks;
  const load = (spec: string) => loadUsableTasks(spec, (e) => log(`troupe: skipped a task: ${e.message}`));
  return { train: await load(o.config.tasks.train), validation: await load(o.config.tasks.validation) };
}
