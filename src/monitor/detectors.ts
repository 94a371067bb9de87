import { minOf } from '../internal/extrema.js';
import { fail } from '../internal/validate.js';
import type { MonitorEvent, MonitorEventName, StepRecord } from './types.js';

/** When the monitor calls something vanishing, exploding or a spike. Every figure is an option. */
export interface HealthThresholds {
  /**
   * Vanishing across depth: a layer whose gradient norm is below this fraction of the output end's (the geometric
   * mean of the positive, finite norms of the last quarter of the layers; the last layer alone in a network of 4
   * layers or fewer). A finite number >= 0 (0 turns this test off) below `explodingRatio`: no layer can be both
   * vanishing and exploding. Defaults to 1e-3 (three orders of
   * magnitude between the two ends of the network, gradstab's choice; Glorot & Bengio 2010 and He et al. 2015 show
   * the geometric decay with depth that this catches).
   */
  readonly vanishingRatio: number;
  /**
   * Vanishing outright: a layer whose gradient norm is below this, whatever the others do. A finite number >= 0 (0
   * turns this test off). Defaults to 1e-7,
   * tfjs's Adam epsilon: below it Adam's step for that layer is damped by the epsilon instead of normalized.
   */
  readonly vanishingFloor: number;
  /**
   * Exploding across depth: a layer whose gradient norm is above this multiple of the output end's (as for
   * `vanishingRatio`). A number > 0 above `vanishingRatio`; Infinity turns this test off. Defaults to 1e3.
   */
  readonly explodingRatio: number;
  /**
   * Exploding outright: a global norm above this. A number > 0; Infinity turns this test off. Defaults to 1e4
   * (gradstab's choice: far above the clipping
   * limits of 0.5 to 10 used in practice; depends on the loss's scale, so tune it for your model).
   */
  readonly explodingNorm: number;
  /**
   * Spike: a z-score of the global norm against its EMA above this. A number > 0; Infinity turns spike reports off.
   * Defaults to 4: ZClip (Kumar et al. 2025)
   * clips above 2.5, but as an alarm 2.5 fired on 29 of 192 steps of a healthy run whose norm rose as it learned
   * (examples/diagnose-gradients.ts), and 4 on 8 of them, at its real jumps; gradstab's choice for a report.
   */
  readonly spikeZ: number;
  /** The EMA's weight on the past for the spike statistics, in (0, 1). Defaults to 0.97, ZClip's. */
  readonly spikeAlpha: number;
  /**
   * Steps whose norms initialize the spike statistics before any spike is reported: a whole number >= 1, or Infinity
   * (never report a spike). Defaults to 25, ZClip's.
   */
  readonly spikeWarmup: number;
}

/**
 * The default {@link HealthThresholds} of {@link GradientHealthMonitor}; override any of them with its
 * `thresholds` option.
 *
 * @example
 * ```ts
 * import { DEFAULT_THRESHOLDS, GradientHealthMonitor } from 'gradstab';
 * console.log(DEFAULT_THRESHOLDS.vanishingRatio); // 0.001
 * const monitor = new GradientHealthMonitor({ thresholds: { explodingNorm: 100 * DEFAULT_THRESHOLDS.explodingNorm } });
 * ```
 */
export const DEFAULT_THRESHOLDS: HealthThresholds = {
  vanishingRatio: 1e-3,
  vanishingFloor: 1e-7,
  explodingRatio: 1e3,
  explodingNorm: 1e4,
  spikeZ: 4,
  spikeAlpha: 0.97,
  spikeWarmup: 25,
};

/**
 * Checks thresholds given to the monitor (`thresholds.<key>` in errors) against the ranges documented on
 * {@link HealthThresholds}, and returns them merged over the defaults.
 */
export function resolveThresholds(fn: string, given: Partial<HealthThresholds>): HealthThresholds {
  const t = { ...DEFAULT_THRESHOLDS, ...given };
  const check = (key: keyof HealthThresholds, ok: (v: number) => boolean, range: string) => {
    const v: unknown = given[key];
    if (v !== undefined && !(typeof v === 'number' && ok(v))) fail(fn, `thresholds.${key} must be ${range}`, v);
  };
  check('vanishingRatio', (v) => Number.isFinite(v) && v >= 0, 'a finite number >= 0');
  check('vanishingFloor', (v) => Number.isFinite(v) && v >= 0, 'a finite number >= 0');
  check('explodingRatio', (v) => v > 0, 'a number > 0 (Infinity turns the test off)');
  check('explodingNorm', (v) => v > 0, 'a number > 0 (Infinity turns the test off)');
  check('spikeZ', (v) => v > 0, 'a number > 0 (Infinity turns spike reports off)');
  check('spikeAlpha', (v) => v > 0 && v < 1, 'a number in (0, 1)');
  check(
    'spikeWarmup',
    (v) => (Number.isInteger(v) && v >= 1) || v === Number.POSITIVE_INFINITY,
    'a whole number >= 1 or Infinity',
  );
  if (!(t.vanishingRatio < t.explodingRatio)) {
    fail(
      fn,
      `thresholds.vanishingRatio must be below thresholds.explodingRatio (${t.explodingRatio}): no layer can be both`,
      t.vanishingRatio,
    );
  }
  return t;
}

/** The detectors' memory between steps: the spike statistics (ZClip's warm-up then EMA). */
export interface DetectorState {
  readonly seen: number;
  readonly mean: number;
  readonly variance: number;
  /** Warm-up sum and sum of squares of the norms. */
  readonly sum: number;
  readonly sumSq: number;
}

export const INITIAL_DETECTOR_STATE: DetectorState = { seen: 0, mean: 0, variance: 0, sum: 0, sumSq: 0 };

const fmt = (x: number) => (Number.isFinite(x) ? x.toExponential(2) : String(x));

/**
 * What one step's figures show: the conditions found (at most one event per kind) and the updated spike
 * statistics. Pure: the monitor decides which of these to emit.
 */
export function detect(
  record: StepRecord,
  state: DetectorState,
  t: HealthThresholds,
): { events: MonitorEvent[]; state: DetectorState } {
  const events: MonitorEvent[] = [];
  const event = (kind: MonitorEventName, layers: string[], reason: string, figures: Record<string, number>) =>
    events.push({ kind, step: record.step, layers, reason, figures });
  const layers = record.layers;
  const bad = layers.filter((l) => l.nonFinite > 0 || Number.isNaN(l.norm));
  if (bad.length > 0 || Number.isNaN(record.globalNorm)) {
    const where = bad.map((l) => l.layer).join(', ') || 'the gradients';
    // Between recorded steps the entries are not counted: the layers holding them are known from their norms.
    const count = record.partial ? Number.NaN : bad.reduce((n, l) => n + l.nonFinite, 0);
    event(
      'nonFinite',
      bad.map((l) => l.layer),
      record.partial
        ? `non-finite gradient entries in ${where}`
        : `${count} non-finite gradient entr${count === 1 ? 'y' : 'ies'} in ${where}`,
      { nonFinite: count, globalNorm: record.globalNorm },
    );
    return { events, state }; // nothing else is meaningful on such a step, and the statistics must not see it
  }
  // Depth ratios need two layers and a positive scale; the floor and the global norm apply whatever the others do.
  const reference = layers.length >= 2 ? outputEndNorm(layers) : 0;
  const ratios = layers.map((l) => (reference > 0 ? l.norm / reference : Number.NaN));
  const depthRatio = ratios[0] ?? Number.NaN;
  const scale = `the output end's (${fmt(reference)}, ${outputEndText(layers)})`;
  const ratioText = `first/output end = ${fmt(depthRatio)}`;
  const small = layers.filter((l, i) => (ratios[i] as number) < t.vanishingRatio || l.norm < t.vanishingFloor);
  if (small.length > 0) {
    const names = small.map((l) => l.layer).join(', ');
    event(
      'vanishing',
      small.map((l) => l.layer),
      reference > 0
        ? `gradient norms of ${names} are below ${t.vanishingRatio} of ${scale} or below ${t.vanishingFloor}; ${ratioText}`
        : `gradient norms of ${names} are below ${t.vanishingFloor}`,
      { depthRatio, referenceNorm: reference, smallestNorm: minOf(small.map((l) => l.norm)) },
    );
  }
  const large = layers.filter((_, i) => (ratios[i] as number) > t.explodingRatio);
  if (large.length > 0 || record.globalNorm > t.explodingNorm) {
    event(
      'exploding',
      (large.length > 0 ? large : layers).map((l) => l.layer),
      record.globalNorm > t.explodingNorm
        ? `global gradient norm ${fmt(record.globalNorm)} is above ${t.explodingNorm}`
        : `gradient norms of ${large.map((l) => l.layer).join(', ')} are above ${t.explodingRatio} times ${scale}; ${ratioText}`,
      { depthRatio, globalNorm: record.globalNorm, referenceNorm: reference },
    );
  }
  return { events, state: spikeUpdate(record, state, t, event) };
}

/** How many layers, counted from the output, make the output end: a quarter of them, at least one. */
export function outputEndSize(layerCount: number): number {
  return Math.max(1, Math.ceil(layerCount / 4));
}

/**
 * The scale the depth ratios are measured against: the geometric mean of the positive, finite gradient norms of the
 * output end (the last quarter of the layers). Not the last layer alone: an output layer's gradient can be near 0
 * for a reason of its own (a constant prediction on balanced labels cancels its bias gradient, and its kernel
 * gradient is as small as the activations it receives), which made every other layer look 1000 times larger. A dead
 * layer (norm 0) or an overflowed one (Infinity) there is left out rather than setting the scale; 0 when none is
 * left.
 */
export function outputEndNorm(layers: readonly { norm: number }[]): number {
  const usable = layers
    .slice(layers.length - outputEndSize(layers.length))
    .filter((l) => Number.isFinite(l.norm) && l.norm > 0);
  if (usable.length === 0) return 0;
  return Math.exp(usable.reduce((s, l) => s + Math.log(l.norm), 0) / usable.length);
}

/** The output end's layers, for the reasons: `out` or `h13 to out`. */
function outputEndText(layers: readonly { layer: string }[]): string {
  const end = layers.slice(layers.length - outputEndSize(layers.length));
  const first = end[0]?.layer ?? '';
  const last = end[end.length - 1]?.layer ?? '';
  return end.length === 1 ? last : `${first} to ${last}`;
}

/** ZClip's statistics: a warm-up of plain mean and variance, then an EMA fed the clipped value of a spike. */
function spikeUpdate(
  record: StepRecord,
  s: DetectorState,
  t: HealthThresholds,
  event: (kind: MonitorEventName, layers: string[], reason: string, figures: Record<string, number>) => void,
): DetectorState {
  const n = record.globalNorm;
  if (!Number.isFinite(n)) return s;
  if (s.seen < t.spikeWarmup) {
    const seen = s.seen + 1;
    const sum = s.sum + n;
    const sumSq = s.sumSq + n * n;
    if (seen < t.spikeWarmup) return { ...s, seen, sum, sumSq };
    const mean = sum / seen;
    return { seen, sum, sumSq, mean, variance: Math.max(0, sumSq / seen - mean * mean) };
  }
  const std = Math.sqrt(s.variance);
  const z = (n - s.mean) / (std + 1e-6);
  let fed = n;
  if (z > t.spikeZ) {
    fed = s.mean + t.spikeZ * std;
    event(
      'spike',
      [],
      `global gradient norm ${fmt(n)} is ${z.toFixed(1)} standard deviations above its average ${fmt(s.mean)}`,
      {
        globalNorm: n,
        z,
        mean: s.mean,
        std,
      },
    );
  }
  const mean = t.spikeAlpha * s.mean + (1 - t.spikeAlpha) * fed;
  const variance = t.spikeAlpha * s.variance + (1 - t.spikeAlpha) * (fed - mean) ** 2;
  return { ...s, seen: s.seen + 1, mean, variance };
}
