import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { calculateGain, GradStabError, initializerFor } from '../../src/index.js';

describe('initializerFor', () => {
  it.each([
    ['relu', { gain: Math.SQRT2, mode: 'fanIn', distribution: 'normal' }],
    ['gelu', { gain: Math.SQRT2, mode: 'fanIn', distribution: 'normal' }],
    ['swish', { gain: Math.SQRT2, mode: 'fanIn', distribution: 'normal' }],
    ['leaky_relu', { gain: calculateGain('leakyRelu'), mode: 'fanIn', distribution: 'normal' }],
    ['tanh', { gain: 5 / 3, mode: 'fanAvg', distribution: 'uniform' }],
    ['sigmoid', { gain: 1, mode: 'fanAvg', distribution: 'uniform' }],
    ['selu', { gain: 1, mode: 'fanIn', distribution: 'normal' }],
    ['linear', { gain: 1, mode: 'fanIn', distribution: 'normal' }],
  ])('%s', (activation, expected) => {
    expect(initializerFor(activation).getConfig()).toEqual({ ...expected, layout: 'tfjs' });
  });

  it('takes the leaky slope and a seed', () => {
    const init = initializerFor('LeakyReLU', { negativeSlope: 0.2, seed: 1 });
    expect(init.getConfig()).toEqual({
      gain: calculateGain('leakyRelu', 0.2),
      mode: 'fanIn',
      distribution: 'normal',
      layout: 'tfjs',
      seed: 1,
    });
  });

  it('keeps the activation scale through a 20-layer ReLU stack (what the table promises)', () => {
    const std = tf.tidy(() => {
      let h: tf.Tensor = tf.randomNormal([512, 128], 0, 1, 'float32', 1);
      for (let i = 0; i < 20; i++) h = tf.relu(tf.matMul(h, initializerFor('relu', { seed: i }).apply([128, 128])));
      return tf.moments(h).variance.sqrt().dataSync()[0] as number;
    });
    // He init keeps E[x^2] constant; the post-ReLU std stays O(1) instead of shrinking by 2^-10 or growing.
    expect(std).toBeGreaterThan(0.3);
    expect(std).toBeLessThan(3);
  });

  it('names the rule for bad input', () => {
    expect(() => initializerFor('softmax2')).toThrow(GradStabError);
    expect(() => initializerFor('softmax2')).toThrow('initializerFor: activation must be one of relu,');
    expect(() => initializerFor('relu', { negativeSlope: 0.1 })).toThrow(
      'initializerFor: negativeSlope is only for leakyRelu, got "relu".',
    );
    expect(() => initializerFor(5 as never)).toThrow('initializerFor: activation must be a string, got 5.');
  });
});

describe('initializerFor names itself in errors, not the initializer it builds (issue 13)', () => {
  it.each([
    [() => initializerFor('relu', { seed: 'x' as never }), 'initializerFor: seed must be a finite number, got "x".'],
    [
      () => initializerFor('leakyRelu', { negativeSlope: Number.NaN }),
      'initializerFor: negativeSlope must be a finite number, got NaN.',
    ],
    [
      () => initializerFor('tanh', { seed: null } as never),
      'initializerFor: seed must not be null (leave the key out or pass undefined instead), got null.',
    ],
  ])('%#', (make, message) => {
    expect(make).toThrow(new GradStabError(message));
  });
});
