// The multi-turn gradient path on real trajectories and hand-built batches: what a tiny model
// sampled over several turns (observations between its replies) is recorded so that the
// learner's recomputed log-probs line up with the sampler's token for token; the policy-gradient
// step touches only generated tokens, each advantage moves its own trajectory, and a
// compact-filtered trajectory contributes nothing.
import { expect } from "chai";
import { LearnerActor, runTrajectory, type Generator } from "../../actors/index.js";
import { SWEEnv, WarmPool, type Task } from "../../envs/index.js";
import { ByteTokenizer, type Policy, type SamplingParams } from "../../llm/index.js";
import { compactFilter, type Trajectory } from "../../rl/index.js";
import { PROFILES } from "../../recipes/index.js";
import { TINY } from "../gpu/worker-helpers.js";
import { dockerEnv, task } from "../envs/helpers.js";

const LOSS = { mode: "pg" as const, epsLow: 0.2, epsHigh: 0.28, lossScale: 16 };
const STEP = { lr: 1e-2, weightDecay: 0, maxGradNorm: 1 };

describe("the multi-turn gradient path", function () {
  this.timeout(180_000);
  const learners: LearnerActor[] = [];
  const learner = async (config: unknown = TINY) => {
    const l = new LearnerActor({ config: config as never, seed: 3, threads: 1 });
    await l.onStart();
    learners.push(l);
    return l;
  };
  after(() => Promise.all(learners.map((l) => l.onStop())));

  it("a multi-turn trajectory's recorded log-probs are the learner's recomputed ones, token for token, on generated tokens only", async () => {
    const { backend, tasks } = await dockerEnv();
    const pool = new WarmPool(backend, { size: 1 });
    const model = await learner(PROFILES.smoke.model.config);
    const env = new SWEEnv(pool, { maxSteps: 4 });
    // The learner generating, as in hybrid mode (a Generator behind the Policy interface). An
    // untrained model seldom closes its reply; stopping it at any ASCII byte as well keeps its
    // replies short, so the trajectory has many turns with observations between them.
    const gen: Generator = model;
    const ascii = Array.from({ length: 128 }, (_, i) => i);
    const policy: Policy & { version?: number } = {
      name: "learner",
      async generate(prompt: number[], p: SamplingParams) {
        const g = await gen.generate(prompt, { ...p, stop: [...(p.stop ?? []), ...ascii] });
        this.version = g.version;
        return g;
      },
    };
    let rec: Trajectory;
    try {
      rec = await runTrajectory({ env, task: task(tasks, "textkit-005") as Task, tokenizer: new ByteTokenizer(), policy, sampling: { temperature: 1, seed: 7 },
        limits: { maxTurnTokens: 24, maxResponseTokens: 4000 } });
    } finally {
      await env.close();
      await pool.close();
    }
    // Several replies with observations between them (each malformed reply gets a reminder).
    const turns = rec.mask.reduce((n, m, i) => n + (m === 1 && rec.mask[i - 1] !== 1 ? 1 : 0), 0);
    expect(turns, rec.termination).to.be.at.least(3);
    const [recomputed] = await model.logprobs([rec.tokens]);
    let generated = 0;
    for (let i = 0; i < rec.tokens.length; i++) {
      if (rec.mask[i] === 1) {
        generated++;
        expect(recomputed[i], `token ${i}`).to.be.closeTo(rec.logprobs[i], 1e-4);
      } else {
        expect(rec.logprobs[i]).to.equal(0);
      }
    }
    expect(generated).to.be.at.least(8);
  });

  it("the step touches only generated tokens: masked positions' old log-probs change nothing, an all-masked sequence moves no weight", async () => {
    const tokens = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    const mask = [0, 0, 0, 1, 1, 0, 0, 1, 1, 1];
    const a = await learner(), b = await learner(), c = await learner();
    const before = await c.checksum();
    const [old] = await a.logprobs([tokens]);
    const garbage = old.map((x, i) => (mask[i] ? x : -50 + i));
    await a.train([{ tokens, mask, advantage: 1, oldLogprobs: old }], LOSS, STEP);
    await b.train([{ tokens, mask, advantage: 1, oldLogprobs: garbage }], LOSS, STEP);
    expect(await a.checksum()).to.equal(await b.checksum());
    expect(await a.checksum()).to.not.equal(before);
    const r = await c.train([{ tokens, mask: mask.map(() => 0), advantage: 1 }], LOSS, STEP);
    expect(r.gradNorm).to.equal(0);
    expect(await c.checksum()).to.equal(before);
  });

  it("each advantage moves its own trajectory: up for +1, down for −1", async () => {
    const x = { tokens: [1, 2, 3, 4, 5, 6, 7, 8], mask: [0, 0, 0, 1, 1, 1, 1, 1] };
    const y = { tokens: [9, 10, 11, 12, 13, 14, 15, 16], mask: [0, 0, 0, 1, 1, 1, 1, 1] };
    const l = await learner();
    const sum = async (s: typeof x) => (await l.logprobs([s.tokens]))[0].reduce((a, v, i) => a + (s.mask[i] ? v : 0), 0);
    const [x0, y0] = [await sum(x), await sum(y)];
    for (let i = 0; i < 3; i++) await l.train([{ ...x, advantage: 1 }, { ...y, advantage: -1 }], { ...LOSS, batchSequences: 2 }, STEP);
    expect(await sum(x)).to.be.above(x0 + 0.1);
    expect(await sum(y)).to.be.below(y0 - 0.1);
  });

  it("a compact-filtered trajectory contributes nothing: the step is the one without it, to rounding", async () => {
    const base = { taskId: "t", rolloutIndex: 0, policy: "p", logprobs: [], promptLength: 3, reward: 0, steps: 1, timings: { totalMs: 0, modelMs: 0, toolMs: 0, rewardMs: 0 } };
    const good: Trajectory = { ...base, tokens: [1, 2, 3, 4, 5, 6], mask: [0, 0, 0, 1, 1, 1], logprobs: [0, 0, 0, 0, 0, 0], reward: 1, termination: "finished" };
    const cut: Trajectory = { ...base, tokens: [7, 8, 9, 10, 11, 12], mask: [0, 0, 0, 1, 1, 1], logprobs: [0, 0, 0, 0, 0, 0], termination: "context" };
    const [pg, pc] = compactFilter([good, cut]);
    expect(pc.filtered).to.equal(true);
    expect(pc.mask.every((m) => m === 0)).to.equal(true);
    const [a, b, c] = [await learner(), await learner(), await learner()];
    const g = { tokens: pg.trajectory.tokens, mask: pg.mask, advantage: 0.5 };
    await a.train([g, { tokens: pc.trajectory.tokens, mask: pc.mask, advantage: -0.5 }], { ...LOSS, batchSequences: 2 }, STEP);
    await b.train([g], { ...LOSS, batchSequences: 2 }, STEP);
    // The same trajectory unfiltered: what "contributing" would look like.
    await c.train([g, { tokens: cut.tokens, mask: cut.mask, advantage: -0.5 }], { ...LOSS, batchSequences: 2 }, STEP);
    // Bits may differ: BLAS rounds a batch of two sequences differently from one of one (it
    // does on some CPUs), and AdamW's division by √v turns a rounding-sized gradient into a
    // step. What the step did must not differ: the models score both sequences alike (1e-5
    // apart, measured) where the unfiltered trajectory moves a score by 0.69.
    const probe = [good.tokens, cut.tokens];
    const [la, lb, lc] = await Promise.all([a, b, c].map((l) => l.logprobs(probe)));
    const gap = (x: number[][], y: number[][]) => Math.max(...x.flatMap((s, i) => s.map((v, j) => Math.abs(v - y[i][j]))));
    expect(gap(la, lb)).to.be.below(1e-3);
    expect(gap(lc, lb)).to.be.above(0.1);
  });
});
