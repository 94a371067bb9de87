import * as tf from '@tensorflow/tfjs';
import {
  accumulateGradients,
  adaptiveGradClip,
  autoClip,
  chain,
  clipByGlobalNorm,
  clipByNorm,
  clipByValue,
  type GradientTransform,
  globalNorm,
  gradientPipeline,
  type PipelineStep,
  skipNonFinite,
  type TransformConfig,
  transformFromConfig,
  transformToConfig,
  zClip,
} from 'gradstab';
import { describe, expectTypeOf, it } from 'vitest';

describe('gradient transform types', () => {
  it('every factory returns a GradientTransform', () => {
    const all = [
      clipByValue(1),
      clipByValue({ min: -1, max: 2 }),
      clipByNorm(1),
      clipByGlobalNorm(1, { normType: 'inf' }),
      adaptiveGradClip({ exclude: /head/ }),
      autoClip({ percentile: 10 }),
      zClip(),
      skipNonFinite({ maxConsecutive: 5 }),
      accumulateGradients({ steps: 4 }),
      chain(clipByValue(1), skipNonFinite()),
      transformFromConfig(transformToConfig(clipByNorm(1))),
    ];
    for (const t of all) expectTypeOf(t).toEqualTypeOf<GradientTransform>();
    expectTypeOf(transformToConfig(clipByNorm(1))).toEqualTypeOf<TransformConfig>();
    // @ts-expect-error normType is 1, 2 or 'inf'
    clipByGlobalNorm(1, { normType: 3 });
  });

  it('a pipeline takes what tf.variableGrads returns and hands back a map an optimizer takes', () => {
    const { grads } = tf.variableGrads(() => tf.scalar(0));
    const step = gradientPipeline(clipByGlobalNorm(1)).apply(grads);
    expectTypeOf(step).toEqualTypeOf<PipelineStep>();
    expectTypeOf(step.grads).toEqualTypeOf<tf.NamedTensorMap>();
    const optimizer: tf.Optimizer = tf.train.adam();
    expectTypeOf(optimizer.applyGradients).toBeCallableWith(step.grads);
    expectTypeOf(globalNorm(grads)).toEqualTypeOf<tf.Scalar>();
    expectTypeOf(globalNorm([tf.ones([2])])).toEqualTypeOf<tf.Scalar>();
  });
});
