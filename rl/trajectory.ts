// The trajectory record: what a rollout produced, token-exact, and what the learner needs.

/** Why a trajectory ended. */
export type Termination =
  | "finished"     // the agent called finish
  | "context"      // the token budget ran out
  | "max_steps"    // the step limit
  | "timeout"      // the wall-clock limit of the trajectory
  | "tool_timeout" // a tool call did not come back at all (the sandbox hung)
  | "error";       // the sandbox or the policy failed; not the agent's doing

/** The trajectory says nothing about its policy: it ended in an error, or its reward could not be measured. */
export function failed(t: Trajectory | null | undefined): boolean {
  return !t || t.termination === "error" || !!t.scoringError;
}

export interface Trajectory {
  taskId: string;
  rolloutIndex: number;
  policy: string;
  policyVersion?: number;
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
}
