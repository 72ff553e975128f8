// Test-based rewards: hidden tests restored, the task's tests run, statuses parsed.
export { applyPatch, computeReward, patchFiles, type RewardOptions, type RewardResult } from "./reward.js";
export { parsePytest, parseR2EGym, parseUnittest, parseTestOutput, PASSING, type TestStatus, type TestFormat } from "./parse.js";
