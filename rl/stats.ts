// What every recipe reports about a step's (or an evaluation's) trajectories, computed once:
// reward, solve counts per group, how trajectories ended and who caused their failures, tokens,
// and the weight versions they were sampled from.
import { failed, faultOf, type Trajectory } from "./trajectory.js";

export interface SolveCounts {
  solve_all: number;
  solve_none: number;
  solve_partial: number;
}

/** Groups where every rollout passed, none did, or some did (all stay in the batch). */
export function solveCounts(groups: number[][]): SolveCounts {
  const c = { solve_all: 0, solve_none: 0, solve_partial: 0 };
  for (const g of groups) {
    const passed = g.filter((r) => r > 0).length;
    if (g.length && passed === g.length) c.solve_all++;
    else if (passed === 0) c.solve_none++;
    else c.solve_partial++;
  }
  return c;
}

export interface TrajectoryStats {
  reward_mean: number;
  /** How many ended each way (finished, context, max_steps, …, error). */
  terminations: Record<string, number>;
  /** Trajectories that failed through no fault of the agent (masked out of training). */
  errors: number;
  /** errors over all trajectories. */
  infra_failure_rate: number;
  /** Trajectories the agent ended by its own doing (sandbox destroyed, disk budget): reward 0, kept. */
  agent_failures: number;
  tokens: number;
  generated_tokens: number;
  /** The weight versions the trajectories were sampled from (on-policy: one). */
  policy_versions: number[];
}

export function trajectoryStats(trajs: Trajectory[]): TrajectoryStats {
  const terminations: Record<string, number> = {};
  for (const t of trajs) terminations[t.termination] = (terminations[t.termination] ?? 0) + 1;
  const errors = trajs.filter(failed).length;
  const n = Math.max(1, trajs.length);
  return {
    reward_mean: trajs.reduce((a, t) => a + t.reward, 0) / n,
    terminations,
    errors,
    infra_failure_rate: errors / n,
    agent_failures: trajs.filter((t) => faultOf(t) === "agent").length,
    tokens: trajs.reduce((a, t) => a + t.tokens.length, 0),
    generated_tokens: trajs.reduce((a, t) => a + t.mask.reduce((x, y) => x + y, 0), 0),
    policy_versions: [...new Set(trajs.map((t) => t.policyVersion).filter((v) => v !== undefined))] as number[],
  };
}

/**
 * Area under the ROC curve of `scores` for binary `labels`: the probability that a positive
 * scores above a negative, ties counting half (Mann–Whitney). NaN without both classes.
 */
export function auc(scores: number[], labels: boolean[]): number {
  const pos = scores.filter((_, i) => labels[i]), neg = scores.filter((_, i) => !labels[i]);
  if (!pos.length || !neg.length) return Number.NaN;
  let wins = 0;
  for (const p of pos) for (const n of neg) wins += p > n ? 1 : p === n ? 0.5 : 0;
  return wins / (pos.length * neg.length);
}
