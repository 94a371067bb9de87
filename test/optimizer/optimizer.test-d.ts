import * as tf from '@tensorflow/tfjs';
import {
  clipByGlobalNorm,
  clipOptimizer,
  GradientHealthMonitor,
  type TransformedOptimizer,
  withTransforms,
} from 'gradstab';
import { describe, expectTypeOf, it } from 'vitest';

type CompileOptimizer = NonNullable<tf.ModelCompileArgs['optimizer']>;

describe('optimizer wrapper types', () => {
  it('withTransforms and clipOptimizer return a tf.Optimizer that model.compile takes', () => {
    const wrapped = withTransforms(tf.train.adam(1e-3), clipByGlobalNorm(1));
    expectTypeOf(wrapped).toEqualTypeOf<TransformedOptimizer>();
    expectTypeOf(wrapped).toExtend<tf.Optimizer>();
    expectTypeOf(wrapped).toExtend<CompileOptimizer>();
    expectTypeOf(clipOptimizer(tf.train.sgd(0.1), { clipNorm: 1 })).toExtend<tf.Optimizer>();
    expectTypeOf(wrapped.optimizer).toEqualTypeOf<tf.Optimizer>();
  });

  it('wraps a wrapper, and a loaded model’s optimizer, in one line', () => {
    const model = tf.sequential();
    expectTypeOf(withTransforms).toBeCallableWith(model.optimizer, new GradientHealthMonitor().tap);
    expectTypeOf(withTransforms).toBeCallableWith(clipOptimizer(tf.train.adam(), { globalClipNorm: 1 }));
  });

  it('applyGradients takes what tf.variableGrads returns, map or list', () => {
    const { grads } = tf.variableGrads(() => tf.scalar(0));
    expectTypeOf(withTransforms(tf.train.adam()).applyGradients).toBeCallableWith(grads);
    expectTypeOf(withTransforms(tf.train.adam()).applyGradients).toBeCallableWith([
      { name: 'w', tensor: tf.ones([1]) },
    ]);
    // @ts-expect-error transforms are gradient transforms
    withTransforms(tf.train.adam(), 'clip');
  });
});
