import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { GradStabError, globalNorm } from '../../src/index.js';
import { countBlockingReads, tensorsLeftBy, useCpu } from '../helpers/tf.js';

beforeAll(useCpu);

const norm = (g: Parameters<typeof globalNorm>[0], normType?: 1 | 2 | 'inf') => {
  const n = globalNorm(g, normType === undefined ? undefined : { normType });
  const v = n.dataSync()[0] as number;
  n.dispose();
  return v;
};

describe('globalNorm', () => {
  it('is the norm of all entries together, for norm types 2, 1 and inf', () => {
    const g = { a: tf.tensor1d([3, -4]), b: tf.tensor2d([[12]]) };
    expect(norm(g)).toBeCloseTo(13, 5);
    expect(norm(g, 1)).toBeCloseTo(19, 5);
    expect(norm(g, 'inf')).toBe(12);
    expect(norm([tf.tensor1d([3]), tf.tensor1d([4])])).toBeCloseTo(5, 6);
  });

  it('does not overflow where sqrt(sum(g^2)) does (|g| = 1e30 is finite in float32)', () => {
    const g = { a: tf.fill([1000], 1e30), b: tf.tensor1d([-1e30]) };
    expect(norm(g) / (1e30 * Math.sqrt(1001))).toBeCloseTo(1, 5);
    expect(norm(g, 1) / 1001e30).toBeCloseTo(1, 5);
    const naive = tf.sqrt(tf.sum(tf.square(g.a))).dataSync()[0];
    expect(naive).toBe(Number.POSITIVE_INFINITY); // the failure this guards against
  });

  it('keeps tiny norms accurate (no underflow to 0)', () => {
    expect(norm({ a: tf.tensor1d([3e-30, 4e-30]) }) / 5e-30).toBeCloseTo(1, 5);
  });

  it('gives 0 for zeros and for no gradients, Infinity for an Infinity, NaN for a NaN', () => {
    expect(norm({ a: tf.zeros([3]) })).toBe(0);
    expect(norm({})).toBe(0);
    for (const t of [2, 1, 'inf'] as const) {
      expect(norm({ a: tf.tensor1d([1, Number.POSITIVE_INFINITY]) }, t)).toBe(Number.POSITIVE_INFINITY);
      expect(norm({ a: tf.tensor1d([1, Number.NaN]), b: tf.tensor1d([5]) }, t)).toBeNaN();
      expect(norm({ a: tf.tensor1d([Number.NaN, Number.POSITIVE_INFINITY]) }, t)).toBeNaN();
    }
  });

  it('reads nothing and leaves only its result', async () => {
    const g = { a: tf.randomNormal([5, 5]), b: tf.randomNormal([5]) };
    let out: tf.Scalar | undefined;
    expect(await countBlockingReads(() => (out = globalNorm(g)))).toBe(0);
    out?.dispose();
    expect(await tensorsLeftBy(() => globalNorm(g).dispose())).toBe(0);
  });

  it('names the rule for bad input', () => {
    expect(() => globalNorm({ a: tf.tensor1d([1]) }, { normType: 3 as 2 })).toThrow(
      new GradStabError("globalNorm: normType must be 1, 2 or 'inf', got 3."),
    );
    expect(() => globalNorm({ a: tf.tensor1d([1], 'int32') })).toThrow(
      'globalNorm: gradients must be float32 tensors, got a tensor of dtype int32.',
    );
    expect(() => globalNorm(null as never)).toThrow(
      'globalNorm: grads must be a map (object or Map) or an array of tensors, got null.',
    );
  });
});
