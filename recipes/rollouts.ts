// What eval and the deepswe recipe share: rollout slots (an EnvActor and the RolloutActor that
// drives it) and a queue of rollout jobs drained by those slots.
import {
  EnvActorClass, errorTrajectory, RolloutActorClass, type EnvActor, type EnvActorOptions, type RolloutActor, type RolloutActorOptions, type RolloutJob,
} from "../actors/index.js";
import type { Trajectory } from "../rl/index.js";
import type { ActorHandle, Cluster } from "../runtime/index.js";

/**
 * `n` slots; `rollout(i)` gives slot i's options (its env is filled in). Both hold no state a
 * restart loses, so they restart however often their process dies: a crash costs the
 * trajectories in flight (infrastructure failures), and a run whose every trajectory fails
 * stops itself (deepswe/run.ts).
 */
export function rolloutSlots(cluster: Cluster, n: number, env: EnvActorOptions, rollout: (i: number) => Omit<RolloutActorOptions, "env">): Promise<ActorHandle<RolloutActor>[]> {
  return Promise.all(Array.from({ length: n }, async (_, i) => {
    const e = await cluster.actor(EnvActorClass, [env], { maxRestarts: -1 });
    const slot = await cluster.actor(RolloutActorClass, [{ ...rollout(i), env: e }], { maxRestarts: -1 });
    envOf.set(slot, e);
    return slot;
  }));
}

/** Each slot's env actor, for closeSlots. */
const envOf = new WeakMap<ActorHandle<RolloutActor>, ActorHandle<EnvActor>>();

/** The env actor behind each slot made by rolloutSlots (to run more in its sandboxes). */
export function envsOf(slots: ActorHandle<RolloutActor>[]): ActorHandle<EnvActor>[] {
  return slots.map((s) => {
    const e = envOf.get(s);
    if (!e) throw new TypeError("envsOf: a slot not made by rolloutSlots");
    return e;
  });
}

/** Kills slots made by rolloutSlots before the cluster ends: their env actors (and sandboxes) too. */
export async function closeSlots(cluster: Cluster, slots: ActorHandle<RolloutActor>[]): Promise<void> {
  await Promise.all(slots.map(async (s) => {
    await cluster.kill(s);
    const e = envOf.get(s);
    if (e) await cluster.kill(e);
  }));
}

/** One job on a slot; a failed call (the actor died, the cluster went away) is an error trajectory. */
export async function runJob(slot: ActorHandle<RolloutActor>, job: RolloutJob, policy: string): Promise<Trajectory> {
  try {
    return await slot.run(job);
  } catch (e) {
    return errorTrajectory(job, policy, e as Error);
  }
}

/**
 * Runs every job on the first free slot. A failed call (the actor died, the cluster went away)
 * is recorded as an error trajectory and the queue goes on. Results come back in job order;
 * `onDone` sees each as it finishes.
 */
export async function runJobs(slots: ActorHandle<RolloutActor>[], jobs: RolloutJob[], policy: string, onDone?: (t: Trajectory, job: RolloutJob, done: number) => void): Promise<Trajectory[]> {
  const out: Trajectory[] = new Array(jobs.length);
  let next = 0, done = 0;
  await Promise.all(slots.map(async (slot) => {
    while (next < jobs.length) {
      const i = next++;
      out[i] = await runJob(slot, jobs[i], policy);
      onDone?.(out[i], jobs[i], ++done);
    }
  }));
  return out;
}
