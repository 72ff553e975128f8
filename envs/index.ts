// Environments: sandboxes, the agent's tools, test-based rewards, task sets. No dependency on
// the runtime: everything here works in a plain script.
export * from "./errors.js";
export * from "./sandbox/index.js";
export * from "./tools/index.js";
export * from "./reward/index.js";
export * from "./tasks/index.js";
export { DEFAULT_DISK_BUDGET, SWEEnv, type SWEEnvOptions, type StepResult } from "./swe-env.js";
export { applyCandidate, scorePatch, type SandboxSource, type ScoringOptions } from "./score.js";
export { runRepro, type ReproResult } from "./repro.js";
export { validateTask, validateTasks, type Validation } from "./validate.js";
export * from "./swe/index.js";
