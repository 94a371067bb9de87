import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { activations } from '../../src/activations/index.js';
import { maxViolation, useCpu, values } from '../helpers/tf.js';

beforeAll(useCpu);

describe('activations.silu', () => {
  it("is x * sigmoid(x), the same as tfjs's 'swish' activation", () => {
    const x = tf.tensor1d([-30, -2, -1, 0, 1, 2, 30]);
    const expected = [-30, -2, -1, 0, 1, 2, 30].map((v) => v / (1 + Math.exp(-v)));
    expect(maxViolation(values(activations.silu(x)), expected, 1e-7, 1e-6)).toBe(0);
    const swish = tf.layers.activation({ activation: 'swish' }).apply(x) as tf.Tensor;
    expect(maxViolation(values(activations.silu(x)), values(swish), 1e-7, 1e-6)).toBe(0);
  });

  it('has gradient s + x s (1 - s): 0.5 at 0, its minimum about -0.0998 near x = -2.4', () => {
    const x = tf.tensor1d([0, -2.3994]);
    const dx = values(tf.grad((t: tf.Tensor) => activations.silu(t))(x));
    expect(dx[0]).toBeCloseTo(0.5, 7);
    expect(dx[1]).toBeCloseTo(-0.0998, 4);
  });
});
