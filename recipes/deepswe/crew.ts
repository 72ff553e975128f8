// The deepswe run's actors, made from its config — the one place the config becomes actor
// options: the learners (rank 0 from the checkpoint resumed from, the others joined to it), the
// engines of disaggregated mode, and the rollout slots; and what is done to them between steps:
// the weight sync, the repair of engines that restarted, and the check that every replica holds
// rank 0's bits.
import { readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { EngineActorClass, LearnerActorClass, type EngineActor, type Generator, type LearnerActor, type PolicySpec, type RolloutActor } from "../../actors/index.js";
import { OpenAIClient } from "../../llm/index.js";
import { ActorDiedError, ActorUnavailableError, dropReceiverOnCluster, UnschedulableError, type ActorHandle, type Cluster } from "../../runtime/index.js";
import type { DeepSWEConfig } from "./config.js";
import { rolloutSlots } from "../rollouts.js";

export interface Crew {
  /** Rank 0: it saves checkpoints and its weights are the run's. */
  learner: ActorHandle<LearnerActor>;
  /** Every rank of the data-parallel group, rank 0 first. */
  learners: ActorHandle<LearnerActor>[];
  /** Disaggregated mode's engines; none in hybrid mode. */
  engines: ActorHandle<EngineActor>[];
  /** Who generates: the learners themselves (hybrid), or the engines. */
  generators: ActorHandle<Generator>[];
  slots: ActorHandle<RolloutActor>[];
  /** The other learners, which must hold rank 0's bits after every step. */
  replicas: ActorHandle<LearnerActor>[];
  /** Steps the checkpoint resumed from had taken (0: a fresh start). */
  done: number;
  /** External mode: the servers, and where the learner writes each version for them. */
  external?: { client: OpenAIClient; dir: string };
  /**
   * Runs weight moves one at a time: two broadcasts interleaved in the learner's and an
   * engine's mailboxes would each wait for the other's.
   */
  exclusive: <T>(f: () => Promise<T>) => Promise<T>;
}

function oneAtATime(): Crew["exclusive"] {
  let tail: Promise<unknown> = Promise.resolve();
  return (f) => {
    const r = tail.then(f);
    tail = r.catch(() => undefined);
    return r;
  };
}

export async function startCrew(cluster: Cluster, c: DeepSWEConfig, out: string, resume: boolean, log: (l: string) => void): Promise<Crew> {
  const placements = await learnerPlacements(cluster, c);
  const { learner, step: done, checkpoint } = await startLearner(cluster, c, join(out, "checkpoints"), resume, log, placements[0]);
  const learners = await dataParallel(cluster, c, learner, placements.slice(1), checkpoint);
  const engines = c.mode === "disaggregated" ? await startEngines(cluster, c) : [];
  const generators: ActorHandle<Generator>[] = c.mode === "hybrid" ? learners : engines;
  const external = c.mode === "external" && c.external
    ? { client: new OpenAIClient({ endpoints: c.external.urls, model: c.external.model }), dir: c.external.weightsDir ?? join(out, "weights") }
    : undefined;
  const policy: PolicySpec = external ? { kind: "openai", urls: c.external!.urls, model: c.external!.model } : { kind: "engine", name: "learner" };
  const slots = await rolloutSlots(cluster, c.rollout.envActors, { backend: c.backend, maxSteps: c.rollout.maxSteps, stepTimeoutSec: c.rollout.stepTimeoutSec, diskBudgetBytes: c.rollout.diskBudgetGiB * 1024 ** 3, memoizeRewards: c.rollout.memoizeRewards, testTimeoutSec: c.rollout.testTimeoutSec }, (i) => ({
    policy, engine: generators.length ? generators[i % generators.length] : undefined, tokenizer: c.model.tokenizer, scaffold: c.rollout.scaffold,
    sampling: { temperature: c.rollout.temperature, topP: c.rollout.topP, seed: c.model.seed },
    limits: { maxPromptTokens: c.rollout.maxPromptTokens, maxResponseTokens: c.rollout.maxResponseTokens, maxTurnTokens: c.rollout.maxTurnTokens, timeoutSec: c.rollout.timeoutSec },
  }));
  return { learner, learners, engines, generators, slots, replicas: learners.slice(1), done, external, exclusive: oneAtATime() };
}

/** The options every learner and engine worker starts with, besides where its weights come from. */
function workerOptions(c: DeepSWEConfig) {
  return { microBatchTokens: c.optim.microBatchTokens, seed: c.model.seed, ...c.learner };
}

type Placement = { process: "dedicated"; resources?: { gpu: number }; placement?: { group: string; bundleIndex: number } };

/**
 * Where each learner runs: on a GPU of its own (CUDA_VISIBLE_DEVICES from the runtime) when
 * the learners use CUDA, a group's ranks packed on one node when they fit there (STRICT_PACK),
 * else on as few as can hold them (PACK): c10d's traffic is cheapest within a node.
 */
async function learnerPlacements(cluster: Cluster, c: DeepSWEConfig): Promise<Placement[]> {
  const gpu = c.learner.device === "cuda";
  if (c.learners === 1) return [{ process: "dedicated", ...(gpu ? { resources: { gpu: 1 } } : {}) }];
  const bundles = Array.from({ length: c.learners }, (): Record<string, number> => (gpu ? { gpu: 1 } : { cpu: 0 }));
  const pg = await cluster.placementGroup({ bundles, strategy: "STRICT_PACK" })
    .catch((e: Error) => (e instanceof UnschedulableError ? cluster.placementGroup({ bundles, strategy: "PACK" }) : Promise.reject(e)));
  return bundles.map((_, i) => ({ process: "dedicated", ...(gpu ? { resources: { gpu: 1 } } : {}), placement: { group: pg.id, bundleIndex: i } }));
}

/** A fresh learner, or on resume the newest checkpoint that loads (older ones as fallbacks). */
async function startLearner(cluster: Cluster, c: DeepSWEConfig, ckDir: string, resume: boolean, log: (l: string) => void, where: Placement) {
  const opts = workerOptions(c);
  if (resume) {
    const steps = readdirSync(ckDir).map((d) => /^step-(\d+)$/.exec(d)).filter((m) => m).map((m) => Number(m![1])).sort((a, b) => b - a);
    for (const step of steps) {
      try {
        const checkpoint = join(ckDir, `step-${step}`);
        return { learner: await cluster.actor(LearnerActorClass, [{ ...opts, checkpoint }], where), step, checkpoint };
      } catch (e) {
        // Set aside: this resume drops the records of the steps after the one it starts from,
        // so a later resume must not pick this checkpoint up again (it would skip those steps).
        const aside = join(ckDir, `.step-${step}.unloadable`);
        rmSync(aside, { recursive: true, force: true });
        renameSync(join(ckDir, `step-${step}`), aside);
        log(`resume: checkpoint step-${step} is corrupt or partial (${(e as Error).message.split("\n")[0]}); set aside as ${aside}, trying the previous one`);
      }
    }
    log("resume: no loadable checkpoint; starting from the beginning");
  }
  const source = c.model.init ? { checkpoint: c.model.init } : { config: c.model.config as never };
  return { learner: await cluster.actor(LearnerActorClass, [{ ...opts, ...source }], where), step: 0, checkpoint: c.model.init };
}

/**
 * The other ranks of a data-parallel group, joined to rank 0 (the learner given) through a
 * rendezvous whose address travels over the runtime; each then keeps what its ZeRO stage says.
 */
async function dataParallel(cluster: Cluster, c: DeepSWEConfig, rank0: ActorHandle<LearnerActor>, where: Placement[], checkpoint?: string): Promise<ActorHandle<LearnerActor>[]> {
  if (c.learners === 1) return [rank0];
  // The same checkpoint as rank 0, or the same random init: joining replaces both with rank 0's.
  const source = checkpoint ? { checkpoint } : { config: c.model.config as never };
  const others = await Promise.all(where.map((w) => cluster.actor(LearnerActorClass, [{ ...workerOptions(c), ...source }], w)));
  const all = [rank0, ...others];
  const address = await rank0.rendezvous();
  await Promise.all(all.map((l, r) => l.joinGroup(r, all.length, [address])));
  return all;
}

/** Disaggregated mode's engines, each a worker of its own, started as the configured model. */
async function startEngines(cluster: Cluster, c: DeepSWEConfig): Promise<ActorHandle<EngineActor>[]> {
  // The first sync overwrites these weights; a checkpoint only gives the model's shape.
  const source = c.model.init ? { checkpoint: c.model.init } : { config: c.model.config as never };
  // An engine holds no state the next sync does not restore: it restarts whenever it dies and
  // serves nothing until then.
  return Promise.all(Array.from({ length: c.engines }, () =>
    cluster.actor(EngineActorClass, [{ ...source, seed: c.model.seed, ...c.learner, awaitWeights: true }], { process: "dedicated", maxRestarts: -1 })));
}

/**
 * External mode: rank 0's weights written as a checkpoint folder of their version, which every
 * server loads (/update_weights_from_disk); the previous version's folder goes once they have.
 */
export async function syncExternal(learner: ActorHandle<LearnerActor>, external: NonNullable<Crew["external"]>): Promise<{ version: number; seconds: number; bytes: number }> {
  const t0 = performance.now();
  const { version } = await learner.info();
  const dir = join(external.dir, `v${version}`);
  await learner.saveWeights(dir);
  await external.client.updateWeightsFromDisk(dir, version);
  let bytes = 0;
  for (const f of readdirSync(dir)) bytes += statSync(join(dir, f)).size;
  for (const old of readdirSync(external.dir)) if (old !== `v${version}`) rmSync(join(external.dir, old), { recursive: true, force: true });
  return { version, seconds: (performance.now() - t0) / 1000, bytes };
}

/** An actor that died or is not there: a failure of the infrastructure, not of what it was asked. */
const gone = (err: unknown) => err instanceof ActorDiedError || err instanceof ActorUnavailableError;

/**
 * Rank 0's weights to `engines`, versioned; nothing to move when there are none (hybrid). An
 * engine that dies during the sync leaves it (the others get theirs): it restarts serving
 * nothing until repairEngines gives it the current version. `lost`: how many left.
 */
export async function syncEngines(c: Pick<DeepSWEConfig, "sync">, learner: ActorHandle<LearnerActor>, engines: ActorHandle<EngineActor>[]): Promise<{ version: number; seconds: number; bytes: number; lost: number }> {
  const t0 = performance.now();
  const { version } = await learner.info();
  if (!engines.length) return { version, seconds: 0, bytes: 0, lost: 0 };
  const subject = `troupe.weights.${randomBytes(6).toString("hex")}.v${version}`;
  const opts = { bucketBytes: c.sync.bucketMB * 2 ** 20, windowBytes: c.sync.windowMB * 2 ** 20 };
  let lost = 0;
  const receive = (e: ActorHandle<EngineActor>, i: number) => e.receiveWeights(subject, version, { ...opts, id: `engine-${i}` }).catch((err: unknown) => {
    if (!gone(err)) throw err;
    lost++;
    dropReceiverOnCluster(subject, `engine-${i}`);
  });
  const [sent] = await Promise.all([learner.publishWeights(subject, engines.length, opts), ...engines.map(receive)]);
  return { version, seconds: (performance.now() - t0) / 1000, bytes: sent.bytes, lost };
}

/**
 * Gives the learner's current version to every engine that serves none (it restarted after a
 * crash, or a sync broke in it), so that one crash costs the calls in flight, not every call
 * until the next step's sync; the engines repaired.
 */
export async function repairEngines(crew: Pick<Crew, "learner" | "engines" | "exclusive">, c: Pick<DeepSWEConfig, "sync">): Promise<number[]> {
  if (!crew.engines.length) return [];
  return crew.exclusive(async () => {
    const infos = await Promise.all(crew.engines.map((e) => e.info().catch((err: unknown) => {
      if (gone(err)) return undefined;  // restarting past the wait: the next failure asks again
      throw err;
    })));
    const broken = crew.engines.flatMap((_, i) => (infos[i]?.broken ? [i] : []));
    if (broken.length) await syncEngines(c, crew.learner, broken.map((i) => crew.engines[i]));
    return broken;
  });
}

/**
 * Rank 0's weight digest, after checking that every other learner and every engine serving
 * holds the same bits; and how many were checked. An engine that died since the sync (and
 * restarted, or is restarting) serves nothing until the next one: it is not counted.
 */
export async function sameWeights(crew: Crew, step: number): Promise<{ digest: string; checked: number }> {
  const served = (e: ActorHandle<EngineActor>) => e.servedChecksum().catch((err: Error) => {
    if (gone(err)) return undefined;
    throw err;
  });
  const [want, ...got] = await Promise.all([crew.learner.checksum(), ...crew.replicas.map((r) => r.checksum()), ...crew.engines.map(served)]);
  const bad = got.findIndex((d) => d !== undefined && d !== want);
  const what = bad < crew.replicas.length ? `learner ${bad + 1}` : `engine ${bad - crew.replicas.length}`;
  if (bad >= 0) throw new Error(`step ${step}: ${what} holds weights that differ from learner 0's (the data-parallel group or the weight sync diverged)`);
  return { digest: want, checked: got.filter((d) => d !== undefined).length };
}
