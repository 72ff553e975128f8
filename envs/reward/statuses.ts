// What a log reader yields: each test id the log names, with the status word it gave. Readers
// that follow SWE-bench's harness keep its words as they are (PASSED, FAILED, ERROR, SKIPPED,
// XFAIL, or whatever token stood there); grading.ts decides what counts.
export type StatusMap = Record<string, string>;

/** The statuses Troupe's own readers give. */
export type TestStatus = "PASSED" | "FAILED" | "ERROR" | "SKIPPED" | "XFAIL" | "XPASS";

/** Statuses that count as a pass (an expected failure is a pass, as in SWE-bench). */
export const PASSING: ReadonlySet<string> = new Set(["PASSED", "XFAIL"]);

/** Python's `str.split()`: words between runs of white space, none empty. */
export function splitWords(line: string): string[] {
  return line.split(/\s+/).filter(Boolean);
}
