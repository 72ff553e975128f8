// Evaluation arithmetic: pass@k and test-time selection among k candidates (DEEPSWE.md,
// test-time scaling). Candidates keep their index from start to end: the public scripts were
// known to misalign scores with candidates, so nothing here reorders without carrying the
// index, and every rule breaks its ties by the lowest index — the same choice whatever order
// the candidates arrive in.

/**
 * Unbiased pass@k from n samples of which c passed: 1 − C(n−c, k) / C(n, k). With k = n it is
 * "any passed"; with k = 1 it is the mean.
 */
export function passAtK(n: number, c: number, k: number): number {
  if (k > n || k < 1) throw new RangeError(`pass@${k} needs 1 ≤ k ≤ n = ${n}`);
  if (n - c < k) return 1;
  let miss = 1;
  for (let i = n - c + 1; i <= n; i++) miss *= 1 - k / i;
  return 1 - miss;
}

export interface Candidate {
  /** The rollout index: stays attached to the candidate through selection. */
  index: number;
  reward: number;
  /** Regression tests (PASS_TO_PASS: tests that existed before the fix) that pass. */
  regressionPassed: number;
  /** The candidate changed nothing: submitting it is submitting nothing. */
  empty?: boolean;
  /** The execution-free verifier's P(YES); absent when it did not score this candidate. */
  verifier?: number;
  /** Reproduction tests that pass with the candidate's patch; absent when none ran. */
  repro?: number;
}

/** The selection rules `eval --select` knows. */
export const SELECTORS = ["oracle", "regression", "verifier", "repro", "hybrid", "random"] as const;
export type Selector = (typeof SELECTORS)[number];

/**
 * What each rule needs of every candidate besides its reward and regression count (hybrid
 * uses reproduction passes when there are some, as a tie-break).
 */
export const SELECTOR_NEEDS: Record<Selector, ("verifier" | "repro")[]> = {
  oracle: [], regression: [], random: [], verifier: ["verifier"], repro: ["repro"], hybrid: ["verifier"],
};

/** The candidate that is greatest by `keys`, in order; ties go to the lowest index. */
function greatest(cands: Candidate[], keys: ((c: Candidate) => number)[]): Candidate | undefined {
  let best: Candidate | undefined;
  for (const c of cands) {
    if (!best) {
      best = c;
      continue;
    }
    let d = 0;
    for (const k of keys) if ((d = k(c) - k(best))) break;
    if (d > 0 || (d === 0 && c.index < best.index)) best = c;
  }
  return best;
}

const verifierScore = (c: Candidate) => c.verifier ?? -Infinity;
const reproScore = (c: Candidate) => c.repro ?? 0;

/**
 * The candidate rule `name` submits, or undefined when there is none to choose from or the
 * rule lacks its scores (a verifier that failed on the task). An empty patch is never chosen
 * while a non-empty one exists: it would pass every regression test by changing nothing.
 * `draw` (random only): a number in [0, 1) fixed per task, so a run repeats.
 */
export function select(name: Selector, all: Candidate[], draw = 0): Candidate | undefined {
  const nonEmpty = all.filter((c) => !c.empty);
  const cands = nonEmpty.length ? nonEmpty : all;
  if (!cands.length) return undefined;
  if (SELECTOR_NEEDS[name].some((need) => cands.some((c) => c[need] === undefined))) return undefined;
  switch (name) {
    case "oracle":
      return greatest(cands, [(c) => c.reward]);
    case "regression":
      return greatest(cands, [(c) => c.regressionPassed]);
    case "verifier":
      return greatest(cands, [verifierScore]);
    case "repro":
      return greatest(cands, [reproScore]);
    case "hybrid": {
      // The verifier's top half (rounded up), then regression passes, reproduction passes,
      // and the verifier again.
      const byVerifier = [...cands].sort((a, b) => verifierScore(b) - verifierScore(a) || a.index - b.index);
      return greatest(byVerifier.slice(0, Math.ceil(cands.length / 2)), [(c) => c.regressionPassed, reproScore, verifierScore]);
    }
    case "random":
      return [...cands].sort((a, b) => a.index - b.index)[Math.floor(draw * cands.length)];
  }
}

/** The candidate with the most passing regression tests (`select("regression", …)`). */
export function bestOfK(cands: Candidate[]): Candidate | undefined {
  return select("regression", cands);
}
