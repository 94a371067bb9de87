import { describe, expect, it } from 'vitest';
import { lossTrend } from '../../src/diagnose/loss-trend.js';

const range = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i));

describe('lossTrend', () => {
  it('calls a decaying loss falling, with the medians of the first and last quarters', () => {
    const t = lossTrend(range(40, (i) => Math.exp(-i / 10)));
    expect(t.kind).toBe('falling');
    const start = (Math.exp(-0.4) + Math.exp(-0.5)) / 2; // median of steps 0..9
    const end = (Math.exp(-3.4) + Math.exp(-3.5)) / 2; // median of steps 30..39
    expect(t.start).toBeCloseTo(start, 12);
    expect(t.end).toBeCloseTo(end, 12);
    expect(t.ratio).toBeCloseTo(end / start, 12);
    expect(t.firstNonFinite).toBeNull();
  });

  it('calls a loss that stays within 10% flat, even with small noise', () => {
    expect(lossTrend(range(40, () => Math.LN2)).kind).toBe('flat');
    expect(lossTrend(range(40, (i) => Math.LN2 + 0.01 * Math.sin(i))).kind).toBe('flat');
    expect(lossTrend(range(40, (i) => 0.7 - 0.001 * i)).kind).toBe('flat'); // 0.7 -> 0.66: 5% down
  });

  it('calls a loss that ends 1.5x above its start, or turns NaN or Infinity, diverging, and says where', () => {
    expect(lossTrend(range(40, (i) => 1 + i / 10)).kind).toBe('diverging');
    const nan = lossTrend([...range(12, () => 1), Number.NaN, 1, 1]);
    expect(nan.kind).toBe('diverging');
    expect(nan.firstNonFinite).toBe(13);
    expect(nan.ratio).toBe(Number.POSITIVE_INFINITY);
    expect(lossTrend([Number.POSITIVE_INFINITY]).firstNonFinite).toBe(1);
  });

  it('calls a loss that jumps up and down by a large share of its level oscillating, not falling', () => {
    const zigzag = range(40, (i) => (i % 2 === 0 ? 1 : 0.4) * (1 - i / 200));
    const t = lossTrend(zigzag);
    expect(t.kind).toBe('oscillating');
    expect(t.reversals).toBe(1);
    expect(t.jitter).toBeGreaterThan(0.25);
    // The same amplitude moving one way is not an oscillation.
    expect(lossTrend(range(40, (i) => 1 / (1 + i))).kind).toBe('falling');
  });

  it('takes short or odd series without failing', () => {
    expect(lossTrend([]).kind).toBe('flat');
    expect(lossTrend([1, 0.5]).kind).toBe('flat');
    expect(lossTrend(range(8, () => 0)).kind).toBe('flat');
    expect(lossTrend(range(8, (i) => (i < 4 ? 0 : 1))).kind).toBe('diverging');
  });
});
