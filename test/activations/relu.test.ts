import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { activations } from '../../src/activations/index.js';
import { useCpu, values } from '../helpers/tf.js';

beforeAll(useCpu);

describe('activations.relu', () => {
  it('is max(x, 0) with gradient 1 for x > 0 and 0 for x <= 0 (0 at the kink, as PyTorch)', () => {
    const x = tf.tensor1d([-3, -0, 0, 1e-30, 2]);
    expect(values(activations.relu(x))).toEqual([0, 0, 0, Math.fround(1e-30), 2]);
    expect(values(tf.grad((t: tf.Tensor) => activations.relu(t))(x))).toEqual([0, 0, 0, 1, 1]);
  });

  it('keeps the rank in its type', () => {
    const y: tf.Tensor2D = activations.relu(tf.tensor2d([[-1, 1]]));
    expect(y.shape).toEqual([1, 2]);
  });
});
