/** Small, pure statistics for the benchmark: percentiles, summaries and recall. */

/** The p-th percentile (0 < p <= 100) by the nearest-rank method; NaN for no samples. */
export function percentile(samples: readonly number[], p: number): number {
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100], got ${p}`);
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}

export interface Summary {
  readonly n: number;
  readonly p50: number;
  readonly p95: number;
  readonly mean: number;
  readonly min: number;
  readonly max: number;
}

/** n, p50, p95, mean, min and max of a set of timings (NaN fields when empty). */
export function summarize(samples: readonly number[]): Summary {
  const n = samples.length;
  const mean = n === 0 ? Number.NaN : samples.reduce((sum, x) => sum + x, 0) / n;
  return {
    n,
    p50: percentile(samples, 50),
    p95: percentile(samples, 95),
    mean,
    min: n === 0 ? Number.NaN : Math.min(...samples),
    max: n === 0 ? Number.NaN : Math.max(...samples),
  };
}

/**
 * recall@k: the share of the exact top-k (`truth`, at most k ids) that the search returned among its first k.
 * A tenant with fewer than k rows has a shorter truth; an empty truth (nothing to find) counts as full recall.
 */
export function recallAtK(found: readonly string[], truth: readonly string[], k: number): number {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be a positive integer, got ${k}`);
  const expected = truth.slice(0, k);
  if (expected.length === 0) return 1;
  const returned = new Set(found.slice(0, k));
  return expected.filter((id) => returned.has(id)).length / expected.length;
}

/** a / b, or NaN when b is not positive. */
export function ratio(a: number, b: number): number {
  return b > 0 ? a / b : Number.NaN;
}
