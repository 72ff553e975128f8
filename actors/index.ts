// actors/: the actors of the RL system and what they run.
export { EngineActor, type EngineOptions } from "./engine/engine-actor.js";
export type { Generated, Generator } from "./engine/generator.js";
export { LearnerActor, type LearnerOptions, type PolicyLoss, type PolicySequence, type TrainResult } from "./learner/learner-actor.js";
export { planBuckets, publishWeights, receiveWeights, weightsDigest, type SyncOptions, type SyncStats } from "./weights/weight-sync.js";
export { EnvActor, type EnvActorOptions } from "./env/env-actor.js";
export { EnginePolicy, parsePolicySpec, policyFor, type PolicySpec } from "./rollout/policies.js";
export { errorTrajectory, RolloutActor, type RolloutActorOptions, type RolloutJob } from "./rollout/rollout-actor.js";
export { runTrajectory, type AgentEnv, type TrajectoryLimits, type TrajectoryOptions } from "./rollout/trajectory.js";
export { EngineActorClass, EnvActorClass, LearnerActorClass, RolloutActorClass } from "./classes.js";
