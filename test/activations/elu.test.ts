import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { activations } from '../../src/activations/index.js';
import { GradStabError } from '../../src/errors.js';
import { maxViolation, useCpu, values } from '../helpers/tf.js';

beforeAll(useCpu);

const elu = (alpha?: number) => (x: tf.Tensor) => activations.elu(x, alpha === undefined ? undefined : { alpha });

describe('activations.elu', () => {
  it("defaults to alpha 1 and then equals tfjs's tf.elu, values and gradients", () => {
    const x = tf.tensor1d([-50, -3, -1, -1e-3, 0, 1e-3, 2, 80]);
    expect(maxViolation(values(elu()(x)), values(tf.elu(x)), 1e-7, 1e-6)).toBe(0);
    // tf.elu's gradient is y + 1, which rounds to 0 at x = -50; exp(-50) = 2e-22 here, as in PyTorch.
    expect(maxViolation(values(tf.grad(elu())(x)), values(tf.grad((t: tf.Tensor) => tf.elu(t))(x)), 1e-7, 1e-6)).toBe(
      0,
    );
  });

  it('saturates at -alpha and has gradient alpha * exp(x) for x <= 0, 1 for x > 0, for any alpha', () => {
    for (const alpha of [0.1, 0.5, 2, 10]) {
      const x = tf.tensor1d([-1e4, -2, 0, 0.5, 100]);
      const y = values(elu(alpha)(x));
      expect(y[0]).toBeCloseTo(-alpha, 6);
      expect(y[1]).toBeCloseTo(alpha * Math.expm1(-2), 6);
      const expectedGrad = [0, alpha * Math.exp(-2), alpha, 1, 1];
      expect(maxViolation(values(tf.grad(elu(alpha))(x)), expectedGrad, 1e-7, 1e-6)).toBe(0);
    }
  });

  it('is accurate near 0, where exp(x) - 1 in float32 loses digits (expm1)', () => {
    const y = values(elu()(tf.tensor1d([-1e-6, -1e-3])));
    expect(maxViolation(y, [Math.expm1(-1e-6), Math.expm1(-1e-3)], 0, 1e-6)).toBe(0);
  });

  it('has a finite gradient at x = 100 where a masked exp(x) gives NaN (why it is built on expm1(min(x, 0)))', () => {
    const x = tf.tensor1d([-2, 100]);
    const positive = tf.greater(x, 0); // outside the gradient: tf.greater has none
    const masked = (t: tf.Tensor) => tf.where(positive, t, tf.sub(tf.exp(t), 1));
    expect(values(tf.grad(masked)(x))[1]).toBeNaN();
    expect(values(tf.grad(elu(0.5))(x))).toEqual([Math.fround(0.5 * Math.exp(-2)), 1]);
  });

  it.each([
    [{ alpha: 0 }, 'activations.elu: alpha must be a finite number > 0, got 0.'],
    [{ alpha: -1 }, 'activations.elu: alpha must be a finite number > 0, got -1.'],
    [{ alpha: Number.NaN }, 'activations.elu: alpha must be a finite number > 0, got NaN.'],
    [{ alpha: Number.POSITIVE_INFINITY }, 'activations.elu: alpha must be a finite number > 0, got Infinity.'],
    [{ alpha: true }, 'activations.elu: alpha must be a finite number > 0, got true.'],
    [{ alpha: 1, scale: 2 }, 'activations.elu: unknown option "scale" (known: alpha), got {"alpha":1,"scale":2}.'],
    [[1], 'activations.elu: options must be a plain object, got an array of length 1.'],
  ])('rejects %o with a GradStabError', (bad, message) => {
    const call = () => activations.elu(tf.tensor1d([1]), bad as object);
    expect(call).toThrow(GradStabError);
    expect(call).toThrow(message);
  });
});
