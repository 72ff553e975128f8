// Task sets: SWE-bench / R2E-Gym rows, local task folders, the bundled set, and their images.
export type { Task, LocalTaskSource } from "./task.js";
export { loadJsonl, loadParquet, type LoadResult } from "./rows.js";
export { rowToTask, SweBenchRow, SweSmithRow, SweBenchProRow, R2EGymRow, SWEBENCH_PRO_IMAGES, DEFAULT_SWEBENCH_IMAGE, DEFAULT_REBENCH_IMAGE, type RowOptions } from "./row-formats.js";
export { reverseDiff } from "./reverse-diff.js";
export { loadTaskFolder, isTaskFolder, TaskJson } from "./folder.js";
export { loadTasks, loadUsableTasks, bundledDir, projectRoot } from "./spec.js";
export { testSpec, rebenchSpec, smithSpec, testDirectives, installNeeded, specRepos, type TestSpec, type InstallConfig } from "./test-specs.js";
export { baseImageTag, BASE_PACKAGES } from "./base-image.js";
export { buildBaseImage, buildTaskImage, buildImages, buildLocalTaskImage, buildLocalImages, baseRootfsDir, ensureBaseRootfs, imageExists, type BuildReport } from "./images.js";
export { restoreHidden, setUpTask, type TaskState } from "./setup.js";
export { pullMissing, type PullOptions, type PullReport } from "./pull.js";
