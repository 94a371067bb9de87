import { threeDigits } from '../internal/describe.js';
import { DEFAULT_THRESHOLDS } from '../monitor/detectors.js';
import type { ActivationProbe } from '../monitor/probe.js';
import type { HealthReport } from '../monitor/report.js';
import type { LossTrend } from './loss-trend.js';
import type { LrRangeTestResult } from './lr-range-test.js';

/** What `diagnose()` can find wrong with a network's training. */
export type FindingKind =
  | 'vanishing'
  | 'exploding'
  | 'nonFinite'
  | 'deadUnits'
  | 'saturated'
  | 'learningRateTooHigh'
  | 'learningRateTooLow'
  | 'unstableLoss';

/** How much a finding matters: `high` stops learning, `medium` slows or endangers it, `low` is worth a look. */
export type Severity = 'high' | 'medium' | 'low';

/** One thing found, where, and the numbers it rests on. */
export interface Finding {
  /** What was found. */
  readonly kind: FindingKind;
  /** The layers involved (empty for findings about the whole training, such as the learning rate). */
  readonly layers: readonly string[];
  /** How much it matters. */
  readonly severity: Severity;
  /** A sentence with the numbers. */
  readonly description: string;
  /** The measurements behind it, by name. */
  readonly evidence: Readonly<Record<string, number | string | null>>;
}

/** What a short baseline trial measured, the input of {@link findingsOf}. */
export interface Measurements {
  /** The optimizer's learning rate during the trial. */
  readonly learningRate: number;
  /** The trial's training losses, one per step. */
  readonly losses: readonly number[];
  readonly trend: LossTrend;
  /** The monitor's report over the trial (every step recorded). */
  readonly report: HealthReport;
  /** The global gradient norm of each step. */
  readonly globalNorms: readonly number[];
  /** The model's output layers: a saturated output is a confident prediction, not a finding. */
  readonly outputLayers: readonly string[];
  /** The activations before training, and after the trial (null when the trial ended non-finite). */
  readonly probeAtStart: ActivationProbe;
  readonly probeAfter: ActivationProbe | null;
  /** The range test from the starting weights, when run. */
  readonly lrRange: LrRangeTestResult | null;
  /** The loss on held-out examples before and after the trial, when measured. */
  readonly heldOutBefore?: number;
  readonly heldOutAfter?: number;
}

/** Thresholds of {@link findingsOf}; each says its default. */
export interface FindingThresholds {
  /** A learning rate this many times below the range test's steepest rate, with a flat loss, is too low. Defaults to 10. */
  readonly tooLowFactor: number;
  /** A learning rate at or above this share of the range test's divergence point is too high. Defaults to 0.5. */
  readonly tooHighShare: number;
  /** A held-out loss that ends the trial above this multiple of its start is an unstable loss. Defaults to 1.25. */
  readonly heldOutRise: number;
  /** A largest global norm this many times the median is a spike, an exploding gradient. Defaults to 100. */
  readonly spikeRatio: number;
}

export const DEFAULT_FINDING_THRESHOLDS: FindingThresholds = {
  tooLowFactor: 10,
  tooHighShare: 0.5,
  heldOutRise: 1.25,
  spikeRatio: 100,
};

/** Linear-interpolation quantile of the finite values (NaN when there is none). */
export function quantileOf(values: readonly number[], q: number): number {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return (sorted[lo] as number) + ((sorted[hi] as number) - (sorted[lo] as number)) * (pos - lo);
}

/** The distribution of the global gradient norm over the trial: median, p90, p99 and max of the finite values. */
export function normDistribution(norms: readonly number[]): { median: number; p90: number; p99: number; max: number } {
  return {
    median: quantileOf(norms, 0.5),
    p90: quantileOf(norms, 0.9),
    p99: quantileOf(norms, 0.99),
    max: quantileOf(norms, 1),
  };
}

const fmt = (x: number | null): string => (x === null ? 'none' : threeDigits(x));

/** The layers of the report's verdicts of one kind, in model order, without repeats. */
function verdictLayers(report: HealthReport, kind: 'vanishing' | 'exploding' | 'nonFinite'): string[] {
  const named = new Set(report.verdicts.filter((v) => v.kind === kind).flatMap((v) => v.layers));
  return report.layers.map((l) => l.layer).filter((l) => named.has(l));
}

/** The depth ratios of some layers, for the evidence. */
function depthRatios(report: HealthReport, layers: readonly string[]): string {
  return report.layers
    .filter((l) => layers.includes(l.layer))
    .map((l) => `${l.layer} ${fmt(l.depthRatio)}`)
    .join(', ');
}

/** Whether the range test's smoothed loss fell by 10% or more from its start before it diverged. */
export function rangeFell(range: LrRangeTestResult): boolean {
  const smoothed = range.smoothedLosses.filter(Number.isFinite);
  const first = smoothed[0];
  return first !== undefined && Math.min(...smoothed) < first - 0.1 * Math.abs(first);
}

/**
 * Exploding gradients as Pascanu et al. (2013) describe them in recurrent nets: a global norm that is typically
 * modest but spikes by orders of magnitude on a few steps (the cliffs of the loss surface), which the depth
 * profile does not show. Found when the largest finite norm is `spikeRatio` times the median or more; the layers
 * named are those whose own largest norm is that far above their typical one.
 */
function normSpikes(m: Measurements, norms: ReturnType<typeof normDistribution>, t: FindingThresholds): Finding | null {
  if (!(norms.median > 0) || !(norms.max >= t.spikeRatio * norms.median)) return null;
  const layers = m.report.layers.filter((l) => l.maxNorm >= t.spikeRatio * l.typicalNorm).map((l) => l.layer);
  const ratio = norms.max / norms.median;
  const spikes = m.globalNorms.filter((n) => Number.isFinite(n) && n >= t.spikeRatio * norms.median).length;
  return {
    kind: 'exploding',
    layers,
    severity: 'medium',
    description:
      `Exploding gradients: the global gradient norm spiked to ${fmt(norms.max)}, ${fmt(ratio)} times its median ` +
      `${fmt(norms.median)}, on ${spikes} of ${m.globalNorms.length} steps` +
      (layers.length > 0 ? ` (in ${layers.join(', ')})` : '') +
      '.',
    evidence: {
      spikeSteps: spikes,
      spikeRatio: ratio,
      normMedian: norms.median,
      normP90: norms.p90,
      normP99: norms.p99,
      normMax: norms.max,
    },
  };
}

/** The monitor's default `vanishingRatio`: below it, a layer's gradient vanished across depth. */
const VANISHING_RATIO = DEFAULT_THRESHOLDS.vanishingRatio;

/**
 * Drops a `vanishing` finding that is the shadow of another one: when the gradient profile is flat (every named
 * layer within `vanishingRatio` of the output end, or the output end itself at 0), nothing vanished across depth;
 * the whole network stopped, and the dead units, the saturated layers, the learning rate or the non-finite values
 * found beside it say why.
 */
function withoutDeadEndVanishing(found: Finding[], m: Measurements): Finding[] {
  const vanishing = found.find((f) => f.kind === 'vanishing');
  if (!vanishing) return found;
  // Nothing vanished across depth when no named layer's gradient is below `VANISHING_RATIO` of the output end's:
  // the verdicts came from the absolute floor alone, every layer as small as the output end (or it is 0 itself).
  // A learning rate that threw the training off explains such a flat profile; dead or saturated units explain it
  // only when the output end has no gradient at all (a deep ReLU net with Xavier init has dead units too, and its
  // early layers' vanishing is its own finding).
  const ratios = m.report.layers.filter((l) => vanishing.layers.includes(l.layer)).map((l) => l.depthRatio);
  const flatProfile = ratios.every((r) => !Number.isFinite(r) || r >= VANISHING_RATIO);
  const noOutputGradient = ratios.every((r) => !Number.isFinite(r));
  const has = (kinds: readonly FindingKind[]) => found.some((f) => kinds.includes(f.kind));
  const shadow =
    (flatProfile && has(['learningRateTooHigh', 'nonFinite', 'exploding'])) ||
    (noOutputGradient && has(['deadUnits', 'saturated']));
  return shadow ? found.filter((f) => f !== vanishing) : found;
}

/**
 * Turns a trial's measurements into findings, worst first: non-finite gradients or losses, vanishing and exploding
 * layers (the monitor's verdicts), dead and saturated units (the activation probe, after the trial when it ran to
 * the end), the learning rate against the range test, and an oscillating loss.
 */
export function findingsOf(m: Measurements, t: FindingThresholds = DEFAULT_FINDING_THRESHOLDS): Finding[] {
  const found: Finding[] = [];
  const norms = normDistribution(m.globalNorms);
  const normEvidence = { normMedian: norms.median, normP90: norms.p90, normP99: norms.p99, normMax: norms.max };
  const nonFiniteLayers = verdictLayers(m.report, 'nonFinite');
  if (m.report.counts.nonFinite > 0 || m.trend.firstNonFinite !== null) {
    found.push({
      kind: 'nonFinite',
      layers: nonFiniteLayers,
      severity: 'high',
      description: [
        m.report.counts.nonFinite > 0
          ? `NaN or Infinity in the gradients on ${m.report.counts.nonFinite} of ${m.report.steps} steps`
          : '',
        m.trend.firstNonFinite !== null ? `the loss was not finite from step ${m.trend.firstNonFinite}` : '',
      ]
        .filter((part) => part !== '')
        .join('; ')
        .replace(/^./, (c) => c.toUpperCase())
        .concat('.'),
      evidence: {
        nonFiniteSteps: m.report.counts.nonFinite,
        firstNonFiniteLoss: m.trend.firstNonFinite,
        ...normEvidence,
      },
    });
  }
  for (const kind of ['exploding', 'vanishing'] as const) {
    const layers = verdictLayers(m.report, kind);
    if (layers.length === 0) {
      if (kind === 'exploding') {
        const spiking = normSpikes(m, norms, t);
        if (spiking) found.push(spiking);
      }
      continue;
    }
    const steps = m.report.counts[kind];
    found.push({
      kind,
      layers,
      severity: steps >= m.report.steps / 2 ? 'high' : 'medium',
      description:
        `${kind === 'vanishing' ? 'Vanishing' : 'Exploding'} gradients in ${layers.join(', ')} on ${steps} of ` +
        `${m.report.steps} steps (gradient norm over the output end's: ${depthRatios(m.report, layers)}).`,
      evidence: { steps, recorded: m.report.steps, depthRatios: depthRatios(m.report, layers), ...normEvidence },
    });
  }
  const probe = m.probeAfter ?? m.probeAtStart;
  const when = m.probeAfter ? 'after the trial' : 'at the start';
  for (const kind of ['deadUnits', 'saturated'] as const) {
    const verdicts = probe.verdicts.filter(
      (v) => v.kind === kind && !(kind === 'saturated' && m.outputLayers.includes(v.layer)),
    );
    if (verdicts.length === 0) continue;
    const key = kind === 'deadUnits' ? 'deadFraction' : 'saturatedFraction';
    const fractions = verdicts.map((v) => `${v.layer} ${fmt(v.figures[key] ?? Number.NaN)}`).join(', ');
    found.push({
      kind,
      layers: verdicts.map((v) => v.layer),
      severity: verdicts.some((v) => (v.figures[key] ?? 0) >= 0.9) ? 'high' : 'medium',
      description: `${kind === 'deadUnits' ? 'Dead ReLU units' : 'Saturated activations'} ${when} (${key}: ${fractions}).`,
      evidence: { [key]: fractions, measured: when },
    });
  }
  const range = m.lrRange;
  const lrEvidence = {
    learningRate: m.learningRate,
    steepest: range?.steepest ?? null,
    divergedAt: range?.divergedAt ?? null,
    trend: m.trend.kind,
    lossStart: m.trend.start,
    lossEnd: m.trend.end,
  };
  const diverging = m.trend.kind === 'diverging';
  const aboveDivergence = range?.divergedAt != null && m.learningRate >= t.tooHighShare * range.divergedAt;
  if (diverging || aboveDivergence) {
    found.push({
      kind: 'learningRateTooHigh',
      layers: [],
      severity: diverging ? 'high' : 'medium',
      description:
        `The learning rate ${fmt(m.learningRate)} is too high: the loss went from ${fmt(m.trend.start)} to ` +
        `${fmt(m.trend.end)} (${m.trend.kind})` +
        (range
          ? `; the range test's loss diverged at ${fmt(range.divergedAt)}, fell fastest at ${fmt(range.steepest)}`
          : '') +
        '.',
      evidence: lrEvidence,
    });
  } else if (
    m.trend.kind === 'flat' &&
    range?.steepest != null &&
    rangeFell(range) && // a flat sweep's steepest point is noise
    range.steepest >= t.tooLowFactor * m.learningRate &&
    !found.some((f) => f.kind === 'vanishing' || f.kind === 'deadUnits' || f.kind === 'saturated')
  ) {
    found.push({
      kind: 'learningRateTooLow',
      layers: [],
      severity: 'medium',
      description:
        `The learning rate ${fmt(m.learningRate)} is too low: the loss stayed flat (${fmt(m.trend.start)} to ` +
        `${fmt(m.trend.end)}) while the range test's loss fell fastest at ${fmt(range.steepest)}.`,
      evidence: lrEvidence,
    });
  }
  const before = m.heldOutBefore ?? Number.NaN;
  const after = m.heldOutAfter ?? Number.NaN;
  // Training that makes the held-out loss much worse within a short trial is unstable, whatever the batch losses
  // looked like (they can hover while the weights are thrown about).
  const heldOutRose = Number.isFinite(before) && Number.isFinite(after) && after > t.heldOutRise * before;
  if (m.trend.kind === 'oscillating' || (heldOutRose && !diverging)) {
    found.push({
      kind: 'unstableLoss',
      layers: [],
      severity: 'medium',
      description:
        m.trend.kind === 'oscillating'
          ? `The loss oscillates: in the second half of the trial it moved by ${fmt(m.trend.jitter)} of its starting ` +
            `level per step and changed direction on ${fmt(m.trend.reversals * 100)}% of the steps.`
          : `Training made the held-out loss worse: ${fmt(before)} before the trial, ${fmt(after)} after it.`,
      evidence: {
        jitter: m.trend.jitter,
        reversals: m.trend.reversals,
        heldOutBefore: before,
        heldOutAfter: after,
        ...lrEvidence,
        ...normEvidence,
      },
    });
  }
  const rank: Record<Severity, number> = { high: 0, medium: 1, low: 2 };
  return withoutDeadEndVanishing(found, m).sort((a, b) => rank[a.severity] - rank[b.severity]);
}
