import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  clipByGlobalNorm,
  clipByNorm,
  type GradientTransform,
  GradStabError,
  globalNorm,
  gradientPipeline,
  transformFromConfig,
  transformToConfig,
} from '../../src/index.js';
import { countBlockingReads, maxViolation, tensorsLeftBy, useCpu, values } from '../helpers/tf.js';

beforeAll(useCpu);

function run(transform: GradientTransform, g: Record<string, number[]>): Record<string, number[]> {
  const pipeline = gradientPipeline(transform);
  const input = Object.fromEntries(Object.entries(g).map(([k, v]) => [k, tf.tensor1d(v)]));
  const out = pipeline.apply(input);
  const result = Object.fromEntries(Object.entries(out.grads).map(([k, t]) => [k, values(t)]));
  tf.dispose([input, out.grads]);
  pipeline.dispose();
  return result;
}

const l2 = (xs: number[]) => Math.sqrt(xs.reduce((s, x) => s + x * x, 0));
const gradsArb = fc.dictionary(
  fc.constantFrom('a', 'b', 'c'),
  fc.array(fc.float({ noNaN: true, noDefaultInfinity: true, min: -1e3, max: 1e3 }), { minLength: 1, maxLength: 8 }),
  { minKeys: 1 },
);

describe('clipByNorm (each tensor on its own, Keras clipnorm)', () => {
  it('rescales only the tensors above the limit', () => {
    const out = run(clipByNorm(1), { a: [3, 4], b: [0.3, 0.4] });
    expect(out.a?.[0]).toBeCloseTo(0.6, 6);
    expect(out.a?.[1]).toBeCloseTo(0.8, 6);
    expect(out.b).toEqual([0.3, 0.4].map(Math.fround));
  });

  it('leaves every tensor with norm <= limit, and clipping twice changes nothing (property)', () => {
    fc.assert(
      fc.property(gradsArb, fc.float({ min: Math.fround(0.01), max: 100, noNaN: true }), (g, limit) => {
        const once = run(clipByNorm(limit), g);
        const twice = run(clipByNorm(limit), once);
        for (const k of Object.keys(g)) {
          expect(l2(once[k] as number[])).toBeLessThanOrEqual(limit * (1 + 1e-5));
          expect(maxViolation(twice[k] as number[], once[k] as number[], 1e-4)).toBe(0);
        }
      }),
      { numRuns: 40 },
    );
  });

  it('clips 1e30-scale gradients to a finite result of the right norm', () => {
    const out = run(clipByNorm(2), { a: [1e30, -1e30, 1e30, -1e30] });
    expect(out.a).toEqual([1, -1, 1, -1]);
  });

  it('rejects a bad limit', () => {
    expect(() => clipByNorm(0)).toThrow(new GradStabError('clipByNorm: maxNorm must be a finite number > 0, got 0.'));
    expect(() => clipByNorm('1' as never)).toThrow('clipByNorm: maxNorm must be a finite number > 0, got "1".');
  });
});

describe('clipByGlobalNorm (PyTorch clip_grad_norm_)', () => {
  it('scales all tensors by one factor min(1, max / (N + 1e-6))', () => {
    const out = run(clipByGlobalNorm(1), { a: [3], b: [4] });
    expect(out.a?.[0]).toBeCloseTo(0.6, 6);
    expect(out.b?.[0]).toBeCloseTo(0.8, 6);
    const small = run(clipByGlobalNorm(10), { a: [3], b: [4] });
    expect(small).toEqual({ a: [3], b: [4] });
  });

  it('makes the global norm <= the limit and is idempotent (property)', () => {
    fc.assert(
      fc.property(gradsArb, fc.float({ min: Math.fround(0.01), max: 100, noNaN: true }), (g, limit) => {
        const once = run(clipByGlobalNorm(limit), g);
        const twice = run(clipByGlobalNorm(limit), once);
        expect(l2(Object.values(once).flat())).toBeLessThanOrEqual(limit * (1 + 1e-5));
        // PyTorch's 1e-6 guard makes a second clip scale by limit / (limit + 1e-6): a relative change <= 1e-6 / limit.
        const tolerance = 1e-6 / limit + 1e-6;
        for (const k of Object.keys(g)) {
          (twice[k] as number[]).forEach((v, i) => {
            const first = (once[k] as number[])[i] as number;
            expect(Math.abs(v - first)).toBeLessThanOrEqual(tolerance * Math.abs(first) + 1e-12);
          });
        }
      }),
      { numRuns: 40 },
    );
  });

  it('clips 1e30-scale gradients to a finite result of the right norm, for every norm type', () => {
    for (const normType of [2, 1, 'inf'] as const) {
      const out = run(clipByGlobalNorm(3, { normType }), { a: [1e30, 2e30], b: [-2e30] });
      const flat = Object.values(out).flat();
      expect(flat.every(Number.isFinite)).toBe(true);
      const n = globalNorm([tf.tensor1d(flat)], { normType });
      expect(n.dataSync()[0]).toBeCloseTo(3, 4);
      n.dispose();
    }
  });

  it('leaves zero gradients at zero and follows PyTorch on non-finite norms', () => {
    expect(run(clipByGlobalNorm(1), { a: [0, 0] })).toEqual({ a: [0, 0] });
    const inf = run(clipByGlobalNorm(1), { a: [1, Number.POSITIVE_INFINITY], b: [2] });
    expect(inf.a?.[0]).toBe(0);
    expect(inf.a?.[1]).toBeNaN();
    expect(inf.b).toEqual([0]);
    const nan = run(clipByGlobalNorm(1), { a: [1, Number.NaN] });
    expect(nan.a?.every(Number.isNaN)).toBe(true);
  });

  it('reads nothing and leaks nothing per step', async () => {
    const pipeline = gradientPipeline(clipByGlobalNorm(0.1, { normType: 'inf' }), clipByNorm(0.5));
    const g = { a: tf.randomNormal([8, 8]), b: tf.randomNormal([8]) };
    const step = () => tf.dispose(pipeline.apply(g).grads);
    step();
    expect(await countBlockingReads(step)).toBe(0);
    expect(await tensorsLeftBy(step)).toBe(0);
  });

  it('round-trips its config through JSON', () => {
    const c = JSON.parse(JSON.stringify(transformToConfig(clipByGlobalNorm(2, { normType: 'inf' }))));
    expect(c).toEqual({ kind: 'clipByGlobalNorm', config: { maxNorm: 2, normType: 'inf' } });
    expect(transformFromConfig(c).config).toEqual({ maxNorm: 2, normType: 'inf' });
  });

  it('rejects bad limits and norm types', () => {
    const cases: [() => unknown, string][] = [
      [() => clipByGlobalNorm(-1), 'clipByGlobalNorm: maxNorm must be a finite number > 0, got -1.'],
      [() => clipByGlobalNorm(Number.NaN), 'clipByGlobalNorm: maxNorm must be a finite number > 0, got NaN.'],
      [() => clipByGlobalNorm(1, { normType: 0 as 1 }), "clipByGlobalNorm: normType must be 1, 2 or 'inf', got 0."],
      [
        () => clipByGlobalNorm(1, { norm: 2 } as never),
        'clipByGlobalNorm: unknown option "norm" (known: normType), got {"norm":2}.',
      ],
    ];
    for (const [make, message] of cases) expect(make).toThrow(new GradStabError(message));
  });
});

describe('clipByGlobalNorm with normType 1 and inf', () => {
  const norms = {
    1: (xs: number[]) => xs.reduce((s, x) => s + Math.abs(x), 0),
    inf: (xs: number[]) => Math.max(...xs.map(Math.abs)),
  };
  it.each([1, 'inf'] as const)('leaves the %s-norm <= the limit (property)', (normType) => {
    fc.assert(
      fc.property(gradsArb, fc.float({ min: Math.fround(0.01), max: 100, noNaN: true }), (g, limit) => {
        const once = run(clipByGlobalNorm(limit, { normType }), g);
        expect(norms[normType](Object.values(once).flat())).toBeLessThanOrEqual(limit * (1 + 1e-5));
      }),
      { numRuns: 30 },
    );
  });
});

describe('clipByNorm and clipByGlobalNorm: float32 limits and null options (issue 13)', () => {
  it.each([
    [
      () => clipByNorm(1e-46),
      'clipByNorm: maxNorm must be > 0 in float32 (at least 1.401298464324817e-45), got 1e-46.',
    ],
    [
      () => clipByGlobalNorm(1e39),
      'clipByGlobalNorm: maxNorm must be finite in float32 (at most 3.4028234663852886e+38), got 1e+39.',
    ],
    [
      () => clipByGlobalNorm(1, { normType: null as never }),
      'clipByGlobalNorm: normType must not be null (leave the key out or pass undefined instead), got null.',
    ],
    [
      () => clipByGlobalNorm(1, [] as never),
      'clipByGlobalNorm: options must be a plain object, got an array of length 0.',
    ],
  ])('%#', (make, message) => {
    expect(make).toThrow(new GradStabError(message));
  });
});
