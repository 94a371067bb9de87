import { describe, expect, it } from 'vitest';
import { DEFAULT_THRESHOLDS } from '../../src/index.js';
import { detect, INITIAL_DETECTOR_STATE, outputEndSize } from '../../src/monitor/detectors.js';
import type { StepRecord } from '../../src/monitor/types.js';

/** A step whose layers l01, l02, ... have these gradient norms (input side first). */
function step(norms: readonly number[], stepNumber = 1): StepRecord {
  const layers = norms.map((norm, i) => ({
    layer: `l${String(i + 1).padStart(2, '0')}`,
    norm,
    maxAbs: norm,
    nonFinite: 0,
  }));
  return { step: stepNumber, globalNorm: Math.hypot(...norms), layers };
}
const kinds = (record: StepRecord) => detect(record, INITIAL_DETECTOR_STATE, DEFAULT_THRESHOLDS).events;

describe('detect: depth ratios against the output end', () => {
  it('the output end is the last quarter of the layers, at least one', () => {
    expect([1, 2, 4, 5, 8, 17, 31].map(outputEndSize)).toEqual([1, 1, 1, 2, 2, 5, 8]);
  });

  it('a geometric decay towards the input is vanishing, naming the small layers', () => {
    // 12 layers, each 1/4 of the next: l01 is 4^-11 = 2.4e-7 of the last.
    const norms = Array.from({ length: 12 }, (_, i) => 4 ** (i - 11));
    const events = kinds(step(norms));
    expect(events.map((e) => e.kind)).toEqual(['vanishing']);
    // Output end: l10-l12, geometric mean 4^-1 = 0.25; below 2.5e-4 are l01..l06 (4^-6 = 2.4e-4).
    expect(events[0]?.layers).toEqual(['l01', 'l02', 'l03', 'l04', 'l05', 'l06']);
    expect(events[0]?.figures.referenceNorm).toBeCloseTo(0.25, 12);
    expect(events[0]?.reason).toContain("the output end's (2.50e-1, l10 to l12)");
  });

  it('a geometric growth towards the input is exploding', () => {
    const norms = Array.from({ length: 12 }, (_, i) => 4 ** (11 - i));
    const events = kinds(step(norms));
    expect(events.map((e) => e.kind)).toEqual(['exploding']);
    expect(events[0]?.layers[0]).toBe('l01');
  });

  it('one tiny output layer does not make the rest look exploding (the ReLU + Xavier case)', () => {
    // Measured at step 1 of a 30-layer ReLU MLP with Xavier init on balanced labels (examples/demo.ts): hidden
    // norms rise from 1e-6 at the input to 2.4e-2, and the output layer's is 7e-7 (a constant prediction cancels
    // its bias gradient). Judged against the last layer alone, h17-h30 were 'exploding'.
    const hidden = Array.from({ length: 30 }, (_, i) => 1e-6 * 2.4e4 ** (i / 29));
    const events = kinds(step([...hidden, 7e-7]));
    expect(events.map((e) => e.kind)).toEqual(['vanishing']);
    expect(events[0]?.layers[0]).toBe('l01');
    // The output layer itself is 1e-4 of its neighbours': it is named too, which is what its gradient does.
    expect(events[0]?.layers).toEqual(['l01', 'l02', 'l03', 'l31']);
  });

  it('a healthy profile (within 10x everywhere) raises nothing', () => {
    expect(kinds(step([0.3, 1, 0.5, 2, 0.8, 0.4, 1.2, 0.9]))).toEqual([]);
  });

  it('a zero norm at the output end leaves the ratios out; the floor and the global norm still apply', () => {
    const events = kinds(step([1e-9, 1, 0]));
    expect(events.map((e) => e.kind)).toEqual(['vanishing']);
    expect(events[0]?.layers).toEqual(['l01', 'l03']);
    expect(events[0]?.reason).toBe('gradient norms of l01, l03 are below 1e-7');
    expect(kinds(step([2e4, 1, 0])).map((e) => e.kind)).toEqual(['vanishing', 'exploding']);
    expect(kinds(step([2e4, 1, 0]))[1]?.reason).toBe('global gradient norm 2.00e+4 is above 10000');
  });

  it('a dead or overflowed layer at the output end is left out of the scale, not made the scale', () => {
    // 8 layers: the output end is l07-l08. l07 is dead (0): the scale is l08's 1, and l01 at 1e5 is exploding.
    const dead = kinds(step([1e5, 1, 1, 1, 1, 1, 0, 1]));
    expect(dead.map((e) => [e.kind, e.layers])).toEqual([
      ['vanishing', ['l07']],
      ['exploding', ['l01']],
    ]);
    expect(dead[1]?.figures.referenceNorm).toBe(1);
    // l08 overflowed to Infinity (entries above ~1.8e19): the finite layers are not all 'vanishing' against it.
    const overflow = kinds(step([1, 1, 1, 1, 1, 1, 1, Number.POSITIVE_INFINITY]));
    expect(overflow.map((e) => [e.kind, e.layers])).toEqual([['exploding', ['l08']]]);
  });

  it('one layer: no depth ratio, but the floor and the global norm apply', () => {
    expect(kinds(step([1e-8])).map((e) => e.kind)).toEqual(['vanishing']);
    expect(kinds(step([1e-3])).map((e) => e.kind)).toEqual([]);
    expect(kinds(step([2e4])).map((e) => e.kind)).toEqual(['exploding']);
  });
});
