// Evaluation arithmetic: pass@k and execution-based best-of-k selection (DEEPSWE.md, test-time
// scaling). Candidates keep their index from start to end: the public scripts were known to
// misalign scores with candidates, so nothing here reorders without carrying the index.

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
}

/** The candidate with the most passing regression tests; ties go to the lowest index. */
export function bestOfK(cands: Candidate[]): Candidate | undefined {
  let best: Candidate | undefined;
  for (const c of cands) {
    if (!best || c.regressionPassed > best.regressionPassed || (c.regressionPassed === best.regressionPassed && c.index < best.index)) best = c;
  }
  return best;
}
