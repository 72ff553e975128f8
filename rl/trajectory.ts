// The trajectory record: what a rollout produced, token-exact, and what the learner needs.

/** Why a trajectory ended. */
export type Termination =
  | "finished"     // the agent called finish
  | "context"      // the token budget ran out
  | "max_steps"    // the step limit
  | "timeout"      // the wall-clock limit of the trajectory
  | "tool_timeout" // a tool call did not come back at all (the sandbox hung)
  | "sandbox_destroyed" // the agent's commands left a sandbox that runs nothing: reward 0
  | "disk_budget"  // the agent's commands wrote past the sandbox's disk budget: reward 0
  | "error";       // the sandbox, the engine or a node failed; not the agent's doing

/**
 * Who caused a trajectory's failure. Infrastructure (a sandbox that would not start, a daemon
 * or engine error, a dead node or host, tests that could not be run) says nothing about the
 * policy: masked out of training and of its group's baseline. The agent's own (it destroyed its
 * sandbox, went past its disk budget) scores 0 and stays in its group like any failed attempt.
 */
export type Fault = "infrastructure" | "agent";

export function faultOf(t: Trajectory): Fault | undefined {
  if (t.termination === "error" || t.scoringError) return "infrastructure";
  if (t.termination === "sandbox_destroyed" || t.termination === "disk_budget") return "agent";
  return undefined;
}

/** The trajectory says nothing about its policy: an infrastructure failure, or no trajectory at all. */
export function failed(t: Trajectory | null | undefined): boolean {
  return !t || faultOf(t) === "infrastructure";
}

export interface Trajectory {
  taskId: string;
  rolloutIndex: number;
  policy: string;
  /** The weights' version of the last reply (the newest the trajectory saw). */
  policyVersion?: number;
  /**
   * Per token, the weights' version that sampled it (−1 on prompt and observation tokens);
   * absent when the policy reports no versions. Several versions: the weights changed while
   * the trajectory ran (asynchronous training), each turn sampled with the newest.
   */
  tokenVersions?: number[];
  /**
   * false: the generated ids are the reply's text encoded again, not what the model sampled (a
   * chat-only server): an evaluation's record, never training data.
   */
  tokenExact?: false;
  /** Prompt, then every generated and observation token, in order. */
  tokens: number[];
  /** 1 on tokens the model generated, 0 on prompt and observations. */
  mask: number[];
  /** The sampling log-prob of each generated token; 0 elsewhere. */
  logprobs: number[];
  promptLength: number;
  reward: number;
  termination: Termination;
  steps: number;
  /** Per-test statuses of the reward run, when the tests ran. */
  tests?: Record<string, string>;
  /** The agent's final diff of the repository (before the hidden tests were put back). */
  patch?: string;
  /** Files of that diff whose changes did not count: test infrastructure. */
  dropped?: string[];
  /**
   * Set when the reward could not be measured (the test command did not start, printed no
   * result): the reward 0 then says nothing, and the trajectory counts as an error.
   */
  scoringError?: string;
  timings: { totalMs: number; modelMs: number; toolMs: number; rewardMs: number };
  traceId?: string;
  error?: string;
  /** Who caused the failure, where there was one (faultOf, recorded). */
  fault?: Fault;
}
