// RolloutActor: runs trajectories against an EnvActor with a policy, and streams each record
// back as it finishes. A failure of the sandbox or the engine ends that trajectory with
// termination "error"; the next one goes on.
import type { Scaffold, Task } from "../../envs/index.js";
import { makeTokenizer, OpenAIClient, type SamplingParams, type Tokenizer, type TokenizerName } from "../../llm/index.js";
import type { Trajectory } from "../../rl/index.js";
import type { ActorHandle } from "../../runtime/index.js";
import type { Generator } from "../engine/generator.js";
import type { EnvActor } from "../env/env-actor.js";
import { policyFor, type PolicySpec } from "./policies.js";
import { runTrajectory, type AgentEnv, type TrajectoryLimits } from "./trajectory.js";

export interface RolloutJob {
  task: Task;
  rolloutIndex: number;
  /** Overrides the actor's sampling for this job (validation runs greedy). */
  sampling?: Omit<SamplingParams, "maxTokens" | "stop">;
  /**
   * Replay the task's gold patch instead of the actor's policy: the recipe's off-policy
   * guidance (`rollout.goldPerGroup`), a known success inside a group of the model's tries.
   * The model's token budgets do not cut a demonstration (as in the warm-up); the prompt
   * limit, the step limit and the timeout still apply.
   */
  gold?: boolean;
}

export interface RolloutActorOptions {
  env: ActorHandle<EnvActor>;
  policy: PolicySpec;
  engine?: ActorHandle<Generator>;
  /** "qwen3" (default) or "bytes" (tiny models trained from scratch). */
  tokenizer?: TokenizerName;
  sampling?: Omit<SamplingParams, "maxTokens" | "stop">;
  limits?: TrajectoryLimits;
  /** What the agent is told, its gold replays included (default "full"). */
  scaffold?: Scaffold;
}

export class RolloutActor {
  private tok: Tokenizer;
  private env!: AgentEnv;
  private openai?: OpenAIClient;

  constructor(private opts: RolloutActorOptions) {
    this.tok = makeTokenizer(opts.tokenizer);
    if (opts.policy.kind === "openai") this.openai = new OpenAIClient({ endpoints: opts.policy.urls, model: opts.policy.model });
  }

  async onStart(): Promise<void> {
    const h = this.opts.env;
    this.env = { stepTimeoutSec: await h.stepTimeoutSec(), reset: (t) => h.reset(t), step: (c) => h.step(c), reward: () => h.reward() };
  }

  /** One trajectory. */
  async run(job: RolloutJob): Promise<Trajectory> {
    const sampling = { ...this.opts.sampling, ...job.sampling };
    const seed = sampling.seed;
    const session = `${job.task.id}#${job.rolloutIndex}`;
    try {
      return await runTrajectory({
        env: this.env, task: job.task, rolloutIndex: job.rolloutIndex, tokenizer: this.tok,
        policy: policyFor(job.gold ? { kind: "replay" } : this.opts.policy, job.task, this.tok, this.opts.engine, this.openai, session, this.opts.scaffold),
        scaffold: this.opts.scaffold,
        // Rollouts of one task must differ: the index moves the seed.
        sampling: { ...sampling, seed: seed === undefined ? undefined : seed + job.rolloutIndex },
        limits: job.gold ? { ...this.opts.limits, maxResponseTokens: Infinity, maxTurnTokens: Infinity } : this.opts.limits,
      });
    } finally {
      this.openai?.release(session);
    }
  }

  /** Several trajectories one after the other, each streamed back as it finishes. */
  async *runAll(jobs: RolloutJob[]): AsyncGenerator<Trajectory> {
    for (const j of jobs) yield await this.run(j);
  }
}

/** The record of a trajectory whose actor call failed (the actor died, the cluster went away). */
export function errorTrajectory(job: RolloutJob, policy: string, e: Error): Trajectory {
  return {
    taskId: job.task.id, rolloutIndex: job.rolloutIndex, policy, tokens: [], mask: [], logprobs: [], promptLength: 0, reward: 0,
    termination: "error", fault: "infrastructure", steps: 0, timings: { totalMs: 0, modelMs: 0, toolMs: 0, rewardMs: 0 }, error: `${e.name}: ${e.message}`,
  };
}
