import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { activations } from '../../src/activations/index.js';
import { GradStabError } from '../../src/errors.js';
import { useCpu, values } from '../helpers/tf.js';

beforeAll(useCpu);

const X = [-10, -1, 0, 2];
const run = (options?: object) => values(activations.leakyRelu(tf.tensor1d(X), options));
const grad = (options?: object) => values(tf.grad((t: tf.Tensor) => activations.leakyRelu(t, options))(tf.tensor1d(X)));

describe('activations.leakyRelu', () => {
  it("defaults to PyTorch's slope 0.01, with gradient alpha at 0", () => {
    expect(run()).toEqual([-0.1, -0.01, 0, 2].map(Math.fround));
    expect(grad()).toEqual([0.01, 0.01, 0.01, 1].map(Math.fround));
  });

  it("gives tfjs's op default (0.2) and Keras's layer default (0.3) when asked", () => {
    const x = tf.tensor1d(X);
    expect(run({ alpha: 0.2 })).toEqual(values(tf.leakyRelu(x)));
    expect(run({ alpha: 0.3 })).toEqual(values(tf.layers.leakyReLU().apply(x) as tf.Tensor));
  });

  it('takes any finite slope, as PyTorch: 0 is ReLU, 1 the identity, negative and > 1 slopes work', () => {
    expect(run({ alpha: 0 })).toEqual([-0, -0, 0, 2]);
    expect(run({ alpha: 1 })).toEqual(X);
    expect(run({ alpha: -0.5 })).toEqual([5, 0.5, 0, 2]);
    expect(run({ alpha: 3 })).toEqual([-30, -3, 0, 2]);
    expect(grad({ alpha: 3 })).toEqual([3, 3, 3, 1]);
  });

  it('treats {alpha: undefined} as the default', () => {
    expect(run({ alpha: undefined })).toEqual(run());
  });

  it.each([
    [{ alpha: Number.NaN }, 'activations.leakyRelu: alpha must be a finite number, got NaN.'],
    [{ alpha: Number.POSITIVE_INFINITY }, 'activations.leakyRelu: alpha must be a finite number, got Infinity.'],
    [{ alpha: '0.2' }, 'activations.leakyRelu: alpha must be a finite number, got "0.2".'],
    [
      { alpha: null },
      'activations.leakyRelu: alpha must not be null (leave the key out or pass undefined instead), got null.',
    ],
    [
      { negativeSlope: 0.2 },
      'activations.leakyRelu: unknown option "negativeSlope" (known: alpha), got {"negativeSlope":0.2}.',
    ],
    [0.2, 'activations.leakyRelu: options must be a plain object, got 0.2.'],
  ])('rejects %o with a GradStabError', (bad, message) => {
    const call = () => activations.leakyRelu(tf.tensor1d(X), bad as object);
    expect(call).toThrow(GradStabError);
    expect(call).toThrow(message);
  });
});
