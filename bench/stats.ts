/** Statistics for the benchmark harness: quantiles, a bootstrap interval of the median, target verdicts. */

/** Median and quartiles. */
export interface Spread {
  readonly median: number;
  readonly q25: number;
  readonly q75: number;
}

/** A ratio candidate / baseline over the rounds. */
export interface RatioStats extends Spread {
  /** A 95% percentile-bootstrap interval of the median over rounds. */
  readonly ci95: readonly [number, number];
  /** Rounds the ratio is computed over. */
  readonly n: number;
}

/** Fewer rounds than this give no verdict but `unclear` (a bootstrap over 2 or 3 values means nothing). */
export const MIN_ROUNDS_FOR_VERDICT = 6;

export type Verdict = 'met' | 'missed' | 'unclear';

/** Linear-interpolation quantile (type 7) of an unsorted sample. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (b - a) * (pos - lo);
}

export function spread(values: readonly number[]): Spread {
  return { median: quantile(values, 0.5), q25: quantile(values, 0.25), q75: quantile(values, 0.75) };
}

/** A small deterministic PRNG (mulberry32) so that bootstrap intervals are reproducible. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Percentile-bootstrap 95% interval of the median. */
export function bootstrapMedianCI(values: readonly number[], resamples = 2000, seed = 12345): [number, number] {
  if (values.length === 0) return [Number.NaN, Number.NaN];
  const rand = prng(seed);
  const medians: number[] = [];
  const sample = new Array<number>(values.length);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < values.length; i++) sample[i] = values[Math.floor(rand() * values.length)] as number;
    medians.push(quantile(sample, 0.5));
  }
  return [quantile(medians, 0.025), quantile(medians, 0.975)];
}

export function ratioStats(ratios: readonly number[]): RatioStats {
  return { ...spread(ratios), ci95: bootstrapMedianCI(ratios), n: ratios.length };
}

export function verdict(r: RatioStats, target: number): Verdict {
  if (r.n < MIN_ROUNDS_FOR_VERDICT) return 'unclear';
  if (r.ci95[1] <= target) return 'met';
  if (r.ci95[0] > target) return 'missed';
  return 'unclear';
}
