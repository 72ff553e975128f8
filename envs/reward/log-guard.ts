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
  /** The log up to the runner's one closing line (`end`); two of them are a forgery. */
  const upTo = (end: RegExp, what: string): Guarded => {
    if (count(end) > 1) return { forged: `the log holds more than one ${what}: output that imitates the runner's` };
    const at = lines.findIndex((l) => end.test(plain(l)));
    return { log: at < 0 ? log : lines.slice(0, at + 1).join("\n") };
  };
  if (format === "swe-bench-pro" || format === "harbor") return { log };  // their results come after a marker the shell prints last
  if (format === "django" || format === "unittest") return upTo(/^Ran \d+ tests? in /, "unittest result block ('Ran N tests')");
  if (format === "sympy") return upTo(/^=+ tests finished: /, "sympy result block ('tests finished')");
  const headers = count(PYTEST_SUMMARY);
  if (headers > 1) return { forged: "the log holds more than one pytest summary ('short test summary info'): output that imitates the runner's" };
  if (headers === 0 || !SUMMARY_ONLY.has(format)) return { log };
  const start = lines.findIndex((l) => PYTEST_SUMMARY.test(plain(l)));
  const close = lines.findIndex((l, i) => i > start && plain(l).startsWith("="));
  return { log: lines.slice(start, close < 0 ? undefined : close + 1).join("\n") };
}
