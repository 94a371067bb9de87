import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  clipByValue,
  GradStabError,
  gradientPipeline,
  transformFromConfig,
  transformToConfig,
} from '../../src/index.js';
import { countBlockingReads, tensorsLeftBy, useCpu, values } from '../helpers/tf.js';

beforeAll(useCpu);

function run(transform: ReturnType<typeof clipByValue>, g: Record<string, tf.Tensor>) {
  const pipeline = gradientPipeline(transform);
  const out = pipeline.apply(g);
  const result = Object.fromEntries(Object.entries(out.grads).map(([k, t]) => [k, values(t)]));
  tf.dispose(out.grads);
  pipeline.dispose();
  return result;
}

describe('clipByValue', () => {
  it('clamps into [-limit, limit] like torch.nn.utils.clip_grad_value_', () => {
    const out = run(clipByValue(0.5), { w: tf.tensor1d([-2, -0.5, 0.1, 0.5, 3]) });
    expect(out.w).toEqual([-0.5, -0.5, 0.1, 0.5, 0.5].map(Math.fround));
  });

  it('takes asymmetric and one-sided bounds', () => {
    expect(run(clipByValue({ min: -1, max: 2 }), { w: tf.tensor1d([-5, 0, 5]) }).w).toEqual([-1, 0, 2]);
    expect(run(clipByValue({ min: Number.NEGATIVE_INFINITY, max: 1 }), { w: tf.tensor1d([-1e30, 5]) }).w).toEqual([
      Math.fround(-1e30),
      1,
    ]);
  });

  it('lets NaN through, as PyTorch does', () => {
    const out = run(clipByValue(1), { w: tf.tensor1d([Number.NaN, 5, Number.NEGATIVE_INFINITY]) });
    expect(out.w?.[0]).toBeNaN();
    expect(out.w?.slice(1)).toEqual([1, -1]);
  });

  it('is idempotent and bounded (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.float({ noNaN: true, min: -1e6, max: 1e6 }), { minLength: 1, maxLength: 20 }),
        fc.float({ min: Math.fround(1e-3), max: 100, noNaN: true }),
        (xs, limit) => {
          const once = run(clipByValue(limit), { g: tf.tensor1d(xs) }).g as number[];
          const twice = run(clipByValue(limit), { g: tf.tensor1d(once) }).g;
          expect(twice).toEqual(once);
          for (const v of once) expect(Math.abs(v)).toBeLessThanOrEqual(Math.fround(limit));
        },
      ),
      { numRuns: 50 },
    );
  });

  it('reads nothing and leaks nothing', async () => {
    const pipeline = gradientPipeline(clipByValue(1));
    const g = { w: tf.randomNormal([10, 10]) };
    const step = () => tf.dispose(pipeline.apply(g).grads);
    step();
    expect(await countBlockingReads(step)).toBe(0);
    expect(await tensorsLeftBy(step)).toBe(0);
  });

  it('round-trips its config, infinite bounds included', () => {
    const saved = JSON.stringify(transformToConfig(clipByValue({ min: Number.NEGATIVE_INFINITY, max: 2 })));
    expect(saved).toBe('{"kind":"clipByValue","config":{"min":{"$nonFinite":"-inf"},"max":2}}');
    const t = transformFromConfig(JSON.parse(saved));
    expect(t.config).toEqual({ min: Number.NEGATIVE_INFINITY, max: 2 });
    expect(run(t, { w: tf.tensor1d([-1e9, 9]) }).w).toEqual([-1e9, 2]);
  });

  it.each([
    [0, 'clipByValue: limit must be a finite number > 0, got 0.'],
    [-1, 'clipByValue: limit must be a finite number > 0, got -1.'],
    [Number.NaN, 'clipByValue: limit must be a finite number > 0, got NaN.'],
    [Number.POSITIVE_INFINITY, 'clipByValue: limit must be a finite number > 0, got Infinity.'],
    ['1', 'clipByValue: limit must be a finite number > 0 or an object {min, max}, got "1".'],
    [{ min: 2, max: 1 }, 'clipByValue: min must be < max (in float32), got {"min":2,"max":1}.'],
    [{ min: 0, max: Number.NaN }, 'clipByValue: max must be a number, got NaN.'],
    // Issue 13: limits that are 0 or Infinity in float32 (1e-46 zeroed every gradient), unknown keys, null.
    [1e-46, 'clipByValue: limit must be > 0 in float32 (at least 1.401298464324817e-45), got 1e-46.'],
    [1e39, 'clipByValue: limit must be finite in float32 (at most 3.4028234663852886e+38), got 1e+39.'],
    [{ min: 1, max: 1 + 1e-10 }, 'clipByValue: min must be < max (in float32), got {"min":1,"max":1.0000000001}.'],
    [
      { min: -1e39, max: 1 },
      'clipByValue: min must be finite in float32 (|min| <= 3.4028234663852886e+38) or infinite, got -1e+39.',
    ],
    [
      { min: -1, max: 1, typo: 2 },
      'clipByValue: unknown option "typo" (known: min, max), got {"min":-1,"max":1,"typo":2}.',
    ],
    [
      { min: null, max: 1 },
      'clipByValue: min must not be null (leave the key out or pass undefined instead), got null.',
    ],
    [null, 'clipByValue: limit must be a finite number > 0 or an object {min, max}, got null.'],
  ])('rejects %o at construction', (bad, message) => {
    expect(() => clipByValue(bad as number)).toThrow(GradStabError);
    expect(() => clipByValue(bad as number)).toThrow(message);
  });
});
