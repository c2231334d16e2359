// Fixed-bucket histograms, as Prometheus keeps them: a count per bucket and a sum. Workers
// observe into their own; the master adds them up (same buckets everywhere, so a sum is
// element by element). Buckets are fixed at build time: nothing grows with traffic.

/** Request durations, queue waits (seconds): 5 ms to 60 s. */
export const DURATION_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** Reload durations (seconds): 1 ms to 60 s. */
export const RELOAD_BUCKETS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** counts[i]: observations in bucket i (not cumulative); the last one is +Inf. sum in seconds. */
export interface Histogram {
  counts: number[];
  sum: number;
}

export function newHistogram(buckets: readonly number[]): Histogram {
  return { counts: new Array<number>(buckets.length + 1).fill(0), sum: 0 };
}

export function observe(h: Histogram, buckets: readonly number[], seconds: number): void {
  let i = 0;
  while (i < buckets.length && seconds > buckets[i]!) i++;
  h.counts[i] = (h.counts[i] ?? 0) + 1;
  h.sum += seconds;
}

/** The number of observations. */
export function histogramCount(h: Histogram): number {
  let n = 0;
  for (const c of h.counts) n += c;
  return n;
}
