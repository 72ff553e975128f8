// The part of a test log that is the runner's verdict. The code under test runs inside the test
// process and can print anything, before the verdict (captured output, shown in the log ahead
// of pytest's summary) or after it (atexit handlers). So each runner's verdict is read from its
// one summary block only: pytest's "short test summary info" up to its closing "=== … ===" line,
// unittest's results up to "Ran N tests", sympy's up to "tests finished". A log with two such
// blocks was forged and scores 0. The readers themselves stay the harnesses' own.
import type { TestFormat } from "./parse.js";

export type Guarded = { log: string } | { forged: string };

const PYTEST_SUMMARY = /^=+ short test summary info =+$/;
const plain = (l: string) => l.replace(/\u001b\[[\d;]*m/g, "").trimEnd();

/** Formats read from pytest's summary block: the log is cut to it. */
const SUMMARY_ONLY: ReadonlySet<TestFormat> = new Set(["pytest", "pytest-options", "matplotlib", "r2e-gym"]);

export function verdictSection(log: string, format: TestFormat): Guarded {
  const lines = log.split("\n");
  const count = (re: RegExp) => lines.filter((l) => re.test(plain(l))).length;
  if (format === "swe-bench-pro" || format === "harbor") return { log };  // their results come after a marker the shell prints last
  if (format === "django" || format === "unittest") {
    const ran = /^Ran \d+ tests? in /;
    if (count(ran) > 1) return { forged: "the log holds more than one unittest result block ('Ran N tests'): output that imitates the runner's" };
    const end = lines.findIndex((l) => ran.test(plain(l)));
    return { log: end < 0 ? log : lines.slice(0, end + 1).join("\n") };
  }
  if (format === "sympy") {
    const finished = /^=+ tests finished: /;
    if (count(finished) > 1) return { forged: "the log holds more than one sympy result block ('tests finished'): output that imitates the runner's" };
    const end = lines.findIndex((l) => finished.test(plain(l)));
    return { log: end < 0 ? log : lines.slice(0, end + 1).join("\n") };
  }
  const headers = count(PYTEST_SUMMARY);
  if (headers > 1) return { forged: "the log holds more than one pytest summary ('short test summary info'): output that imitates the runner's" };
  if (headers === 0 || !SUMMARY_ONLY.has(format)) return { log };
  const start = lines.findIndex((l) => PYTEST_SUMMARY.test(plain(l)));
  const close = lines.findIndex((l, i) => i > start && plain(l).startsWith("="));
  return { log: lines.slice(start, close < 0 ? undefined : close + 1).join("\n") };
}
