// Training on trajectories sampled by older weights (asynchronous training): how stale a
// trajectory is, and the decoupled PPO objective that corrects for it (as AReaL trains). The
// policy-gradient loss clips the ratio against the proximal policy — the weights the step
// updates, whose log-probs the learner recomputes — and each token is weighted by the truncated
// importance ratio between the proximal and the behaviour policy (the weights that sampled it,
// whose log-probs the sampler recorded): w = min(π_prox / π_behav, cap). With fresh samples
// (behaviour = proximal) every w is 1 and the loss is DEEPSWE's.
import type { Trajectory } from "./trajectory.js";

/** The oldest weight version any generated token of `t` was sampled with (its policyVersion without per-token versions). */
export function oldestVersion(t: Trajectory): number | undefined {
  let oldest: number | undefined;
  for (const v of t.tokenVersions ?? []) if (v >= 0 && (oldest === undefined || v < oldest)) oldest = v;
  return oldest ?? t.policyVersion;
}

/** How many versions before `version` (the weights a step updates) the oldest token of `t` was sampled; 0 when unknown. */
export function staleness(t: Trajectory, version: number): number {
  const v = oldestVersion(t);
  return v === undefined ? 0 : Math.max(0, version - v);
}

/** Whether the trajectory's tokens were sampled by more than one version of the weights. */
export function spansVersions(t: Trajectory): boolean {
  const vs = new Set((t.tokenVersions ?? []).filter((v) => v >= 0));
  return vs.size > 1;
}

/**
 * The loss mask with each counted token weighted by the truncated importance ratio between the
 * proximal and the behaviour policy: mask·min(exp(proximal − behaviour), cap). The worker's
 * loss multiplies every token's term by its mask value, so this is the whole correction.
 */
export function behaviourWeighted(mask: ArrayLike<number>, proximal: ArrayLike<number>, behaviour: ArrayLike<number>, cap: number): number[] {
  if (proximal.length !== mask.length || behaviour.length !== mask.length) {
    throw new RangeError(`behaviourWeighted: mask, proximal and behaviour log-probs differ in length (${mask.length}, ${proximal.length}, ${behaviour.length})`);
  }
  const out = new Array<number>(mask.length);
  for (let i = 0; i < mask.length; i++) out[i] = mask[i] === 0 ? 0 : mask[i] * Math.min(Math.exp(proximal[i] - behaviour[i]), cap);
  return out;
}

/**
 * Staleness admission (as AReaL bounds it): a new group may start only while the groups started
 * stay within what the next `maxStaleness + 1` steps will train on, so no group can be sampled
 * more than `maxStaleness` versions before the step that trains on it.
 */
export function mayStartGroup(groupsStarted: number, stepsTrained: number, groupsPerStep: number, maxStaleness: number): boolean {
  return groupsStarted < (stepsTrained + 1 + maxStaleness) * groupsPerStep;
}
