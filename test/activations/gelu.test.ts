import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { activations } from '../../src/activations/index.js';
import { GradStabError } from '../../src/errors.js';
import { maxViolation, useCpu, values } from '../helpers/tf.js';

beforeAll(useCpu);

const exact = (x: tf.Tensor) => activations.gelu(x);
const tanhForm = (x: tf.Tensor) => activations.gelu(x, { approximate: true });

/** The tanh form without gradstab's clamp: PyTorch's formula as written. */
function unclampedTanhForm(x: tf.Tensor): tf.Tensor {
  const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI));
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
}

describe('activations.gelu', () => {
  it('is exact by default, {approximate: false} too; {approximate: true} is the tanh form', () => {
    const x = tf.tensor1d([-1, 1]);
    expect(values(exact(x))).toEqual(values(activations.gelu(x, { approximate: false })));
    expect(maxViolation(values(exact(x)), [-0.15865525, 0.84134475], 1e-7)).toBe(0);
    expect(maxViolation(values(tanhForm(x)), [-0.158808, 0.841192], 1e-6)).toBe(0);
  });

  it("equals tfjs's 'gelu' and 'gelu_new' activation strings", () => {
    const x = tf.randomNormal([50], 0, 3, 'float32', 4);
    const viaLayer = (name: 'gelu' | 'gelu_new') => tf.layers.activation({ activation: name }).apply(x) as tf.Tensor;
    expect(maxViolation(values(exact(x)), values(viaLayer('gelu')), 1e-7, 1e-6)).toBe(0);
    expect(maxViolation(values(tanhForm(x)), values(viaLayer('gelu_new')), 1e-7, 1e-6)).toBe(0);
  });

  it('the clamp inside tanh changes no value and no gradient where the formula is finite (|x| <= 1e6)', () => {
    const x = tf.tensor1d([-1e6, -50, -12, -10.5, -10, -9.5, -6, 6, 9.5, 10, 10.5, 12, 50, 1e6]);
    expect(values(tanhForm(x))).toEqual(values(unclampedTanhForm(x)));
    expect(values(tf.grad(tanhForm)(x))).toEqual(values(tf.grad(unclampedTanhForm)(x)));
  });

  it("keeps the tanh form's gradient finite beyond |x| = 1.8e19, where PyTorch's formula gives NaN", () => {
    const x = tf.tensor1d([-1e20, 1e20]);
    expect(values(tf.grad(unclampedTanhForm)(x)).some(Number.isNaN)).toBe(true);
    expect(values(tf.grad(tanhForm)(x))).toEqual([0, 1]);
  });

  it('has gradient Phi(x) + x phi(x): 0.5 at 0, 0 at its minimum value (x = -0.7518), -0.1289 at x = -sqrt(2)', () => {
    const dx = values(tf.grad(exact)(tf.tensor1d([0, -0.751791, -Math.SQRT2])));
    expect(dx[0]).toBeCloseTo(0.5, 7);
    expect(dx[1]).toBeCloseTo(0, 5);
    const phi = Math.exp(-1) / Math.sqrt(2 * Math.PI);
    expect(dx[2]).toBeCloseTo(0.0786496 - Math.SQRT2 * phi, 6);
  });

  it.each([
    [{ approximate: 'tanh' }, 'activations.gelu: approximate must be true or false, got "tanh".'],
    [{ approximate: 1 }, 'activations.gelu: approximate must be true or false, got 1.'],
    [{ alpha: 1 }, 'activations.gelu: unknown option "alpha" (known: approximate), got {"alpha":1}.'],
    [true, 'activations.gelu: options must be a plain object, got true.'],
  ])('rejects %o with a GradStabError', (bad, message) => {
    const call = () => activations.gelu(tf.tensor1d([1]), bad as object);
    expect(call).toThrow(GradStabError);
    expect(call).toThrow(message);
  });
});
