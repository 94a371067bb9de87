import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GradStabError } from '../../src/errors.js';
import { layers } from '../../src/layers.js';
import { batchNorm, batchNormVariables } from '../../src/normalization/batch-norm.js';
import { pytorchBatchNormArgs } from '../../src/normalization/batch-norm-options.js';
import { countBlockingReads, maxViolation, tensorsLeftBy, useCpu, values } from '../helpers/tf.js';

beforeAll(useCpu);
afterEach(() => tf.disposeVariables());

const x = tf.randomNormal([4, 3, 2, 2], 1, 2, 'float32', 61);

describe('batchNorm (the functional form)', () => {
  it('gives what the layer gives, in training (output and new statistics) and in inference', () => {
    const settings = { axis: 1, momentum: 0.8, epsilon: 1e-4, unbiasedMovingVariance: true };
    const layer = layers.batchNormalization(settings);
    layer.build(x.shape);
    const gamma = tf.tensor1d([0.5, 1, 2]);
    const beta = tf.tensor1d([0, 1, -1]);
    layer.setWeights([gamma, beta, tf.zeros([3]), tf.ones([3])]);
    const state = { movingMean: tf.zeros([3]), movingVariance: tf.ones([3]) };
    const fromLayer = layer.apply(x, { training: true }) as tf.Tensor;
    const out = batchNorm(x, { gamma, beta }, state, { training: true, ...settings });
    expect(maxViolation(values(out.y), values(fromLayer), 1e-6)).toBe(0);
    const [, , mm, mv] = layer.getWeights() as tf.Tensor[];
    expect(maxViolation(values(out.state.movingMean), values(mm as tf.Tensor), 1e-6)).toBe(0);
    expect(maxViolation(values(out.state.movingVariance), values(mv as tf.Tensor), 1e-6)).toBe(0);
    const inference = batchNorm(x, { gamma, beta }, out.state, { training: false, ...settings });
    expect(maxViolation(values(inference.y), values(layer.apply(x) as tf.Tensor), 1e-6)).toBe(0);
  });

  it('mutates nothing: training returns new statistics, inference returns the very tensors it was given', () => {
    const state = { movingMean: tf.zeros([3]), movingVariance: tf.ones([3]) };
    const trained = batchNorm(x, {}, state, { training: true, axis: 1 });
    expect(values(state.movingMean)).toEqual([0, 0, 0]);
    expect(values(state.movingVariance)).toEqual([1, 1, 1]);
    expect(trained.state.movingMean).not.toBe(state.movingMean);
    const inferred = batchNorm(x, {}, state, { training: false, axis: 1 });
    expect(inferred.state.movingMean).toBe(state.movingMean);
    expect(inferred.state.movingVariance).toBe(state.movingVariance);
  });

  it('in a minimize loop with the documented assign pattern: statistics once per step, no leaks, no reads', async () => {
    const bn = batchNormVariables(3);
    const opt = tf.train.sgd(0);
    const step = () =>
      opt.minimize(() => {
        const { y, state } = batchNorm(x, bn.params, bn.state, { training: true, axis: 1, momentum: 0.5 });
        bn.state.movingMean.assign(state.movingMean);
        bn.state.movingVariance.assign(state.movingVariance);
        return tf.sum(tf.square(y)) as tf.Scalar;
      });
    step();
    const { mean } = tf.moments(x, [0, 2, 3]);
    expect(maxViolation(values(bn.state.movingMean), values(tf.mul(mean, 0.5)), 1e-6)).toBe(0);
    step();
    expect(maxViolation(values(bn.state.movingMean), values(tf.mul(mean, 0.75)), 1e-6)).toBe(0);
    expect(await tensorsLeftBy(() => Array.from({ length: 5 }, step))).toBe(0);
    expect(await countBlockingReads(() => Array.from({ length: 5 }, step))).toBe(0);
  });

  it('trains gamma and beta through the closed-form gradient (loss goes down)', () => {
    const bn = batchNormVariables(3);
    const target = tf.randomNormal(x.shape, 0, 1, 'float32', 62);
    const opt = tf.train.adam(0.05);
    const loss = () =>
      tf.losses.meanSquaredError(target, batchNorm(x, bn.params, bn.state, { training: true, axis: 1 }).y) as tf.Scalar;
    const first = values(loss())[0] as number;
    for (let i = 0; i < 30; i++) opt.minimize(loss);
    expect(values(loss())[0] as number).toBeLessThan(first * 0.95);
  });

  it('leaks nothing in inference either, outside any tidy', async () => {
    const state = { movingMean: tf.zeros([3]), movingVariance: tf.ones([3]) };
    const infer = () => tf.dispose(batchNorm(x, {}, state, { training: false, axis: 1 }).y);
    const ones = tf.ones([4, 3]);
    const inferLast = () => tf.dispose(batchNorm(ones, {}, state, { training: false }).y);
    infer();
    inferLast();
    expect(await tensorsLeftBy(infer)).toBe(0);
    expect(await tensorsLeftBy(inferLast)).toBe(0);
  });

  it('differentiates through inference mode without gamma or beta (the fused route needs them explicit)', () => {
    const state = { movingMean: tf.tensor1d([1, 2, 3]), movingVariance: tf.tensor1d([4, 4, 4]) };
    const dx = tf.grad((t: tf.Tensor) => tf.sum(batchNorm(t, {}, state, { training: false, epsilon: 1e-9 }).y))(
      tf.ones([2, 3]),
    );
    expect(maxViolation(values(dx), Array(6).fill(0.5), 1e-5)).toBe(0); // 1 / sqrt(4)
  });

  it('works with no gamma or beta (scale/center off)', () => {
    const state = { movingMean: tf.zeros([3]), movingVariance: tf.ones([3]) };
    const { y } = batchNorm(x, { gamma: null, beta: null }, state, { training: true, axis: 1 });
    const { mean, variance } = tf.moments(y, [0, 2, 3]);
    expect(maxViolation(values(mean), [0, 0, 0], 1e-5)).toBe(0);
    expect(maxViolation(values(variance), [1, 1, 1], 1e-3)).toBe(0);
  });

  it.each([
    [{ axis: 1 }, 'options.training must be true or false, got undefined.'],
    [
      { training: true, axis: 4 },
      'axis 4 must name an axis of the rank-4 input (0 to 3, or negative), got shape [4,3,2,2].',
    ],
    [{ training: true, momentum: 2 }, 'momentum must be a number in [0, 1)'],
    [{ training: true, epsilon: 0 }, 'epsilon must be a finite number > 0, got 0.'],
    [{ training: true, foo: 1 }, 'unknown option "foo"'],
  ])('rejects bad options %j', (options, message) => {
    const state = { movingMean: tf.zeros([3]), movingVariance: tf.ones([3]) };
    const call = () => batchNorm(x, {}, state, options as never);
    expect(call).toThrow(GradStabError);
    expect(call).toThrow(`batchNorm: ${message}`);
  });

  it('rejects parameters and statistics that are not one float32 value per channel', () => {
    const ok = { movingMean: tf.zeros([3]), movingVariance: tf.ones([3]) };
    const opts = { training: true, axis: 1 };
    expect(() => batchNorm(x, null as never, ok, opts)).toThrow(
      'batchNorm: params must be an object {gamma, beta}, got null.',
    );
    expect(() => batchNorm(x, {}, { ...ok, runningMean: tf.zeros([3]) } as never, opts)).toThrow(
      'batchNorm: state has an unknown key "runningMean" (known: movingMean, movingVariance)',
    );
    expect(() => batchNorm(x, { gamma: tf.ones([4]) }, ok, opts)).toThrow(
      'batchNorm: params.gamma must be a float32 tensor of shape [3] (one value per channel), got a tensor of shape [4] and dtype float32.',
    );
    expect(() => batchNorm(x, {}, { ...ok, movingVariance: tf.ones([3], 'int32') }, opts)).toThrow(
      'state.movingVariance must be a float32 tensor of shape [3]',
    );
    expect(() => batchNorm(x, {}, { movingMean: tf.zeros([3]) } as never, opts)).toThrow(
      'batchNorm: state.movingVariance must be a tensor, got undefined.',
    );
    expect(() => batchNorm(tf.ones([4, 3], 'int32'), {}, ok, { training: true })).toThrow(
      'batchNorm: x must be float32',
    );
    expect(() => batchNorm(tf.ones([1, 3]), {}, ok, { training: true, unbiasedMovingVariance: true })).toThrow(
      'batchNorm: unbiasedMovingVariance needs more than 1 value per channel in training, got shape [1,3].',
    );
  });
});

describe('batchNormVariables', () => {
  it('makes trainable gamma (ones) and beta (zeros), non-trainable moving mean (zeros) and variance (ones)', () => {
    const bn = batchNormVariables(2, { name: 'block1_bn' });
    expect(bn.params.gamma?.name).toBe('block1_bn/gamma');
    expect([bn.params.gamma?.trainable, bn.params.beta?.trainable]).toEqual([true, true]);
    expect([bn.state.movingMean.trainable, bn.state.movingVariance.trainable]).toEqual([false, false]);
    expect([values(bn.params.gamma as tf.Variable), values(bn.params.beta as tf.Variable)]).toEqual([
      [1, 1],
      [0, 0],
    ]);
    expect([values(bn.state.movingMean), values(bn.state.movingVariance)]).toEqual([
      [0, 0],
      [1, 1],
    ]);
  });

  it('leaves out gamma or beta when asked, and rejects bad arguments', () => {
    expect(Object.keys(batchNormVariables(2, { scale: false, center: false }).params)).toEqual([]);
    expect(() => batchNormVariables(0)).toThrow('batchNormVariables: channels must be a whole number >= 1, got 0.');
    expect(() => batchNormVariables(2, { name: '' })).toThrow('batchNormVariables: name must be a non-empty string');
  });
});

describe('pytorchBatchNormArgs', () => {
  it("maps PyTorch's conventions: axis 1, momentum 1 - m, eps, unbiased running variance", () => {
    expect(pytorchBatchNormArgs()).toEqual({ axis: 1, momentum: 0.9, epsilon: 1e-5, unbiasedMovingVariance: true });
    expect(pytorchBatchNormArgs({ momentum: 0.01, eps: 1e-3 })).toEqual({
      axis: 1,
      momentum: 0.99,
      epsilon: 1e-3,
      unbiasedMovingVariance: true,
    });
    expect(pytorchBatchNormArgs({ momentum: 1 }).momentum).toBe(0);
  });

  it('rejects what PyTorch would not take, and momentum None (a cumulative average gradstab does not implement)', () => {
    expect(() => pytorchBatchNormArgs({ momentum: 0 })).toThrow(
      'pytorchBatchNormArgs: momentum must be a number in (0, 1]',
    );
    expect(() => pytorchBatchNormArgs({ momentum: null as never })).toThrow(GradStabError);
    expect(() => pytorchBatchNormArgs({ eps: -1 })).toThrow(
      'pytorchBatchNormArgs: eps must be a finite number > 0, got -1.',
    );
  });
});

describe('batch norm options: null, typos and float32 limits are GradStabErrors (issue 13)', () => {
  it.each([
    [() => pytorchBatchNormArgs(null as never), 'pytorchBatchNormArgs: options must be a plain object, got null.'],
    [
      () => pytorchBatchNormArgs({ typo: 1 } as never),
      'pytorchBatchNormArgs: unknown option "typo" (known: momentum, eps), got {"typo":1}.',
    ],
    [
      () => pytorchBatchNormArgs({ momentum: 1e-10 }),
      'pytorchBatchNormArgs: momentum must be above 2.98e-8, so that 1 - momentum (the Keras momentum) is below 1 in float32, got 1e-10.',
    ],
    [
      () => batchNormVariables(3, { scale: 'no' as never }),
      'batchNormVariables: scale must be true or false, got "no".',
    ],
    [() => batchNormVariables(3, { center: 0 as never }), 'batchNormVariables: center must be true or false, got 0.'],
    [() => batchNormVariables(2 ** 40), 'batchNormVariables: channels must be at most 2147483647, got 1099511627776.'],
    [
      () =>
        batchNorm(
          tf.ones([4, 3]),
          {},
          { movingMean: tf.zeros([3]), movingVariance: tf.ones([3]) },
          { training: true, momentum: 0.99999999 },
        ),
      'batchNorm: momentum must be below 1 in float32 (at most 0.99999994): 1 in float32 never updates the statistics, got 0.99999999.',
    ],
    [
      () =>
        batchNorm(
          tf.ones([4, 3]),
          {},
          { movingMean: tf.zeros([3]), movingVariance: tf.ones([3]) },
          { training: true, epsilon: 1e39 },
        ),
      'batchNorm: epsilon must be finite in float32 (at most 3.4028234663852886e+38), got 1e+39.',
    ],
  ])('%#', (make, message) => {
    expect(make).toThrow(new GradStabError(message));
  });

  it('batchNormVariables leaves no tensor but its variables, and refuses a name in use', () => {
    const before = tf.memory().numTensors;
    const bn = batchNormVariables(3, { name: 'issue13' });
    expect(tf.memory().numTensors - before).toBe(4); // gamma, beta, moving mean and variance: no initial values left
    expect(() => batchNormVariables(3, { name: 'issue13' })).toThrow(
      new GradStabError(
        'batchNormVariables: name must be unique among live variables, and "issue13/gamma" exists, got "issue13".',
      ),
    );
    tf.dispose([bn.params.gamma, bn.params.beta, bn.state.movingMean, bn.state.movingVariance] as tf.Tensor[]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
