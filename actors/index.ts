// actors/: the actors of the RL system and what they run.
export { runTrajectory, type TrajectoryLimits, type TrajectoryOptions } from "./rollout/trajectory.js";
