// Results that a harness's own script writes to a file, which the test command prints after a
// marker line: SWE-bench Pro's output.json (its per-instance parser.py's verdicts) and Harbor's
// reward file. Only what follows the last marker counts: the code under test cannot print one
// of its own earlier and have it read.
import type { StatusMap } from "./statuses.js";

export const RESULTS_MARKER = ">>>>> troupe: results";

function afterMarker(log: string): string | undefined {
  const at = log.lastIndexOf(`${RESULTS_MARKER}\n`);
  return at < 0 ? undefined : log.slice(at + RESULTS_MARKER.length + 1);
}

/** SWE-bench Pro: `{"tests": [{"name": …, "status": "PASSED" | "FAILED" | …}]}`. */
export function parseProOutput(log: string): StatusMap {
  const text = afterMarker(log);
  if (text === undefined) return {};
  try {
    const tests = (JSON.parse(text) as { tests?: Array<{ name?: unknown; status?: unknown }> }).tests ?? [];
    const out: StatusMap = {};
    for (const t of tests) if (typeof t.name === "string" && typeof t.status === "string") out[t.name] = t.status;
    return out;
  } catch {
    return {};
  }
}

/**
 * Harbor: the number in /logs/verifier/reward.txt (or reward.json's "reward"), as one test named
 * "reward" that passed when the reward is 1 or more.
 */
export function parseHarborReward(log: string): StatusMap {
  const text = afterMarker(log)?.trim();
  if (!text) return {};
  let value: unknown = text;
  if (text.startsWith("{")) {
    try {
      value = (JSON.parse(text) as { reward?: unknown }).reward;
    } catch {
      return {};
    }
  }
  const n = Number(value);
  return Number.isFinite(n) ? { reward: n >= 1 ? "PASSED" : "FAILED" } : {};
}
