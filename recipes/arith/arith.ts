// `node driver.js --recipe arith`: the trainer proved on a CPU in a minute. A tiny Qwen3 learns
// one-digit addition modulo 10 ("a+b=" → one token) by reinforcement learning alone: K samples
// per prompt at temperature 1, exact-match reward, leave-one-out advantages, the clipped policy
// gradient, AdamW — the deepswe recipe's algorithm with no sandbox in the way. A random model
// starts near 1/12 (the vocabulary: ten digits, '+', '='); the reward climbs as it learns.
import { mkdirSync, writeFileSync, appendFileSync } from "node:fs";
import { join } from "node:path";
import { LearnerActorClass } from "../../actors/index.js";
import type { Qwen3Config, WorkerBackend } from "../../gpu/index.js";
import { advantages, solveCounts } from "../../rl/index.js";
import { init, stopping } from "../../runtime/index.js";

export const PLUS = 10;
export const EQUALS = 11;

export interface ArithOptions {
  out: string;
  steps?: number;
  promptsPerStep?: number;
  k?: number;
  lr?: number;
  seed?: number;
  /** The learner's native worker: the reference CPU kernels (default) or libtorch. */
  worker?: WorkerBackend;
  cluster?: string;
  progress?: (line: string, final: boolean) => void;
  /** Sample each step while the previous one trains (one version stale; decoupled PPO). */
  async?: { importanceCap?: number };
}

export interface ArithStep {
  step: number;
  reward_mean: number;
  solve_all: number;
  solve_none: number;
  solve_partial: number;
  loss: number;
  grad_norm: number;
  rollout_s: number;
  train_s: number;
  /** Versions between the weights that sampled the step and those it updated (0, or 1 with `async`). */
  staleness: number;
}

const MODEL: Qwen3Config = {
  vocab_size: 12, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2,
  head_dim: 16, max_position_embeddings: 16, rope_theta: 10000, tie_word_embeddings: false,
};

export async function runArith(o: ArithOptions): Promise<ArithStep[]> {
  const steps = o.steps ?? 200, n = o.promptsPerStep ?? 32, k = o.k ?? 8, seed = o.seed ?? 1;
  mkdirSync(o.out, { recursive: true });
  const config = { recipe: "arith", steps, promptsPerStep: n, k, lr: o.lr ?? 1e-3, seed, model: MODEL, worker: o.worker ?? {}, async: o.async ?? false };
  writeFileSync(join(o.out, "config.json"), JSON.stringify(config, null, 2));
  const report = o.progress ?? ((line, final) => process.stderr.write(process.stderr.isTTY && !final ? `\r${line}` : `${line}\n`));
  const cluster = await init(o.cluster ? { cluster: o.cluster } : {});
  const rows: ArithStep[] = [];
  try {
    const learner = await cluster.actor(LearnerActorClass, [{ config: MODEL, seed, threads: 1, ...o.worker }], { process: "dedicated" });
    let rng = seed >>> 0 || 1;
    const rand = (m: number) => ((rng = (Math.imul(rng, 1664525) + 1013904223) >>> 0) % m);
    // A step's samples: its problems, K prompts each, one answer token each.
    const sample = (step: number) => {
      const problems = Array.from({ length: n }, () => [rand(10), rand(10)] as const);
      const prompts = problems.flatMap(([a, b]) => Array.from({ length: k }, () => [a, PLUS, b, EQUALS]));
      return learner.generateBatch(prompts, { maxTokens: 1, temperature: 1, seed: seed * 100_003 + step }).then((outs) => ({ problems, prompts, outs }));
    };
    let next = sample(1);
    for (let step = 1; step <= steps; step++) {
      const t0 = Date.now();
      const { problems, prompts, outs } = await next;
      // Asynchronously, the next step's samples are asked for before this step trains: the
      // learner's mailbox runs them first, with the weights this step is about to update, so
      // they are one version stale when trained on (decoupled PPO corrects for it).
      if (o.async && step < steps) next = sample(step + 1);
      const rewards: number[] = outs.map((g, i) => (g.tokens[0] === (problems[Math.floor(i / k)][0] + problems[Math.floor(i / k)][1]) % 10 ? 1 : 0));
      const groups = problems.map((_, p) => rewards.slice(p * k, (p + 1) * k));
      const adv = groups.flatMap((g) => advantages(g, "rloo"));
      const t1 = Date.now();
      const version = (await learner.info()).version;
      const seqs = prompts.map((p, i) => [...p, ...outs[i].tokens]);
      // The learner recomputes the old log-probs (as DEEPSWE does); asynchronously it also
      // weights each token by the truncated ratio to the sampler's log-probs.
      const offPolicy = o.async ? { importanceCap: o.async.importanceCap ?? 5 } : {};
      const tr = await learner.train(
        seqs.map((s, i) => ({ tokens: s, mask: s.map((_, j) => (j >= 4 ? 1 : 0)), advantage: adv[i], behaviourLogprobs: [0, 0, 0, 0, ...outs[i].logprobs] })),
        { mode: "pg", lossScale: 1, ...offPolicy },  // DEEPSWE's clip range (the worker's defaults); C = 1 for one-token answers
        { lr: config.lr, weightDecay: 0.01, maxGradNorm: 1 },
      );
      if (!o.async && step < steps) next = sample(step + 1);
      const row: ArithStep = {
        step, reward_mean: rewards.reduce((a, b) => a + b, 0) / rewards.length, ...solveCounts(groups), loss: tr.loss, grad_norm: tr.gradNorm,
        rollout_s: (t1 - t0) / 1000, train_s: (Date.now() - t1) / 1000, staleness: version - outs[0].version,
      };
      if (stopping()) break;  // a step cut short by a signal is not recorded
      rows.push(row);
      appendFileSync(join(o.out, "metrics.jsonl"), `${JSON.stringify(row)}\n`);
      report(`step ${step}/${steps}  reward ${row.reward_mean.toFixed(3)}  solve_all ${row.solve_all} partial ${row.solve_partial} none ${row.solve_none}`, step === steps);
    }
    await learner.save(join(o.out, "checkpoints", `step-${steps}`));
    return rows;
  } finally {
    await cluster.shutdown();
  }
}
