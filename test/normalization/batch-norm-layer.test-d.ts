import * as tf from '@tensorflow/tfjs';
import {
  BatchNormalizationLayer,
  type BatchNormalizationLayerArgs,
  batchNorm,
  batchNormVariables,
  layers,
  pytorchBatchNormArgs,
} from 'gradstab';
import { describe, expectTypeOf, it } from 'vitest';

describe('batch normalization types', () => {
  it('the layer is a tf.layers.Layer: tf.sequential, model.add, apply, weights, name', () => {
    const bn = layers.batchNormalization({ axis: 1 });
    expectTypeOf(bn).toEqualTypeOf<BatchNormalizationLayer>();
    expectTypeOf(bn).toExtend<tf.layers.Layer>();
    expectTypeOf(new BatchNormalizationLayer()).toExtend<tf.layers.Layer>();
    expectTypeOf(bn.name).toBeString();
    expectTypeOf(bn.apply).toEqualTypeOf<tf.layers.Layer['apply']>();
    expectTypeOf(bn.getWeights()).toEqualTypeOf<tf.Tensor[]>();
    expectTypeOf<tf.Sequential['add']>().parameter(0).toExtend<tf.layers.Layer>();
    expectTypeOf(tf.sequential).toBeCallableWith({ layers: [tf.layers.dense({ units: 2, inputShape: [3] }), bn] });
  });

  it('takes tfjs initializer, regularizer and constraint identifiers and objects', () => {
    expectTypeOf<BatchNormalizationLayerArgs>().toExtend<object>();
    expectTypeOf(layers.batchNormalization).toBeCallableWith({
      gammaInitializer: tf.initializers.ones(),
      betaInitializer: 'zeros',
      gammaRegularizer: tf.regularizers.l2(),
      betaConstraint: 'nonNeg',
      ...pytorchBatchNormArgs({ momentum: 0.1 }),
    });
    // @ts-expect-error axis is a number
    layers.batchNormalization({ axis: 'channels' });
  });

  it('the functional form returns tensors and new state', () => {
    const v = batchNormVariables(4);
    expectTypeOf(v.params.gamma).toEqualTypeOf<tf.Variable | undefined>();
    const out = batchNorm(tf.ones([2, 4]), v.params, v.state, { training: true });
    expectTypeOf(out.y).toEqualTypeOf<tf.Tensor>();
    expectTypeOf(out.state.movingMean).toEqualTypeOf<tf.Tensor>();
  });
});
