/** Small, pure statistics for the benchmarks: percentiles, medians, summaries, ratio intervals and recall. */

/** Index of the p-th percentile in n sorted samples, by the nearest-rank method. */
const nearestRank = (n: number, p: number) => Math.max(0, Math.ceil((p / 100) * n) - 1);

/** The p-th percentile (0 < p <= 100) by the nearest-rank method; NaN for no samples. */
export function percentile(samples: readonly number[], p: number): number {
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100], got ${p}`);
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[nearestRank(sorted.length, p)];
}

/** The median, halfway between the two middle samples of an even count; NaN for no samples. */
export function median(samples: readonly number[]): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
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

export interface Interval {
  readonly low: number;
  readonly high: number;
}

export interface RatioIntervalOptions {
  /** Bootstrap resamples (default 2,000). */
  readonly resamples?: number;
  /** Coverage, in (0, 1) (default 0.95). */
  readonly confidence?: number;
  /** PRNG seed, so that a run's intervals are repeatable (default 1). */
  readonly seed?: number;
}

/**
 * Percentile-bootstrap confidence interval of p50(a) / p50(b): each side is resampled with replacement and the
 * ratio of the resampled medians taken, `resamples` times. One run's ratio near a target says little by
 * itself; the interval says whether the difference from the target is larger than that run's noise.
 * NaN bounds when either side has no samples.
 */
export function ratioInterval(a: readonly number[], b: readonly number[], options: RatioIntervalOptions = {}): Interval {
  const { resamples = 2000, confidence = 0.95, seed = 1 } = options;
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`confidence must be in (0, 1), got ${confidence}`);
  if (!Number.isInteger(resamples) || resamples < 1) throw new RangeError(`resamples must be a positive integer, got ${resamples}`);
  if (a.length === 0 || b.length === 0) return { low: Number.NaN, high: Number.NaN };
  const random = mulberry32(seed);
  // Typed arrays sort numerically without a comparator: the 2,000 × 2 sorts stay well under a second.
  const resampledMedian = (samples: readonly number[], scratch: Float64Array) => {
    for (let i = 0; i < samples.length; i++) scratch[i] = samples[Math.floor(random() * samples.length)];
    return scratch.sort()[nearestRank(scratch.length, 50)];
  };
  const scratchA = new Float64Array(a.length);
  const scratchB = new Float64Array(b.length);
  const ratios: number[] = [];
  for (let i = 0; i < resamples; i++) ratios.push(ratio(resampledMedian(a, scratchA), resampledMedian(b, scratchB)));
  const tail = ((1 - confidence) / 2) * 100;
  return { low: percentile(ratios, tail), high: percentile(ratios, 100 - tail) };
}

/** A small seeded PRNG (mulberry32): uniform in [0, 1). */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
