import * as tf from '@tensorflow/tfjs';
import { type LrRangeTestResult, lrRangeTest, type TrainingData } from 'gradstab';
import { describe, expectTypeOf, it } from 'vitest';

describe('lrRangeTest types', () => {
  it('takes a LayersModel and {x, y}, and resolves to the result', () => {
    const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [2] })] });
    const data = { x: tf.zeros([4, 2]), y: tf.zeros([4, 1]) };
    expectTypeOf(data).toExtend<TrainingData>();
    expectTypeOf(lrRangeTest(model, data)).toEqualTypeOf<Promise<LrRangeTestResult>>();
    expectTypeOf(lrRangeTest(model, { x: [data.x], y: [data.y] }, { optimizer: (lr) => tf.train.adam(lr) }))
      .resolves.toHaveProperty('steepest')
      .toEqualTypeOf<number | null>();
    expectTypeOf<LrRangeTestResult['divergedAt']>().toEqualTypeOf<number | null>();
    // @ts-expect-error an optimizer instance is not a factory
    lrRangeTest(model, data, { optimizer: tf.train.adam(0.1) });
  });
});
