// rl/: the algorithm as pure functions over plain data. No I/O.
export type { Termination, Trajectory } from "./trajectory.js";
export { bestOfK, passAtK, type Candidate } from "./selection.js";
