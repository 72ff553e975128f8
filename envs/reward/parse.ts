// Per-test statuses from test runner output. Statuses use pytest's words.
export type TestStatus = "PASSED" | "FAILED" | "ERROR" | "SKIPPED" | "XFAIL" | "XPASS";
export type TestFormat = "pytest" | "unittest" | "r2e-gym";

/** Statuses that count as a pass for the reward (an expected failure is a pass, as in SWE-bench). */
export const PASSING: ReadonlySet<string> = new Set(["PASSED", "XFAIL"]);

const PYTEST_LINE = /^(PASSED|FAILED|ERROR|XFAIL|XPASS|SKIPPED)\s+(?:\[\d+\]\s+)?(\S+?)(?::\d+)?(?:\s+-\s.*)?$/;

/**
 * pytest with `-rA`: the short test summary lists every test as `STATUS node_id [- message]`.
 * Skips are listed as `SKIPPED [n] file:line: reason`, without the test id, so a skipped test
 * is absent from the result (and a selected one counts as not passing).
 */
export function parsePytest(output: string): Record<string, TestStatus> {
  const out: Record<string, TestStatus> = {};
  for (const raw of output.split("\n")) {
    const m = PYTEST_LINE.exec(raw.trimEnd());
    if (m) out[m[2].replace(/:$/, "")] = m[1] as TestStatus;
  }
  return out;
}

const UNITTEST_LINE = /^(\w+) \(([\w.]+)\)(?:\n.*?)? \.\.\. (ok|FAIL|ERROR|skipped.*|expected failure|unexpected success)$/;

/**
 * unittest with `-v`: `test_name (module.Class[.test_name]) ... ok|FAIL|ERROR|skipped …`.
 * Ids are `module.Class.test_name` whichever Python wrote the line.
 */
export function parseUnittest(output: string): Record<string, TestStatus> {
  const out: Record<string, TestStatus> = {};
  for (const raw of output.split("\n")) {
    const m = UNITTEST_LINE.exec(raw.trimEnd());
    if (!m) continue;
    const [, name, where, word] = m;
    const id = where.endsWith(`.${name}`) ? where : `${where}.${name}`;
    out[id] = word === "ok" ? "PASSED" : word === "FAIL" ? "FAILED" : word === "ERROR" ? "ERROR"
      : word === "expected failure" ? "XFAIL" : word === "unexpected success" ? "XPASS" : "SKIPPED";
  }
  return out;
}

/**
 * R2E-Gym's reading of a pytest `-rA` log, whose names its `expected_output_json` stores: only
 * the lines after "short test summary info"; a line's name is what follows the file, its `::`
 * parts joined by dots (`TestX.test_y`), cut at " - "; ANSI colour codes dropped. Nothing
 * (an empty result) when the summary is missing.
 */
export function parseR2EGym(output: string): Record<string, TestStatus> {
  const at = output.indexOf("short test summary info");
  if (at < 0) return {};
  const out: Record<string, TestStatus> = {};
  for (const raw of output.slice(at).split("\n").slice(1)) {
    const line = decolor(raw);
    const status = (["PASSED", "FAILED", "ERROR"] as const).find((s) => line.includes(s));
    if (!status) continue;
    out[r2eName(line.split("::").slice(1).join("."))] = status;
  }
  return out;
}

/** A test name as R2E-Gym compares them: no colour codes, cut at its first " - ". */
export function r2eName(name: string): string {
  return decolor(name).split(" - ")[0];
}

function decolor(s: string): string {
  return s.replace(/\u001b\[[\d;]*m/g, "");
}

export function parseTestOutput(output: string, format: TestFormat): Record<string, TestStatus> {
  return format === "unittest" ? parseUnittest(output) : format === "r2e-gym" ? parseR2EGym(output) : parsePytest(output);
}
