// `npm run bench -- async`: the laptop recipe in disaggregated mode with a generation-heavy
// setting (long replies), synchronous against asynchronous (maxStaleness 1), one after the
// other in the same run: trajectories trained per minute of the step loop (steady state: the
// steps after the first; with it too), how idle the trainer
// and the rollout slots were, and the staleness of what async trained on. The learner's and the
// engine's workers get one core each (on 2 cores; a GPU each on a cluster): sharing every core,
// overlapping them only trades one worker's speed for the other's.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolveConfig, runDeepSWE, type StepRow } from "../recipes/index.js";
import { log, round, size } from "./util.js";

const STEPS = size(6, 2);

export async function run(): Promise<Record<string, number>> {
  const sync = await loop(false);
  const async = await loop(true);
  return {
    sync_traj_per_min: sync.perMin, async_traj_per_min: async.perMin, speedup: round(async.perMin / sync.perMin),
    speedup_with_first_step: round(async.perMinAll / sync.perMinAll),
    sync_trainer_idle: sync.trainerIdle, async_trainer_idle: async.trainerIdle,
    sync_generator_idle: sync.generatorIdle, async_generator_idle: async.generatorIdle,
    async_stale0: async.staleness["0"] ?? 0, async_stale1: async.staleness["1"] ?? 0, async_groups_stale: async.groupsStale,
  };
}

async function loop(asyncOn: boolean) {
  const out = mkdtempSync(join(tmpdir(), "troupe-bench-async-"));
  try {
    // One gold replay per group: every group has a success, so every step trains and syncs.
    const config = resolveConfig("smoke", undefined, [
      // Each worker its own core, as each would own its GPU: the learner and the engine then
      // compete for nothing but what they share on a real cluster (the sandboxes' host).
      "learner.threads=1", "mode=disaggregated", `schedule.steps=${STEPS}`, "warmup.epochs=0", "schedule.validateEvery=1000", "schedule.checkWeights=false",
      "rollout.maxResponseTokens=2048", "rollout.maxTurnTokens=512", "rollout.goldPerGroup=1", `async.enabled=${asyncOn}`, "async.maxStaleness=1",
    ]);
    const rows = await runDeepSWE({ config, out, log: (l) => log(l), progress: () => undefined });
    // The step loop's time: what each step waited for rollouts, trained and synced (validation,
    // run only after the last step, left out of both).
    const stepS = (r: StepRow) => r.rollout_s + r.train_s + r.sync_s;
    const count = (r: StepRow) => Object.values(r.terminations).reduce((a, b) => a + b, 0);
    // Steady state: the steps after the first (whose rollouts async cannot overlap with anything).
    const steady = rows.length > 1 ? rows.slice(1) : rows;
    const total = sum(steady, stepS);
    const trajs = sum(steady, count);
    const slots = config.rollout.envActors;
    const staleness: Record<string, number> = {};
    for (const r of rows) for (const [k, v] of Object.entries(r.staleness ?? {})) staleness[k] = (staleness[k] ?? 0) + v;
    const res = {
      perMin: round((trajs / total) * 60),
      perMinAll: round((sum(rows, count) / sum(rows, stepS)) * 60),
      // Synchronous: the trainer waits out every rollout phase, the slots every train phase.
      trainerIdle: round(sum(steady, (r) => r.rollout_s) / total),
      generatorIdle: round(asyncOn ? sum(steady, (r) => r.generator_idle_s ?? 0) / (slots * total) : sum(steady, (r) => r.train_s + r.sync_s) / total),
      staleness, groupsStale: sum(rows, (r) => r.groups_stale ?? 0),
    };
    log(`${asyncOn ? "async" : "sync"}: ${trajs} trajectories in ${total.toFixed(1)} s of steps = ${res.perMin}/min; trainer idle ${res.trainerIdle}, slots idle ${res.generatorIdle}`);
    return res;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

function sum(rows: StepRow[], f: (r: StepRow) => number): number {
  return rows.reduce((a, r) => a + f(r), 0);
}
