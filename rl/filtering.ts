// Compact filtering (DEEPSWE.md): a trajectory cut off by a budget — the context, the step
// limit, the wall-clock limit, or a tool call that never came back — teaches nothing about
// finishing. It keeps reward 0 in its group's baseline and loses its whole loss mask. One slow
// tool call is not a cut-off (the agent got a timeout message and went on). A trajectory that
// ended in an error (the sandbox or the engine failed, not the agent), or whose reward could not
// be measured (the tests did not run), leaves its group entirely.
import { failed, type Termination, type Trajectory } from "./trajectory.js";

export const FILTERED: ReadonlySet<Termination> = new Set(["context", "max_steps", "timeout", "tool_timeout"]);

export interface Prepared {
  trajectory: Trajectory;
  reward: number;
  /** The loss mask to train with (all zeros when filtered). */
  mask: number[];
  filtered: boolean;
}

/** Applies compact filtering to one group; error trajectories are dropped. */
export function compactFilter(group: Trajectory[], enabled = true): Prepared[] {
  return group
    .filter((t) => !failed(t))
    .map((t) => {
      const filtered = enabled && FILTERED.has(t.termination);
      return { trajectory: t, reward: filtered ? 0 : t.reward, mask: filtered ? t.mask.map(() => 0) : t.mask, filtered };
    });
}
