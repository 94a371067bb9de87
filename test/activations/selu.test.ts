import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { activations } from '../../src/activations/index.js';
import { maxViolation, useCpu, values } from '../helpers/tf.js';

beforeAll(useCpu);

const SCALE = 1.0507009873554805;
const ALPHA = 1.6732632423543772;

describe('activations.selu', () => {
  it('is scale * elu(x, {alpha: 1.6732632423543772}) with scale 1.0507009873554805', () => {
    const x = tf.tensor1d([-20, -1, 0, 0.5, 3]);
    const expected = [-20, -1, 0, 0.5, 3].map((v) => SCALE * (v > 0 ? v : ALPHA * Math.expm1(v)));
    expect(maxViolation(values(activations.selu(x)), expected, 1e-7, 1e-6)).toBe(0);
  });

  it("equals tfjs's tf.selu in value and gradient, with scale * alpha = 1.7581 at 0 (as PyTorch)", () => {
    const x = tf.tensor1d([-5, -1, 0, 1, 50]);
    const f = (t: tf.Tensor) => activations.selu(t);
    expect(maxViolation(values(f(x)), values(tf.selu(x)), 1e-7, 1e-6)).toBe(0);
    const dx = values(tf.grad(f)(x));
    expect(maxViolation(dx, values(tf.grad((t: tf.Tensor) => tf.selu(t))(x)), 1e-7, 1e-6)).toBe(0);
    expect(dx[2]).toBeCloseTo(SCALE * ALPHA, 6);
  });

  it('self-normalizes: a standard normal input keeps mean 0 and variance 1 (1e5 samples)', () => {
    const y = activations.selu(tf.randomNormal([100_000], 0, 1, 'float32', 3));
    const { mean, variance } = tf.moments(y);
    expect(Math.abs(values(mean)[0] as number)).toBeLessThan(0.01);
    expect(Math.abs((values(variance)[0] as number) - 1)).toBeLessThan(0.02);
  });
});
