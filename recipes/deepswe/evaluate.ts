// The run's fixed evaluation, before RL and after it: every train task × `schedule.evalSamples`
// samples at temperature 1 from the same seeds, through the same rollout slots, tools and reward
// as training. Both numbers go to the log and to eval.json in the run folder.
import type { Task } from "../../envs/index.js";
import type { Trajectory } from "../../rl/index.js";
import { progressBar } from "../progress.js";
import { runJobs } from "../rollouts.js";
import type { StepContext } from "./step.js";

/** Far from the training rollouts' seeds (model.seed + 1,000 × group + index, step.ts). */
const EVAL_SEED = 1_000_000_007;

export interface PassAt1 {
  /** Mean reward over every sample of every task. */
  pass1: number;
  samples: number;
  /** Samples that solved each task. */
  solved: Record<string, number>;
  /** The weights' version evaluated (optimizer steps taken). */
  version: number;
  seconds: number;
}

export async function passAt1(x: Pick<StepContext, "crew" | "config" | "progress">, tasks: Task[], label: string): Promise<PassAt1> {
  const t0 = Date.now();
  const n = x.config.schedule.evalSamples;
  const jobs = tasks.flatMap((task) => Array.from({ length: n }, (_, i) => ({ task, rolloutIndex: i, sampling: { temperature: 1, topP: 1, seed: EVAL_SEED } })));
  const trajs: Trajectory[] = await runJobs(x.crew.slots, jobs, "learner", (_t, _j, d) => x.progress(progressBar(label, d, jobs.length, t0), d === jobs.length));
  const solved: Record<string, number> = {};
  for (const t of trajs) solved[t.taskId] = (solved[t.taskId] ?? 0) + t.reward;
  const { version } = await x.crew.learner.info();
  return { pass1: trajs.reduce((a, t) => a + t.reward, 0) / Math.max(1, trajs.length), samples: n, solved, version, seconds: (Date.now() - t0) / 1000 };
}
