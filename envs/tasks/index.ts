// Task sets: SWE-bench / R2E-Gym rows, local task folders, the bundled set, and their images.
export type { Task, LocalTaskSource } from "./task.js";
export { loadJsonl, rowToTask, SweBenchRow, R2EGymRow, DEFAULT_SWEBENCH_IMAGE, type LoadResult, type RowOptions } from "./rows.js";
export { loadTaskFolder, isTaskFolder, TaskJson } from "./folder.js";
export { loadTasks, bundledDir, projectRoot } from "./spec.js";
export { testSpec, testDirectives, installNeeded, specRepos, type TestSpec } from "./test-specs.js";
export { baseImageTag, BASE_PACKAGES } from "./base-image.js";
export { buildBaseImage, buildTaskImage, buildImages, buildLocalTaskImage, buildLocalImages, baseRootfsDir, ensureBaseRootfs, imageExists, type BuildReport } from "./images.js";
