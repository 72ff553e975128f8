// pytest logs read as SWE-bench's harness reads them, one reader per family of repositories
// (its `parse_log_pytest`, `_options`, `_v2`, seaborn's and matplotlib's), and as R2E-Gym reads
// them. Each keeps the harness's quirks on purpose: the ids must be the ones the datasets store.
import { splitWords, type StatusMap } from "./statuses.js";

/** The statuses whose words start a summary line (XPASS is not among them, as in the harness). */
const LINE_STATUSES = ["FAILED", "PASSED", "SKIPPED", "ERROR", "XFAIL"] as const;

const startsWithStatus = (line: string) => LINE_STATUSES.some((s) => line.startsWith(s));
const endsWithStatus = (line: string) => LINE_STATUSES.some((s) => line.endsWith(s));

/** `SKIPPED [3] file:line: reason` names no test: its "[3]" is a count. */
const isSkipCount = (status: string, name: string) => status === "SKIPPED" && /^\[\d+\]$/.test(name);

/** A summary line's status word and first word after it, or undefined. */
function summaryWords(line: string): [string, string] | undefined {
  if (!startsWithStatus(line)) return undefined;
  // A failure's message follows " - "; the harness turns the dash into a space.
  const words = splitWords(line.startsWith("FAILED") ? line.replaceAll(" - ", " ") : line);
  if (words.length <= 1 || isSkipCount(words[0], words[1])) return undefined;
  return [words[0], words[1]];
}

/** `pytest -rA`: `STATUS id` lines; the id is the first word after the status. */
export function parsePytest(log: string): StatusMap {
  const out: StatusMap = {};
  for (const line of log.split("\n")) {
    const w = summaryWords(line);
    if (w) out[w[1]] = w[0];
  }
  return out;
}

/**
 * requests, pylint, pydicom: as `parsePytest`, but a parameter that is an absolute path keeps
 * only its last part (`test_x[/tmp/abc/file]` -> `test_x[/file]`), since temp paths differ per run.
 */
export function parsePytestOptions(log: string): StatusMap {
  const out: StatusMap = {};
  for (const line of log.split("\n")) {
    const w = summaryWords(line);
    if (!w) continue;
    const m = /(.*?)\[(.*)\]/.exec(w[1]);
    let name = w[1];
    if (m) {
      let option = m[2];
      if (option.startsWith("/") && !option.startsWith("//") && !option.includes("*")) option = `/${option.split("/").at(-1)}`;
      name = `${m[1]}[${option}]`;
    }
    out[name] = w[0];
  }
  return out;
}

/** Control characters 1-31 (tab included), which the v2 reader deletes. */
const CONTROL = /[\u0001-\u001f]/g;

/**
 * astropy, scikit-learn, sphinx: colour codes and control characters removed; the id is every
 * word after the status (ids may hold spaces), a failure cut at its " - "; lines of older
 * pytest versions that end with the status (`id STATUS`) are read too.
 */
export function parsePytestV2(log: string): StatusMap {
  const out: StatusMap = {};
  for (const raw of log.split("\n")) {
    const line = raw.replace(/\[(\d+)m/g, "").replace(CONTROL, "");
    if (startsWithStatus(line)) {
      const words = splitWords(line.startsWith("FAILED") ? line.split(" - ")[0] : line);
      if (words.length >= 2 && !isSkipCount(words[0], words[1])) out[words.slice(1).join(" ")] = words[0];
    } else if (endsWithStatus(line)) {
      const words = splitWords(line);
      if (words.length >= 2) out[words.slice(0, -1).join(" ")] = words.at(-1)!;
    }
  }
  return out;
}

/** seaborn: failures from the summary, passes from the summary or from `id PASSED [ n%]` progress lines. */
export function parseSeaborn(log: string): StatusMap {
  const out: StatusMap = {};
  for (const line of log.split("\n")) {
    const words = splitWords(line);
    if (words.length < 2) continue;
    if (line.startsWith("FAILED")) out[words[1]] = "FAILED";
    else if (line.includes(" PASSED ")) {
      if (words[1] === "PASSED") out[words[0]] = "PASSED";
    } else if (line.startsWith("PASSED")) out[words[1]] = "PASSED";
  }
  return out;
}

/**
 * SWE-smith's reading of `pytest --verbose`: `id STATUS [ n%]` progress lines, the id being the
 * line's first word.
 */
export function parsePytestVerbose(log: string): StatusMap {
  const out: StatusMap = {};
  for (const line of log.split("\n")) {
    for (const status of LINE_STATUSES) {
      const m = new RegExp(`^(\\S+)\\s+${status}`).exec(line);
      if (m) out[m[1]] = status;
    }
  }
  return out;
}

/** matplotlib: as `parsePytest`, with mouse buttons written as the numbers the datasets store. */
export function parseMatplotlib(log: string): StatusMap {
  return parsePytest(log.replaceAll("MouseButton.LEFT", "1").replaceAll("MouseButton.RIGHT", "3"));
}

/**
 * R2E-Gym's reading of a pytest `-rA` log, whose names its `expected_output_json` stores: only
 * the lines after "short test summary info"; a line's name is what follows the file, its `::`
 * parts joined by dots (`TestX.test_y`), cut at " - "; ANSI colour codes dropped. Nothing
 * (an empty result) when the summary is missing.
 */
export function parseR2EGym(log: string): StatusMap {
  const at = log.indexOf("short test summary info");
  if (at < 0) return {};
  const out: StatusMap = {};
  for (const raw of log.slice(at).split("\n").slice(1)) {
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
