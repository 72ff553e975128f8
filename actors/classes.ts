// Where each RL actor class lives, for cluster.actor(…): one place instead of a URL per caller.
import { actorClass } from "../runtime/index.js";
import type { EngineActor } from "./engine/engine-actor.js";
import type { EnvActor } from "./env/env-actor.js";
import type { LearnerActor } from "./learner/learner-actor.js";
import type { RolloutActor } from "./rollout/rollout-actor.js";

export const EnvActorClass = actorClass<typeof EnvActor>(new URL("./env/env-actor.js", import.meta.url), "EnvActor");
export const RolloutActorClass = actorClass<typeof RolloutActor>(new URL("./rollout/rollout-actor.js", import.meta.url), "RolloutActor");
export const EngineActorClass = actorClass<typeof EngineActor>(new URL("./engine/engine-actor.js", import.meta.url), "EngineActor");
export const LearnerActorClass = actorClass<typeof LearnerActor>(new URL("./learner/learner-actor.js", import.meta.url), "LearnerActor");
