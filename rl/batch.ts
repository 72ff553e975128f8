// Batch-level arithmetic: the loss aggregation (reference form of what the worker computes),
// and packing sequences into micro-batches by a token budget.

/**
 * DEEPSWE's aggregation: each trajectory's masked token losses summed and divided by the
 * constant C (the maximum response length), then the mean over trajectories.
 */
export function aggregateLoss(tokenLosses: number[][], masks: number[][], c: number): number {
  if (!tokenLosses.length) return 0;
  let total = 0;
  tokenLosses.forEach((ls, i) => {
    let s = 0;
    for (let t = 0; t < ls.length; t++) s += masks[i][t] * ls[t];
    total += s / c;
  });
  return total / tokenLosses.length;
}

/**
 * Packs sequences into micro-batches of at most `budget` tokens: longest first, each into the
 * first micro-batch with room (first-fit decreasing); a sequence longer than the budget goes
 * alone. Returns the sequences' indices per micro-batch.
 */
export function packMicroBatches(lengths: number[], budget: number): number[][] {
  if (budget < 1) throw new RangeError(`token budget must be at least 1, got ${budget}`);
  const order = lengths.map((len, i) => ({ len, i })).sort((a, b) => b.len - a.len || a.i - b.i);
  const bins: { used: number; items: number[] }[] = [];
  for (const { len, i } of order) {
    const bin = bins.find((b) => b.used + len <= budget);
    if (bin) {
      bin.used += len;
      bin.items.push(i);
    } else bins.push({ used: len, items: [i] });
  }
  return bins.map((b) => b.items.sort((x, y) => x - y));
}
