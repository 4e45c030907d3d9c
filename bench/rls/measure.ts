/**
 * Interleaved timing: every iteration runs each variant once, alternating the order (A B, then B A, …) so that
 * drift, caches and the other work on the machine hit every variant alike. Warm-up rounds are discarded.
 */

/** One variant: does its setup, times the part that counts, and returns that time in milliseconds. */
export type TimedRun = () => Promise<number>;

export interface InterleaveOptions {
  /** Discarded rounds before measuring. */
  readonly warmup: number;
  /** Measured rounds. */
  readonly iterations: number;
}

/** Runs the variants interleaved and returns each one's measured samples (ms), keyed like the input. */
export async function interleave<K extends string>(
  variants: Record<K, TimedRun>,
  options: InterleaveOptions,
): Promise<Record<K, number[]>> {
  const names = Object.keys(variants) as K[];
  const samples = Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<K, number[]>;
  for (let round = 0; round < options.warmup + options.iterations; round++) {
    const order = round % 2 === 0 ? names : [...names].reverse();
    for (const name of order) {
      const elapsed = await variants[name]();
      if (round >= options.warmup) samples[name].push(elapsed);
    }
  }
  return samples;
}

/** Times one awaited call, in milliseconds. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await fn();
  return { ms: performance.now() - started, value };
}
