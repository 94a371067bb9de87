import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { activations } from '../../src/activations/index.js';
import { GradStabError } from '../../src/errors.js';
import { tensorsLeftBy, useCpu, values } from '../helpers/tf.js';

beforeAll(useCpu);

type Activation = (x: tf.Tensor) => tf.Tensor;

/** Every function with every parameter the tests use, including extreme ones. */
const VARIANTS: [string, Activation][] = [
  ['relu', (x) => activations.relu(x)],
  ...[0.01, 0.2, 0.3, 0, 1, 5, -0.5].map(
    (alpha) =>
      [`leakyRelu alpha ${alpha}`, (x: tf.Tensor) => activations.leakyRelu(x, { alpha })] as [string, Activation],
  ),
  ...[1, 0.5, 2, 1e-3, 100].map(
    (alpha) => [`elu alpha ${alpha}`, (x: tf.Tensor) => activations.elu(x, { alpha })] as [string, Activation],
  ),
  ['selu', (x) => activations.selu(x)],
  ['gelu exact', (x) => activations.gelu(x)],
  ['gelu tanh', (x) => activations.gelu(x, { approximate: true })],
  ['silu', (x) => activations.silu(x)],
];

/** Large inputs, where a naive exp, x^3 or x^2 overflows float32 (max 3.4e38). */
const LARGE = [-3e38, -1e30, -2e19, -1e4, -1000, -100, -88, 88, 100, 1000, 1e4, 2e19, 1e30, 3e38];

describe('activations (the namespace)', () => {
  it('holds exactly the six functions of the API contract', () => {
    expect(Object.keys(activations).sort()).toEqual(['elu', 'gelu', 'leakyRelu', 'relu', 'selu', 'silu']);
    expect(Object.isFrozen(activations)).toBe(false); // `as const` is a type-level promise only
  });

  it.each(VARIANTS)('%s: finite gradients for |x| up to 1e4 and beyond, up to float32 max', (_, f) => {
    const x = tf.tensor1d(LARGE);
    expect(values(tf.grad(f)(x)).every(Number.isFinite)).toBe(true);
    // Values too, up to where the exact value itself exceeds float32 (leakyRelu with alpha 5 at -3e38).
    const moderate = tf.tensor1d(LARGE.filter((v) => Math.abs(v) <= 1e30));
    expect(values(f(moderate)).every(Number.isFinite)).toBe(true);
  });

  it.each(VARIANTS)('%s: keeps shape and rank, works inside tf.variableGrads', (_, f) => {
    const x = tf.randomNormal([2, 3, 4], 0, 3, 'float32', 1);
    const y = f(x);
    expect(y.shape).toEqual([2, 3, 4]);
    expect(y.dtype).toBe('float32');
    const w = tf.variable(tf.ones([4]));
    const { grads, value } = tf.variableGrads(() => tf.sum(f(tf.mul(x, w))) as tf.Scalar, [w]);
    expect(values(grads[w.name] as tf.Tensor).every(Number.isFinite)).toBe(true);
    tf.dispose([x, y, w, value, grads]);
  });

  it.each(VARIANTS)('%s: leaves no tensors behind, forward or backward', async (_, f) => {
    const x = tf.randomNormal([64], 0, 10, 'float32', 2);
    const step = () => {
      tf.dispose(f(x));
      tf.dispose(tf.grad(f)(x));
    };
    step();
    expect(await tensorsLeftBy(step)).toBe(0);
    x.dispose();
  });

  it.each([
    ['relu', (x: unknown) => activations.relu(x as tf.Tensor)],
    ['leakyRelu', (x: unknown) => activations.leakyRelu(x as tf.Tensor)],
    ['elu', (x: unknown) => activations.elu(x as tf.Tensor)],
    ['selu', (x: unknown) => activations.selu(x as tf.Tensor)],
    ['gelu', (x: unknown) => activations.gelu(x as tf.Tensor)],
    ['silu', (x: unknown) => activations.silu(x as tf.Tensor)],
  ])('%s refuses what is not a float32 tensor', (name, f) => {
    expect(() => f([1, 2])).toThrow(GradStabError);
    expect(() => f([1, 2])).toThrow(`activations.${name}: x must be a tf.Tensor, got an array of length 2.`);
    expect(() => f(tf.tensor1d([1, 2], 'int32'))).toThrow(
      `activations.${name}: x must be a float32 tensor, got a tensor of shape [2] and dtype int32.`,
    );
    expect(() => f(undefined)).toThrow(`activations.${name}: x must be a tf.Tensor, got undefined.`);
  });
});
