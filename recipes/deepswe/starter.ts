// The starter policy a fresh laptop run begins RL from: the model supervised on gold
// demonstrations of the train tasks (recorded token for token by a replay rollout in the run's
// scaffold) until sampling at temperature 1 would solve some of them. A model from scratch never
// finds a reward on SWE tasks, and one that reproduces every demonstration leaves RL nothing to
// do: the build stops once the demonstrations' own probability (below) reaches
// `warmup.stopAt`, so that RL starts where groups hold both successes and failures.
//
// Built once and cached by a hash of everything it is built from, as the sandbox images are:
// the model, the tokenizer and seed, the warm-up's settings, the scaffold, and each train task's
// statement and gold patch. A change to any of them builds a new one.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LearnerActorClass, type LearnerActor } from "../../actors/index.js";
import { cacheDir, type Task } from "../../envs/index.js";
import { seededRandom, shuffled, type Trajectory } from "../../rl/index.js";
import type { ActorHandle, Cluster } from "../../runtime/index.js";
import { progressBar, type ProgressSink } from "../progress.js";
import { closeSlots, rolloutSlots, runJobs } from "../rollouts.js";
import type { DeepSWEConfig } from "./config.js";

/** Bumped when how a starter is built changes (what the hash cannot see). */
const RECIPE_VERSION = 2;

export interface StarterInfo {
  /** The folder of its weights (a checkpoint folder a learner starts from). */
  dir: string;
  epochs: number;
  /** Mean over the demonstrations of the probability of sampling each one exactly at temperature 1. */
  demoProbability: number;
  /** Seconds the build took (the one that made it, when it came from the cache). */
  buildSeconds: number;
  cached: boolean;
}

/** The cached starter for this config and these tasks, built first if there is none. */
export async function starterFor(cluster: Cluster, c: DeepSWEConfig, train: Task[], log: (l: string) => void, progress: ProgressSink): Promise<StarterInfo> {
  const dir = join(cacheDir(), "starters", starterHash(c, train));
  const meta = join(dir, "starter.json");
  if (existsSync(meta)) {
    const m = JSON.parse(readFileSync(meta, "utf8")) as Omit<StarterInfo, "dir" | "cached">;
    log(`starter: cached in ${dir} (built in ${minutes(m.buildSeconds)}, ${m.epochs} epochs)`);
    return { ...m, dir, cached: true };
  }
  log(`starter: none cached for this config; building it in ${dir} (once: the next runs start from it)`);
  const t0 = Date.now();
  const demos = await demonstrations(cluster, c, train);
  log(`starter: ${demos.length} gold demonstrations of ${train.length} train tasks (${c.rollout.scaffold} scaffold)`);
  if (!demos.length) throw new Error("starter: no train task's gold patch replays to reward 1: nothing to learn from");
  const source = c.model.init ? { checkpoint: c.model.init } : { config: c.model.config as never };
  const learner = await cluster.actor(LearnerActorClass, [{ ...source, seed: c.model.seed, microBatchTokens: c.optim.microBatchTokens, ...c.learner }], { process: "dedicated" });
  try {
    const { epochs, demoProbability } = await supervise(learner, demos, c, (epoch, extra, final) => progress(progressBar("starter epochs", epoch, c.warmup.epochs, t0, extra), final));
    const tmp = `${dir}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    await learner.saveWeights(tmp);
    const info = { epochs, demoProbability, buildSeconds: (Date.now() - t0) / 1000 };
    writeFileSync(join(tmp, "starter.json"), JSON.stringify(info, null, 2));
    mkdirSync(join(dir, ".."), { recursive: true });
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
    log(`starter: built in ${minutes(info.buildSeconds)}: ${epochs} epochs, demonstrations' probability ${demoProbability.toFixed(3)}`);
    return { ...info, dir, cached: false };
  } finally {
    await cluster.kill(learner);
  }
}

/** The train tasks' gold patches replayed in the run's scaffold; those that score 1. */
async function demonstrations(cluster: Cluster, c: DeepSWEConfig, train: Task[]): Promise<Trajectory[]> {
  const slots = await rolloutSlots(cluster, c.rollout.envActors, { backend: c.backend, maxSteps: c.rollout.maxSteps }, () => ({
    policy: { kind: "replay" }, tokenizer: c.model.tokenizer, scaffold: c.rollout.scaffold,
    limits: { maxPromptTokens: c.rollout.maxPromptTokens, maxResponseTokens: 1 << 20 },
  }));
  try {
    return (await runJobs(slots, train.map((task) => ({ task, rolloutIndex: 0 })), "replay")).filter((t) => t.reward === 1);
  } finally {
    await closeSlots(cluster, slots);
  }
}

/**
 * Cross-entropy epochs over the demonstrations (shuffled by the seed, `warmup.batch` per
 * optimizer step) until the demonstrations' probability reaches `stopAt` or the epochs run out.
 * That probability is exact, not sampled: a trajectory's observations follow from its actions, so
 * the chance of sampling a demonstration whole is the product of its generated tokens'
 * probabilities, one forward pass each. Sampling solves at least that often (other replies
 * also solve), which is what makes it a safe place to stop.
 */
async function supervise(learner: ActorHandle<LearnerActor>, demos: Trajectory[], c: DeepSWEConfig, progress: (epoch: number, extra: string, final: boolean) => void): Promise<{ epochs: number; demoProbability: number }> {
  const w = c.warmup;
  const seqs = demos.map((t) => ({ tokens: t.tokens, mask: t.mask }));
  const random = seededRandom(c.model.seed);
  let p = 0;
  let epoch = 0;
  while (epoch < w.epochs && p < w.stopAt) {
    epoch++;
    const order = shuffled(seqs.length, random);
    let loss = 0, batches = 0;
    for (let b = 0; b < order.length; b += w.batch, batches++) {
      loss += (await learner.train(order.slice(b, b + w.batch).map((i) => seqs[i]), { mode: "ce" }, { lr: w.lr, weightDecay: 0, maxGradNorm: c.optim.maxGradNorm })).loss;
    }
    p = await demoProbability(learner, seqs);
    progress(epoch, `cross-entropy ${(loss / batches).toFixed(3)}, demonstrations' probability ${p.toFixed(3)} (stops at ${w.stopAt})`, false);
  }
  progress(epoch, `demonstrations' probability ${p.toFixed(3)}`, true);
  return { epochs: epoch, demoProbability: p };
}

/** Each sequence's log-probability of its generated (mask 1) tokens, all together, under the learner's weights. */
export async function generatedLogprobs(learner: ActorHandle<LearnerActor>, seqs: { tokens: number[]; mask: number[] }[]): Promise<number[]> {
  const lps = await learner.logprobs(seqs.map((s) => s.tokens));
  return lps.map((lp, i) => lp.reduce((a, x, j) => a + (seqs[i].mask[j] ? x : 0), 0));
}

/** Mean over sequences of the probability of sampling their generated tokens exactly. */
async function demoProbability(learner: ActorHandle<LearnerActor>, seqs: { tokens: number[]; mask: number[] }[]): Promise<number> {
  const ps = (await generatedLogprobs(learner, seqs)).map(Math.exp);
  return ps.reduce((a, b) => a + b, 0) / Math.max(1, ps.length);
}

function starterHash(c: DeepSWEConfig, train: Task[]): string {
  const what = {
    recipe: RECIPE_VERSION, model: c.model, learner: c.learner.backend, warmup: c.warmup, scaffold: c.rollout.scaffold, maxSteps: c.rollout.maxSteps,
    tasks: train.map((t) => ({ id: t.id, problem: t.problemStatement, gold: t.goldPatch, solution: t.solution, workdir: t.workdir })),
  };
  return createHash("sha256").update(JSON.stringify(what)).digest("hex").slice(0, 16);
}

function minutes(s: number): string {
  return s < 90 ? `${s.toFixed(0)} s` : `${(s / 60).toFixed(1)} min`;
}
