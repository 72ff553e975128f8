// rl/: the algorithm as pure functions over plain data. No I/O.
export { failed, faultOf, type Fault, type Termination, type Trajectory } from "./trajectory.js";
export { advantages, type AdvantageEstimator } from "./advantages.js";
export { compactFilter, FILTERED, type Prepared } from "./filtering.js";
export { aggregateLoss, packMicroBatches } from "./batch.js";
export { auc, solveCounts, trajectoryStats, type SolveCounts, type TrajectoryStats } from "./stats.js";
export { bestOfK, passAtK, select, SELECTOR_NEEDS, SELECTORS, type Candidate, type Selector } from "./selection.js";
export { behaviourWeighted, mayStartGroup, oldestVersion, spansVersions, staleness } from "./off-policy.js";
export { seededRandom, shuffled } from "./random.js";
