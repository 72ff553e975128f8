// Which reader reads a task's test log. The SWE-bench formats are named after the harness's
// parsers (envs/tasks/swe-bench-specs.json says which repository uses which).
import { parseDjango, parseSympy, parseUnittest } from "./parse-unittest.js";
import { parseMatplotlib, parsePytest, parsePytestOptions, parsePytestV2, parsePytestVerbose, parseR2EGym, parseSeaborn } from "./parse-pytest.js";
import { parseHarborReward, parseProOutput } from "./parse-results.js";
import type { StatusMap } from "./statuses.js";

const READERS = {
  "pytest": parsePytest,
  "pytest-options": parsePytestOptions,
  "pytest-v2": parsePytestV2,
  "seaborn": parseSeaborn,
  "matplotlib": parseMatplotlib,
  "django": parseDjango,
  "sympy": parseSympy,
  "pytest-verbose": parsePytestVerbose,
  "unittest": parseUnittest,
  "r2e-gym": parseR2EGym,
  "swe-bench-pro": parseProOutput,
  "harbor": parseHarborReward,
} satisfies Record<string, (log: string) => StatusMap>;

export type TestFormat = keyof typeof READERS;
export const TEST_FORMATS = Object.keys(READERS) as [TestFormat, ...TestFormat[]];

export function parseTestOutput(log: string, format: TestFormat): StatusMap {
  return READERS[format](log);
}
