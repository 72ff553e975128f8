// Test-based rewards: hidden tests restored, the task's tests run, their log read and graded.
export { applyPatch, computeReward, patchFiles, type RewardOptions, type RewardResult } from "./reward.js";
export { parseTestOutput, TEST_FORMATS, type TestFormat } from "./parse.js";
export { parsePytest, parsePytestOptions, parsePytestV2, parsePytestVerbose, parseSeaborn, parseMatplotlib, parseR2EGym } from "./parse-pytest.js";
export { parseUnittest, parseDjango, parseSympy } from "./parse-unittest.js";
export { parseProOutput, parseHarborReward, RESULTS_MARKER } from "./parse-results.js";
export { gradeTask, gradeTests, isResolved, type Outcome, type Outcomes } from "./grading.js";
export { PASSING, type StatusMap, type TestStatus } from "./statuses.js";
export { CONFIG_WITH_PYTEST, diffSections, isTestInfrastructure, pytestSectionsDiffer, sourcePatch, type SourcePatch } from "./source-patch.js";
export { verdictSection } from "./log-guard.js";
