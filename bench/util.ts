// Timing helpers for benchmarks, and their smoke-test sizes.

/**
 * TROUPE_BENCH_SMOKE=1 runs every benchmark at token sizes: the suite does, to check that each
 * still runs and keeps its last-line contract. Its figures then mean nothing.
 */
export const SMOKE = process.env.TROUPE_BENCH_SMOKE === "1";

/** `full`, or `smoke` in a smoke run. */
export function size(full: number, smoke: number): number {
  return SMOKE ? smoke : full;
}

/** Calls per second of `n` sequential awaited calls. */
export async function sequential(n: number, call: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < Math.min(200, n); i++) await call(); // warm-up
  const t = performance.now();
  for (let i = 0; i < n; i++) await call();
  return Math.round((n * 1000) / (performance.now() - t));
}

/** Calls per second with `window` calls kept in flight until `n` complete. */
export async function pipelined(n: number, window: number, call: () => Promise<unknown>): Promise<number> {
  await Promise.all(Array.from({ length: window }, () => call()));
  const t = performance.now();
  let sent = 0;
  await new Promise<void>((resolve, reject) => {
    let done = 0;
    const go = (): void => {
      sent++;
      call().then(() => {
        if (++done === n) resolve();
        else if (sent < n) go();
      }, reject);
    };
    for (let i = 0; i < window; i++) go();
  });
  return Math.round((n * 1000) / (performance.now() - t));
}

/** The middle value (the upper one of an even count). */
export function median(xs: number[]): number {
  return [...xs].sort((x, y) => x - y)[xs.length >> 1];
}

export function log(msg: string): void {
  console.error(msg);
}

/** `x` with `digits` decimals, for the JSON line. */
export function round(x: number, digits = 2): number {
  return Number(x.toFixed(digits));
}
