// `node driver.js --recipe verifier`: supervised training of an execution-free verifier from
// trajectories a run or an evaluation already has, labelled by their rewards: the verification
// prompt (recipes/eval/verifier.ts) followed by YES for a reward of 1 and NO otherwise, the
// loss on the answer alone. Held out by task (no task in both halves), classes balanced in
// training by dropping the majority's surplus; accuracy and AUC of P(YES) on the held-out part
// before and after. The result is a checkpoint `eval --verifier native:DIR` takes.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LearnerActorClass } from "../../actors/index.js";
import type { Task } from "../../envs/index.js";
import type { Qwen3Config, WorkerBackend } from "../../gpu/index.js";
import { ByteTokenizer, makeTokenizer, type Tokenizer, type TokenizerName } from "../../llm/index.js";
import { auc, failed, seededRandom, shuffled, type Trajectory } from "../../rl/index.js";
import { init, stopping } from "../../runtime/index.js";
import { pYes, VERDICT, verificationPrompt, type Verifier } from "../eval/verifier.js";
import { readJsonl } from "../jsonl.js";

export interface VerifierTrainOptions {
  trajectories: Trajectory[];
  tasks: Task[];
  out: string;
  /** Start from this checkpoint folder, or else a random model of `config` (a toy). */
  init?: string;
  config?: Qwen3Config;
  /** The verifier's tokenizer (default: bytes for a random model, else by the checkpoint's vocabulary). */
  tokenizer: TokenizerName;
  /** The tokenizer the trajectories' tokens are in. */
  agentTokenizer: TokenizerName;
  epochs?: number;
  lr?: number;
  /** Examples per optimizer step (default 8). */
  batch?: number;
  /** Share of the tasks held out (default 0.25). */
  heldOut?: number;
  seed?: number;
  maxPromptTokens?: number;
  worker?: WorkerBackend;
  cluster?: string;
  progress?: (line: string) => void;
}

export interface VerifierReport {
  examples: { train: number; held_out: number; dropped_to_balance: number; skipped: number };
  tasks: { train: string[]; held_out: string[] };
  before: { accuracy: number; auc: number };
  after: { accuracy: number; auc: number };
  /** Mean loss of each epoch. */
  losses: number[];
  checkpoint: string;
}

/** The model trained when no checkpoint is given: a tiny byte-level Qwen3, to see the mechanism work. */
export const TOY_VERIFIER: Qwen3Config = {
  vocab_size: new ByteTokenizer().vocabSize, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2,
  head_dim: 16, max_position_embeddings: 4096, rope_theta: 10000, tie_word_embeddings: true,
};

interface Example {
  task: Task;
  trajectory: Trajectory;
  yes: boolean;
}

/**
 * Examples from trajectories: infrastructure failures say nothing and empty patches are no
 * candidates (eval never asks the verifier about them), so both are skipped.
 */
export function verifierExamples(trajs: Trajectory[], tasks: Task[]): { examples: Example[]; skipped: number } {
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const examples: Example[] = [];
  let skipped = 0;
  for (const t of trajs) {
    const task = byId.get(t.taskId);
    if (!task) throw new TypeError(`trajectory of task '${t.taskId}', which the tasks given do not have`);
    if (failed(t) || !t.patch?.trim()) skipped++;
    else examples.push({ task, trajectory: t, yes: t.reward === 1 });
  }
  return { examples, skipped };
}

/**
 * The trajectories of run or evaluation folders (their trajectories.jsonl), and the tokenizer
 * they are in.
 */
export function readTrajectories(dirs: string[]): { trajectories: Trajectory[]; tokenizer: TokenizerName } {
  const trajectories = dirs.flatMap((d) => {
    const rows = readJsonl<Trajectory>(join(d, "trajectories.jsonl"));
    if (!rows.length) throw new TypeError(`${d}: no trajectories (trajectories.jsonl is missing or empty)`);
    return rows;
  });
  return { trajectories, tokenizer: tokenizerOfTrajectories(trajectories) };
}

/** The tokenizer trajectories are in: a byte model's ids never pass the byte vocabulary, Qwen3's text always does. */
export function tokenizerOfTrajectories(trajectories: Trajectory[]): TokenizerName {
  const top = trajectories.reduce((m, t) => t.tokens.reduce((a, x) => (x > a ? x : a), m), 0);
  return top < new ByteTokenizer().vocabSize ? "bytes" : "qwen3";
}

/** Tasks split in two by a seeded draw: the held-out share (at least one task when there are two). */
function splitTasks(ids: string[], share: number, seed: number): { train: Set<string>; heldOut: Set<string> } {
  const sorted = [...new Set(ids)].sort();
  const order = shuffled(sorted.length, seededRandom(seed)).map((i) => sorted[i]);
  const n = sorted.length < 2 ? 0 : Math.max(1, Math.round(share * sorted.length));
  return { heldOut: new Set(order.slice(0, n)), train: new Set(order.slice(n)) };
}

/** The majority class cut down to the minority's size (a seeded choice). */
function balanced(xs: Example[], seed: number): Example[] {
  const yes = xs.filter((x) => x.yes), no = xs.filter((x) => !x.yes);
  const [few, many] = yes.length <= no.length ? [yes, no] : [no, yes];
  const keep = shuffled(many.length, seededRandom(seed + 1)).slice(0, few.length).map((i) => many[i]);
  return [...few, ...keep];
}

export async function trainVerifier(o: VerifierTrainOptions): Promise<VerifierReport> {
  const { examples, skipped } = verifierExamples(o.trajectories, o.tasks);
  const seed = o.seed ?? 1;
  const split = splitTasks(examples.map((x) => x.task.id), o.heldOut ?? 0.25, seed);
  const heldOut = examples.filter((x) => split.heldOut.has(x.task.id));
  const pool = examples.filter((x) => split.train.has(x.task.id));
  const train = balanced(pool, seed);
  if (!train.length) throw new TypeError(`no training examples: ${examples.length} usable trajectories (${skipped} skipped), and the training tasks' do not have both a reward of 1 and of 0`);
  if (!heldOut.length) throw new TypeError("no held-out examples: the trajectories cover fewer than two tasks");
  mkdirSync(o.out, { recursive: true });
  const agentTok = makeTokenizer(o.agentTokenizer);
  const tok: Tokenizer = makeTokenizer(o.tokenizer);
  const answer = { yes: tok.encode(VERDICT.yes), no: tok.encode(VERDICT.no) };
  const cluster = await init(o.cluster ? { cluster: o.cluster } : {});
  try {
    const learner = await cluster.actor(LearnerActorClass, [{ ...(o.init ? { checkpoint: o.init } : { config: o.config }), seed, threads: 1, ...o.worker }], { process: "dedicated" });
    const v: Verifier = { name: "training", scorer: learner, tokenizer: tok, maxPromptTokens: o.maxPromptTokens ?? 4096 };
    const prompts = new Map<Example, number[]>();
    const promptOf = (x: Example) => prompts.get(x) ?? prompts.set(x, verificationPrompt(v, x.task, x.trajectory, agentTok)).get(x)!;
    const measure = async () => {
      const scores: number[] = [];
      for (const x of heldOut) scores.push(await pYes(v, x.task, x.trajectory, agentTok));
      const labels = heldOut.map((x) => x.yes);
      return { accuracy: scores.filter((p, i) => (p >= 0.5) === labels[i]).length / scores.length, auc: auc(scores, labels) };
    };
    const before = await measure();
    o.progress?.(`verifier: ${train.length} training examples (${pool.length - train.length} dropped to balance), ${heldOut.length} held out; before: accuracy ${before.accuracy.toFixed(3)}, AUC ${before.auc.toFixed(3)}`);
    const losses: number[] = [];
    const per = o.batch ?? 8;
    for (let epoch = 0; epoch < (o.epochs ?? 20) && !stopping(); epoch++) {
      const order = shuffled(train.length, seededRandom(seed * 1000 + epoch)).map((i) => train[i]);
      let sum = 0, tokens = 0, steps = 0;
      for (let at = 0; at < order.length; at += per, steps++) {
        const seqs = order.slice(at, at + per).map((x) => {
          const p = promptOf(x), a = x.yes ? answer.yes : answer.no;
          return { tokens: [...p, ...a], mask: [...p.map(() => 0), ...a.map(() => 1)] };
        });
        const r = await learner.train(seqs, { mode: "ce" }, { lr: o.lr ?? 1e-3 });
        sum += r.loss;
        tokens += r.tokens;
      }
      losses.push(sum / Math.max(1, steps));
      o.progress?.(`verifier: epoch ${epoch + 1}/${o.epochs ?? 20}, loss ${losses.at(-1)!.toFixed(4)} (${tokens} answer tokens)`);
    }
    const after = await measure();
    const checkpoint = join(o.out, "verifier");
    await learner.saveWeights(checkpoint);
    const report: VerifierReport = {
      examples: { train: train.length, held_out: heldOut.length, dropped_to_balance: pool.length - train.length, skipped },
      tasks: { train: [...split.train].sort(), held_out: [...split.heldOut].sort() }, before, after, losses, checkpoint,
    };
    writeFileSync(join(o.out, "verifier.json"), JSON.stringify(report, null, 2));
    return report;
  } finally {
    await cluster.shutdown();
  }
}
