import { describe, expect, it } from 'vitest';
import { findingsOf, type Measurements, normDistribution, quantileOf } from '../../src/diagnose/findings.js';
import { lossTrend } from '../../src/diagnose/loss-trend.js';
import type { ActivationProbe, HealthReport, LayerReport } from '../../src/index.js';

const range = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i));

function layer(name: string, depthRatio: number): LayerReport {
  return {
    layer: name,
    lastNorm: 1,
    minNorm: 1,
    maxNorm: 1,
    typicalNorm: 1,
    depthRatio,
    maxAbs: 1,
    nonFiniteSteps: 0,
    weightNorm: 1,
    updateRatio: 1e-3,
  };
}

const healthyReport: HealthReport = {
  steps: 40,
  recorded: 40,
  globalNorm: { last: 1, typical: 1, max: 2 },
  layers: [layer('h1', 1), layer('h2', 1), layer('out', 1)],
  verdicts: [],
  counts: { vanishing: 0, exploding: 0, nonFinite: 0, spike: 0 },
};
const noProbe: ActivationProbe = { layers: [], verdicts: [], skipped: [] };

function measured(over: Partial<Measurements> = {}): Measurements {
  const losses = over.losses ?? range(40, (i) => Math.exp(-i / 20));
  return {
    learningRate: 0.01,
    outputLayers: ['out'],
    losses,
    trend: lossTrend(losses),
    report: healthyReport,
    globalNorms: range(40, (i) => 1 + i / 40),
    probeAtStart: noProbe,
    probeAfter: noProbe,
    lrRange: { learningRates: [], losses: [], smoothedLosses: [], steepest: 0.02, minimum: 0.1, divergedAt: 1 },
    ...over,
  };
}

describe('findingsOf', () => {
  it('finds nothing in a healthy trial', () => {
    expect(findingsOf(measured())).toEqual([]);
  });

  it('reports the monitor verdicts with the layers and their depth ratios, worst first', () => {
    const report: HealthReport = {
      ...healthyReport,
      layers: [layer('h1', 1e-6), layer('h2', 1e-3), layer('out', 1)],
      verdicts: [
        { kind: 'vanishing', layers: ['h2', 'h1'], reason: '', firstStep: 1, lastStep: 40, steps: 40 },
        { kind: 'nonFinite', layers: ['out'], reason: '', firstStep: 7, lastStep: 7, steps: 1 },
      ],
      counts: { vanishing: 40, exploding: 0, nonFinite: 1, spike: 0 },
    };
    const found = findingsOf(measured({ report, losses: [...range(10, () => 1), Number.NaN] }));
    expect(found.map((f) => f.kind)).toEqual(['nonFinite', 'vanishing', 'learningRateTooHigh']);
    const vanishing = found[1];
    expect(vanishing?.layers).toEqual(['h1', 'h2']); // model order
    expect(vanishing?.severity).toBe('high'); // on every step
    expect(vanishing?.evidence.depthRatios).toBe('h1 0.000001, h2 0.001');
    expect(found[0]?.evidence.firstNonFiniteLoss).toBe(11);
  });

  it('drops a vanishing finding with a flat depth profile beside its cause, keeps one that decays with depth', () => {
    const flat: HealthReport = {
      ...healthyReport,
      layers: [layer('h1', 0.25), layer('h2', 0.7), layer('out', 1)],
      verdicts: [{ kind: 'vanishing', layers: ['h1', 'h2', 'out'], reason: '', firstStep: 1, lastStep: 40, steps: 40 }],
      counts: { vanishing: 40, exploding: 0, nonFinite: 0, spike: 0 },
    };
    const diverged = range(40, (i) => 1 + i / 10); // the learning rate too high: the cause
    expect(findingsOf(measured({ report: flat, losses: diverged })).map((f) => f.kind)).toEqual([
      'learningRateTooHigh',
    ]);
    // alone, the flat profile is still reported: nothing else explains the missing gradient
    expect(findingsOf(measured({ report: flat })).map((f) => f.kind)).toEqual(['vanishing']);
    // dead units explain it only when the output end has no gradient at all
    const deadProbe: ActivationProbe = {
      layers: [],
      skipped: [],
      verdicts: [{ kind: 'deadUnits', layer: 'h2', reason: '', figures: { deadFraction: 0.95 } }],
    };
    const withDead = findingsOf(measured({ report: flat, probeAfter: deadProbe })).map((f) => f.kind);
    expect(withDead).toEqual(['vanishing', 'deadUnits']);
    const silent: HealthReport = {
      ...flat,
      layers: [layer('h1', Number.NaN), layer('h2', Number.NaN), layer('out', Number.NaN)],
    };
    expect(findingsOf(measured({ report: silent, probeAfter: deadProbe })).map((f) => f.kind)).toEqual(['deadUnits']);
    const decaying: HealthReport = { ...flat, layers: [layer('h1', 1e-5), layer('h2', 0.7), layer('out', 1)] };
    expect(findingsOf(measured({ report: decaying, losses: diverged })).map((f) => f.kind)).toEqual([
      'vanishing',
      'learningRateTooHigh',
    ]);
  });

  it('reports dead and saturated units from the probe after the trial, or at the start when the trial broke', () => {
    const probe: ActivationProbe = {
      layers: [],
      skipped: [],
      verdicts: [
        {
          kind: 'deadUnits',
          layer: 'h1',
          reason: '',
          figures: { deadFraction: 0.95, deadUnits: 19, units: 20, maxDeadFraction: 0.5 },
        },
        { kind: 'saturated', layer: 'h2', reason: '', figures: { saturatedFraction: 0.6, maxSaturatedFraction: 0.5 } },
      ],
    };
    const found = findingsOf(measured({ probeAfter: probe }));
    expect(found.map((f) => [f.kind, f.severity, f.evidence.measured])).toEqual([
      ['deadUnits', 'high', 'after the trial'],
      ['saturated', 'medium', 'after the trial'],
    ]);
    expect(findingsOf(measured({ probeAtStart: probe, probeAfter: null }))[0]?.evidence.measured).toBe('at the start');
  });

  it('calls the learning rate too high on a diverging loss or next to the divergence point, too low on a flat loss far below the steepest rate', () => {
    const up = findingsOf(measured({ losses: range(40, (i) => 1 + i / 10) }));
    expect(up.map((f) => [f.kind, f.severity])).toEqual([['learningRateTooHigh', 'high']]);
    const near = findingsOf(measured({ learningRate: 0.8 }));
    expect(near.map((f) => [f.kind, f.severity])).toEqual([['learningRateTooHigh', 'medium']]);
    const flat = range(40, () => 0.69);
    const fell = {
      learningRates: [],
      losses: [],
      smoothedLosses: [0.7, 0.6, 0.4],
      steepest: 0.02,
      minimum: 0.1,
      divergedAt: 1,
    };
    const low = findingsOf(measured({ losses: flat, learningRate: 1e-4, lrRange: fell }));
    expect(low.map((f) => f.kind)).toEqual(['learningRateTooLow']);
    // a range test whose loss never fell: its steepest point is noise, no finding rests on it
    const sweptFlat = { ...fell, smoothedLosses: [0.7, 0.69, 0.7] };
    expect(findingsOf(measured({ losses: flat, learningRate: 1e-4, lrRange: sweptFlat }))).toEqual([]);
    expect(low[0]?.evidence.steepest).toBe(0.02);
    // Not when the rate is near the steepest one, nor when the flat loss has another cause (vanishing gradients).
    expect(findingsOf(measured({ losses: flat, learningRate: 0.01 }))).toEqual([]);
    const vanishing: HealthReport = {
      ...healthyReport,
      verdicts: [{ kind: 'vanishing', layers: ['h1'], reason: '', firstStep: 1, lastStep: 40, steps: 40 }],
      counts: { ...healthyReport.counts, vanishing: 40 },
    };
    expect(findingsOf(measured({ losses: flat, learningRate: 1e-4, report: vanishing })).map((f) => f.kind)).toEqual([
      'vanishing',
    ]);
  });

  it('calls an oscillating loss unstable, with its jitter and reversals', () => {
    const found = findingsOf(measured({ losses: range(40, (i) => (i % 2 ? 0.4 : 1)) }));
    expect(found.map((f) => f.kind)).toEqual(['unstableLoss']);
    expect(found[0]?.evidence.reversals).toBe(1);
  });

  it('describes the norm distribution with quantiles of the finite norms', () => {
    expect(quantileOf([3, 1, 2, Number.NaN, Number.POSITIVE_INFINITY], 0.5)).toBe(2);
    expect(quantileOf([], 0.5)).toBeNaN();
    const d = normDistribution(range(101, (i) => i));
    expect(d).toEqual({ median: 50, p90: 90, p99: 99, max: 100 });
  });
});
