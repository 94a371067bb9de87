import { describe, expect, it } from 'vitest';
import { buildReport, formatSummary } from '../../src/monitor/report.js';
import type { StepRecord } from '../../src/monitor/types.js';

const counts = { vanishing: 0, exploding: 0, nonFinite: 0, spike: 0 };
const step = (n: number, norms: readonly number[]): StepRecord => ({
  step: n,
  globalNorm: Math.hypot(...norms),
  layers: norms.map((norm, i) => ({ layer: `l${String(i + 1).padStart(2, '0')}`, norm, maxAbs: norm, nonFinite: 0 })),
});

describe('buildReport: the depth profile against the output end', () => {
  it('divides by the geometric mean of the last quarter of the typical norms, as the verdicts do', () => {
    // 8 layers, two steps: typical norms 1, 2, 4, ..., 128 (geometric means of x/2 and 2x). Output end: l07, l08,
    // typical 64 and 128, geometric mean 64 * sqrt(2).
    const norms = (f: number) => Array.from({ length: 8 }, (_, i) => f * 2 ** i);
    const report = buildReport(2, [step(1, norms(0.5)), step(2, norms(2))], [], counts);
    const scale = 64 * Math.SQRT2;
    report.layers.forEach((l, i) => {
      expect(l.typicalNorm).toBeCloseTo(2 ** i, 10);
      expect(l.depthRatio).toBeCloseTo(2 ** i / scale, 10);
    });
    expect(formatSummary(report)).toContain('vs output end');
  });

  it('a near-0 output layer does not make the layers before it read 1e4 (the ReLU + Xavier profile)', () => {
    const hidden = Array.from({ length: 30 }, (_, i) => 1e-6 * 2.4e4 ** (i / 29));
    const report = buildReport(1, [step(1, [...hidden, 7e-7])], [], counts);
    expect(report.layers[29]?.depthRatio).toBeLessThan(10); // against the last layer alone: 3.4e4
    expect(report.layers[0]?.depthRatio).toBeLessThan(1e-3);
  });

  it('NaN when there is no positive finite norm at the output end', () => {
    const report = buildReport(1, [step(1, [1, 0])], [], counts);
    expect(report.layers.map((l) => l.depthRatio)).toEqual([Number.NaN, Number.NaN]);
  });
});
