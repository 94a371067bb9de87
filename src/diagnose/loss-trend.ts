/**
 * How a training loss moved over a short trial: the evidence behind `diagnose()`'s learning-rate and
 * unstable-loss findings. Pure arithmetic on the losses read back (no tensor).
 */

/** The shape of a loss curve. */
export type LossTrendKind = 'falling' | 'flat' | 'oscillating' | 'diverging';

/** Thresholds of {@link lossTrend}; each says its default. */
export interface LossTrendThresholds {
  /** Falling: the last quarter's median at most `1 - fall` times the first quarter's. Defaults to 0.1. */
  readonly fall: number;
  /**
   * Diverging: the last quarter's median at least `rise` times the first quarter's or the first loss, whichever is
   * lower (or a non-finite loss). Defaults to 1.5.
   */
  readonly rise: number;
  /**
   * Oscillating: in the second half, the median absolute step-to-step change is above `jitter` times the start
   * loss while more than half the steps change direction. Defaults to 0.25.
   */
  readonly jitter: number;
}

export const DEFAULT_TREND_THRESHOLDS: LossTrendThresholds = { fall: 0.1, rise: 1.5, jitter: 0.25 };

/** What {@link lossTrend} found, with its numbers. */
export interface LossTrend {
  readonly kind: LossTrendKind;
  /** Median of the first quarter of the losses. */
  readonly start: number;
  /** Median of the last quarter. */
  readonly end: number;
  /** `end` over the lower of `start` and the first loss (Infinity when a loss is not finite). */
  readonly ratio: number;
  /**
   * Median |loss[i+1] - loss[i]| over the second half, divided by the start (so that a loss near 0 that varies from
   * batch to batch, as a learned one does, is not called oscillating).
   */
  readonly jitter: number;
  /** Share of the second half's steps where the loss changes direction. */
  readonly reversals: number;
  /** The first step (from 1) whose loss is not finite, or null. */
  readonly firstNonFinite: number | null;
}

function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/**
 * Classifies a loss curve: `diverging` when a loss is not finite or the end is well above the start, `oscillating`
 * when the second half jumps up and down by a large share of its level, `falling` when the end is clearly below
 * the start, else `flat`. Oscillating and falling need at least 8 losses (fewer are `diverging` or `flat`, with the
 * figures computed as far as they go).
 */
export function lossTrend(
  losses: readonly number[],
  thresholds: LossTrendThresholds = DEFAULT_TREND_THRESHOLDS,
): LossTrend {
  const bad = losses.findIndex((l) => !Number.isFinite(l));
  const firstNonFinite = bad < 0 ? null : bad + 1;
  const finite = bad < 0 ? losses : losses.slice(0, bad);
  const quarter = Math.max(1, Math.floor(finite.length / 4));
  const start = median(finite.slice(0, quarter));
  const end = median(finite.slice(finite.length - quarter));
  const half = finite.slice(Math.floor(finite.length / 2));
  const steps = half.slice(1).map((l, i) => l - (half[i] as number));
  const jitter = start > 0 ? median(steps.map(Math.abs)) / start : 0;
  let turns = 0;
  for (let i = 1; i < steps.length; i++) if ((steps[i] as number) * (steps[i - 1] as number) < 0) turns++;
  const reversals = steps.length > 1 ? turns / (steps.length - 1) : 0;
  // Against the first loss too (the weights as they came, before any update): a rate so high that the first update
  // already blew the loss up leaves the first quarter as high as the end.
  const first = finite.length > 0 ? Math.min(start, finite[0] as number) : start;
  const ratio =
    firstNonFinite !== null
      ? Number.POSITIVE_INFINITY
      : first > 0
        ? end / first
        : end > 0
          ? Number.POSITIVE_INFINITY
          : 1;
  let kind: LossTrendKind;
  if (firstNonFinite !== null || ratio >= thresholds.rise) kind = 'diverging';
  else if (losses.length < 8) kind = 'flat';
  else if (jitter > thresholds.jitter && reversals > 0.5) kind = 'oscillating';
  else if (ratio <= 1 - thresholds.fall) kind = 'falling';
  else kind = 'flat';
  return { kind, start, end, ratio, jitter, reversals, firstNonFinite };
}
