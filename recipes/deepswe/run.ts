// The deepswe recipe's step loop (DEEPSWE.md, hybrid engine): sample tasks → rollout phase (K
// rollouts per task over env actors, the learner's worker generating) → rewards → compact
// filtering and leave-one-out advantages → old log-probs recomputed by the learner → one
// optimizer step → metrics → checkpoint every N steps (a temp folder renamed into place) →
// validation every N steps. A fresh laptop run first warms up on gold demonstrations.
// --resume continues from the newest checkpoint that loads, saying which ones it skipped.
import { appendFileSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { EngineActorClass, EnvActorClass, LearnerActorClass, RolloutActorClass, type EngineActor, type LearnerActor } from "../../actors/index.js";
import { loadTasks, openBackend, type Task } from "../../envs/index.js";
import type { TrainSequence } from "../../gpu/index.js";
import { advantages, compactFilter, failed, faultOf, solveCounts, type Trajectory } from "../../rl/index.js";
import { init, stopping, type ActorHandle, type Cluster } from "../../runtime/index.js";
import type { DeepSWEConfig } from "./config.js";
import { keepStepsUpTo, readJsonl } from "../jsonl.js";
import { progressBar, stderrProgress } from "../progress.js";
import { rolloutSlots, runJobs } from "../rollouts.js";
import { plotHtml, type PlotRow } from "./plot.js";

export interface RunOptions {
  config: DeepSWEConfig;
  out: string;
  /** Continue the run in `out` from its newest loadable checkpoint. */
  resume?: boolean;
  cluster?: string;
  log?: (line: string) => void;
  /** Phase progress (default: a bar on a terminal, lines elsewhere). */
  progress?: (line: string, final: boolean) => void;
}

export interface StepRow extends PlotRow {
  terminations: Record<string, number>;
  filtered: number;
  /** Trajectories that failed through no fault of the agent (masked out). */
  errors: number;
  /** errors over all trajectories. */
  infra_failure_rate: number;
  /** Trajectories the agent ended by its own doing (sandbox destroyed, disk budget): reward 0, kept. */
  agent_failures: number;
  /** Groups left with fewer than two usable trajectories: no baseline, not trained on. */
  groups_dropped: number;
  tokens: number;
  generated_tokens: number;
  loss: number;
  grad_norm: number;
  clipped: number;
  rollout_s: number;
  train_s: number;
  sync_s: number;
  sync_bytes: number;
  /** The weight versions the step's trajectories were sampled from (on-policy: one, the last step's). */
  policy_versions: number[];
  /**
   * With `schedule.checkWeights`: rank 0's weight digests before and after the step (16 hex
   * digits of a SHA-256), and how many replicas were found holding the same bits after it.
   */
  weights?: { before: string; after: string; replicas: number };
}

export async function runDeepSWE(o: RunOptions): Promise<StepRow[]> {
  const c = o.config;
  const log = o.log ?? ((l: string) => console.error(l));
  const ckDir = join(o.out, "checkpoints");
  mkdirSync(ckDir, { recursive: true });
  if (!o.resume) writeFileSync(join(o.out, "config.json"), JSON.stringify(c, null, 2));
  const train = await tasksOf(c.tasks.train);
  const validation = (await tasksOf(c.tasks.validation)).slice(0, c.schedule.validationTasks);
  const cluster = await init(o.cluster ? { cluster: o.cluster, tracesFile: join(o.out, "traces.jsonl") } : { tracesFile: join(o.out, "traces.jsonl") });
  try {
    const { learner, step: done, checkpoint: loaded } = await startLearner(cluster, c, ckDir, !!o.resume, log);
    const learners = await dataParallel(cluster, c, learner, loaded);
    // What a resume redoes is dropped from the run's records, so each step is there once.
    for (const f of ["metrics.jsonl", "trajectories.jsonl"]) {
      if (o.resume) await keepStepsUpTo(join(o.out, f), done);
      else rmSync(join(o.out, f), { force: true });
    }
    const rows = readJsonl<StepRow>(join(o.out, "metrics.jsonl"));
    // Who generates: the learners themselves (hybrid), or engines fed by weight broadcasts.
    const engines = c.mode === "hybrid" ? learners as unknown as ActorHandle<EngineActor>[] : await startEngines(cluster, c);
    const slots = await rolloutSlots(cluster, c.rollout.envActors, { backend: c.backend, maxSteps: c.rollout.maxSteps, stepTimeoutSec: c.rollout.stepTimeoutS, diskBudgetBytes: c.rollout.diskBudgetGiB * 1024 ** 3 }, (i) => ({
      policy: { kind: "engine", name: "learner" }, engine: engines[i % engines.length], tokenizer: c.model.tokenizer,
      sampling: { temperature: c.rollout.temperature, topP: c.rollout.topP, seed: c.model.seed },
      limits: { maxPromptTokens: c.rollout.maxPromptTokens, maxResponseTokens: c.rollout.maxResponseTokens, maxTurnTokens: c.rollout.maxTurnTokens, timeoutMs: c.rollout.timeoutS * 1000 },
    }));
    // A resume that found no checkpoint starts from the beginning: warm-up included.
    if ((!o.resume || done === 0) && c.warmup.sftSteps > 0) await warmup(cluster, c, train, learners, log);
    const sync = async () => {
      const s = await syncEngines(c, learner, engines);
      if (s.bytes) log(`weight sync: version ${s.version} to ${engines.length} engine(s), ${(s.bytes / 1e6).toFixed(1)} MB in ${s.seconds.toFixed(2)} s`);
      return s;
    };
    await sync();
    // The replicas that must hold rank 0's bits after every step: the other learners, and the
    // engines when they are separate workers.
    const replicas = [...learners.slice(1), ...(c.mode === "disaggregated" ? engines : [])] as ActorHandle<LearnerActor | EngineActor>[];
    let digest = c.schedule.checkWeights ? await learner.checksum() : undefined;
    for (let step = done + 1; step <= c.schedule.steps; step++) {
      const t0 = Date.now();
      const tasks = Array.from({ length: c.rollout.tasksPerStep }, (_, i) => train[((step - 1) * c.rollout.tasksPerStep + i) % train.length]);
      const bar = o.progress ?? stderrProgress();
      const jobs = tasks.flatMap((task) => Array.from({ length: c.rollout.k }, (_, i) => ({ task, rolloutIndex: i, gold: i < c.rollout.goldPerGroup })));
      const trajs = await runJobs(slots, jobs, "learner", (_t, _j, d) => bar(progressBar(`rollouts of step ${step}`, d, jobs.length, t0), d === jobs.length));
      appendFileSync(join(o.out, "trajectories.jsonl"), trajs.map((t) => JSON.stringify({ step, ...t }) + "\n").join(""));
      const t1 = Date.now();
      const { batch, groups, filtered, errors, dropped } = prepare(tasks, trajs, c);
      // Nothing measured the policy: what serves the run is broken (the learner gone, every
      // sandbox failing). Going on would record empty steps; the run ends, resumable.
      if (errors === trajs.length && !stopping()) {
        throw new Error(`step ${step}: every trajectory failed through infrastructure (the first: ${trajs[0]?.error ?? "no error recorded"}); the run stops here, --resume continues it`);
      }
      let tr = { loss: 0, gradNorm: 0, clipped: 0 };
      if (batch.length) {
        const old = await learner.logprobs(batch.map((b) => Array.from(b.tokens)));  // recomputed, as DEEPSWE does
        batch.forEach((b, i) => (b.oldLogprobs = old[i]));
        // Each learner trains on its share; the all-reduce inside step() sums their gradients,
        // and batchSequences makes every share's loss a part of the whole batch's mean.
        const shares = learners.map((_, r) => batch.filter((_, i) => i % learners.length === r));
        const results = await Promise.all(learners.map((l, r) => l.train(shares[r], {
          mode: "pg", epsLow: c.algorithm.epsLow, epsHigh: c.algorithm.epsHigh, lossScale: c.algorithm.lossScale, batchSequences: batch.length,
        }, { lr: c.optim.lr, weightDecay: c.optim.weightDecay, maxGradNorm: c.optim.maxGradNorm })));
        tr = { loss: results.reduce((a, x) => a + x.loss, 0), gradNorm: results[0].gradNorm, clipped: results.reduce((a, x) => a + x.clipped, 0) };
      }
      const t2 = Date.now();
      const synced = batch.length ? await sync() : { seconds: 0, bytes: 0 };
      const terminations: Record<string, number> = {};
      for (const t of trajs) terminations[t.termination] = (terminations[t.termination] ?? 0) + 1;
      const row: StepRow = {
        step, reward_mean: trajs.reduce((a, t) => a + t.reward, 0) / Math.max(1, trajs.length), ...solveCounts(groups), terminations, filtered, errors,
        infra_failure_rate: errors / Math.max(1, trajs.length), agent_failures: trajs.filter((t) => faultOf(t) === "agent").length, groups_dropped: dropped,
        tokens: trajs.reduce((a, t) => a + t.tokens.length, 0), generated_tokens: trajs.reduce((a, t) => a + t.mask.reduce((x, y) => x + y, 0), 0),
        loss: tr.loss, grad_norm: tr.gradNorm, clipped: tr.clipped, rollout_s: (t1 - t0) / 1000, train_s: (t2 - t1) / 1000, sync_s: synced.seconds, sync_bytes: synced.bytes,
        policy_versions: [...new Set(trajs.map((t) => t.policyVersion).filter((v) => v !== undefined))] as number[],
      };
      if (digest) {
        const after = await sameWeights(learner, replicas, step);
        row.weights = { before: digest.slice(0, 16), after: after.slice(0, 16), replicas: replicas.length };
        digest = after;
      }
      if (step % c.schedule.validateEvery === 0 || step === c.schedule.steps) {
        const val = await runJobs(slots, validation.map((task) => ({ task, rolloutIndex: 0, sampling: { temperature: 0 } })), "learner");
        row.val_reward = val.reduce((a, t) => a + t.reward, 0) / Math.max(1, val.length);
      }
      // An interrupted step was cut short: nothing of it is recorded (--resume redoes it).
      if (stopping()) break;
      rows.push(row);
      appendFileSync(join(o.out, "metrics.jsonl"), JSON.stringify(row) + "\n");
      writeFileSync(join(o.out, "plot.html"), plotHtml(rows, `deepswe (${c.profile})`));
      log(`step ${step}/${c.schedule.steps}: reward ${row.reward_mean.toFixed(3)}, solve all/partial/none ${row.solve_all}/${row.solve_partial}/${row.solve_none}, ` +
        `${JSON.stringify(terminations)}, rollout ${row.rollout_s.toFixed(1)} s, train ${row.train_s.toFixed(1)} s` +
        `${row.sync_bytes ? `, sync ${row.sync_s.toFixed(2)} s (${(row.sync_bytes / 1e6).toFixed(1)} MB)` : ""}${row.val_reward !== undefined ? `, validation ${row.val_reward.toFixed(3)}` : ""}`);
      if (step % c.schedule.checkpointEvery === 0 || step === c.schedule.steps) await checkpoint(learner, ckDir, step);
    }
    return rows;
  } finally {
    await cluster.shutdown();
    // A host that outlived its grace period at shutdown was killed before its env actors closed
    // their sandboxes; their owner is gone now, so this removes them rather than the next run.
    await openBackend(c.backend).catch(() => undefined);
  }
}

async function tasksOf(spec: string): Promise<Task[]> {
  const { tasks, errors } = await loadTasks(spec);
  if (errors.length) throw errors[0];
  if (!tasks.length) throw new TypeError(`task spec '${spec}' has no tasks`);
  return tasks;
}

/** A fresh learner, or on resume the newest checkpoint that loads (older ones as fallbacks). */
async function startLearner(cluster: Cluster, c: DeepSWEConfig, ckDir: string, resume: boolean, log: (l: string) => void) {
  const opts = { microBatchTokens: c.optim.microBatchTokens, seed: c.model.seed, ...c.learner };
  if (resume) {
    const steps = readdirSync(ckDir).map((d) => /^step-(\d+)$/.exec(d)).filter((m) => m).map((m) => Number(m![1])).sort((a, b) => b - a);
    for (const step of steps) {
      try {
        const checkpoint = join(ckDir, `step-${step}`);
        return { learner: await cluster.actor(LearnerActorClass, [{ ...opts, checkpoint }], { process: "dedicated" }), step, checkpoint };
      } catch (e) {
        log(`resume: checkpoint step-${step} is corrupt or partial (${(e as Error).message.split("\n")[0]}); trying the previous one`);
      }
    }
    log("resume: no loadable checkpoint; starting from the beginning");
  }
  const source = c.model.init ? { checkpoint: c.model.init } : { config: c.model.config as never };
  return { learner: await cluster.actor(LearnerActorClass, [{ ...opts, ...source }], { process: "dedicated" }), step: 0, checkpoint: c.model.init };
}

/**
 * The other ranks of a data-parallel group, placed by a placement group, joined to rank 0
 * (the learner given) through a TCP rendezvous whose address travels over the runtime.
 */
async function dataParallel(cluster: Cluster, c: DeepSWEConfig, rank0: ActorHandle<LearnerActor>, checkpoint?: string): Promise<ActorHandle<LearnerActor>[]> {
  if (c.learners === 1) return [rank0];
  const pg = await cluster.placementGroup({ bundles: Array.from({ length: c.learners - 1 }, () => ({ cpu: 0 })), strategy: "SPREAD" });
  // The same checkpoint as rank 0 (its optimizer state included), or the same random init.
  const source = checkpoint ? { checkpoint } : { config: c.model.config as never };
  const others = await Promise.all(Array.from({ length: c.learners - 1 }, (_, i) =>
    cluster.actor(LearnerActorClass, [{ microBatchTokens: c.optim.microBatchTokens, seed: c.model.seed, ...c.learner, ...source }], { process: "dedicated", placement: { group: pg.id, bundleIndex: i } })));
  const all = [rank0, ...others];
  const address = await rank0.rendezvous();
  await Promise.all(all.map((l, r) => l.joinGroup(r, all.length, [address])));
  return all;
}

/** Disaggregated mode's engines, each a worker of its own, started as the configured model. */
async function startEngines(cluster: Cluster, c: DeepSWEConfig): Promise<ActorHandle<EngineActor>[]> {
  // The first sync overwrites these weights; a checkpoint only gives the model's shape.
  const source = c.model.init ? { checkpoint: c.model.init } : { config: c.model.config as never };
  return Promise.all(Array.from({ length: c.engines }, () => cluster.actor(EngineActorClass, [{ ...source, seed: c.model.seed, ...c.learner }], { process: "dedicated" })));
}

/** Rank 0's weights to every engine, versioned; nothing to do in hybrid mode. */
export async function syncEngines(c: DeepSWEConfig, learner: ActorHandle<LearnerActor>, engines: ActorHandle<EngineActor>[]): Promise<{ version: number; seconds: number; bytes: number }> {
  if (c.mode === "hybrid") return { version: (await learner.info()).version, seconds: 0, bytes: 0 };
  const t0 = performance.now();
  const { version } = await learner.info();
  const subject = `troupe.weights.${randomBytes(6).toString("hex")}.v${version}`;
  const opts = { bucketBytes: c.sync.bucketMB * 2 ** 20, windowBytes: c.sync.windowMB * 2 ** 20 };
  const [sent] = await Promise.all([learner.publishWeights(subject, engines.length, opts), ...engines.map((e) => e.receiveWeights(subject, version, opts))]);
  return { version, seconds: (performance.now() - t0) / 1000, bytes: sent.bytes };
}

/** Rank 0's weight digest, after checking that every replica holds the same bits. */
async function sameWeights(rank0: ActorHandle<LearnerActor>, replicas: ActorHandle<LearnerActor | EngineActor>[], step: number): Promise<string> {
  const [want, ...got] = await Promise.all([rank0.checksum(), ...replicas.map((r) => r.checksum())]);
  const bad = got.findIndex((d) => d !== want);
  if (bad >= 0) throw new Error(`step ${step}: replica ${bad + 1} of ${replicas.length} holds weights that differ from learner 0's (the data-parallel group or the weight sync diverged)`);
  return want;
}

/** Atomic: saved into a temporary folder, then renamed into place. */
async function checkpoint(learner: ActorHandle<LearnerActor>, ckDir: string, step: number): Promise<void> {
  const tmp = join(ckDir, `.step-${step}.tmp`);
  rmSync(tmp, { recursive: true, force: true });
  await learner.save(tmp);
  rmSync(join(ckDir, `step-${step}`), { recursive: true, force: true });
  renameSync(tmp, join(ckDir, `step-${step}`));
}

/**
 * Groups by task, compact filtering, advantages; the sequences to train on. Infrastructure
 * failures leave their group; a group left with fewer than two trajectories has no baseline
 * and is dropped (counted).
 */
function prepare(tasks: Task[], trajs: Trajectory[], c: DeepSWEConfig) {
  const batch: TrainSequence[] = [];
  const groups: number[][] = [];
  let filtered = 0, errors = 0, dropped = 0;
  for (const task of new Set(tasks)) {
    const group = trajs.filter((t) => t.taskId === task.id);
    errors += group.filter(failed).length;
    const prepared = compactFilter(group, c.algorithm.compactFilter);
    if (prepared.length < 2) {
      dropped++;
      continue;
    }
    filtered += prepared.filter((p) => p.filtered).length;
    const adv = advantages(prepared.map((p) => p.reward), c.algorithm.advantage);
    groups.push(prepared.map((p) => p.reward));
    prepared.forEach((p, i) => {
      if (p.mask.some((m) => m === 1) && adv[i] !== 0) batch.push({ tokens: p.trajectory.tokens, mask: p.mask, advantage: adv[i] });
    });
  }
  return { batch, groups, filtered, errors, dropped };
}

/** Supervised warm-up: gold demonstrations of the train tasks, recorded token for token. */
async function warmup(cluster: Cluster, c: DeepSWEConfig, train: Task[], learners: ActorHandle<LearnerActor>[], log: (l: string) => void): Promise<void> {
  const env = await cluster.actor(EnvActorClass, [{ backend: c.backend, maxSteps: 30 }]);
  const demo = await cluster.actor(RolloutActorClass, [{ env, policy: { kind: "replay" }, tokenizer: c.model.tokenizer, limits: { maxPromptTokens: c.rollout.maxPromptTokens, maxResponseTokens: 1 << 20 } }]);
  const demos = (await runJobs([demo], train.map((task) => ({ task, rolloutIndex: 0 })), "replay")).filter((t) => t.reward === 1);
  log(`warm-up: ${demos.length} gold demonstrations of ${train.length} train tasks`);
  for (let s = 1; s <= c.warmup.sftSteps; s++) {
    const seqs = demos.map((t) => ({ tokens: t.tokens, mask: t.mask }));
    const batchTokens = seqs.reduce((a, q) => a + q.mask.reduce((x, y) => x + y, 0), 0);
    const rs = await Promise.all(learners.map((l, r) => l.train(seqs.filter((_, i) => i % learners.length === r), { mode: "ce", batchTokens },
      { lr: c.warmup.lr, weightDecay: 0, maxGradNorm: c.optim.maxGradNorm })));
    log(`warm-up step ${s}/${c.warmup.sftSteps}: cross-entropy ${rs.reduce((a, r) => a + r.loss, 0).toFixed(3)}`);
  }
  await cluster.kill(demo);
  await cluster.kill(env);
}
