import * as tf from '@tensorflow/tfjs';
import { type Diagnosis, diagnose, type FindingKind, type Prescription, type PrescriptionKind } from 'gradstab';
import { describe, expectTypeOf, it } from 'vitest';

describe('diagnose types', () => {
  it('takes a LayersModel with {x, y} or a tf.data.Dataset, and resolves to a Diagnosis', () => {
    const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [2] })] });
    const data = { x: tf.zeros([4, 2]), y: tf.zeros([4, 1]) };
    expectTypeOf(diagnose(model, data)).toEqualTypeOf<Promise<Diagnosis>>();
    const dataset = tf.data.zip({ xs: tf.data.array([tf.zeros([2])]), ys: tf.data.array([tf.zeros([1])]) }).batch(4);
    expectTypeOf(
      diagnose(model, dataset, { optimizer: tf.train.adam(0.1), steps: 50 }),
    ).resolves.toEqualTypeOf<Diagnosis>();
    expectTypeOf(diagnose(model, data, { optimizer: () => tf.train.adam(0.1) })).resolves.toHaveProperty('healthy');
    expectTypeOf<Diagnosis['findings'][number]['kind']>().toEqualTypeOf<FindingKind>();
    expectTypeOf<Prescription['kind']>().toEqualTypeOf<PrescriptionKind>();
    expectTypeOf<Prescription['apply']>().returns.resolves.toHaveProperty('model').toEqualTypeOf<tf.LayersModel>();
    // @ts-expect-error the optimizer factory takes no argument and returns an optimizer
    diagnose(model, data, { optimizer: (lr: number) => lr });
    // @ts-expect-error steps is a number
    diagnose(model, data, { steps: '100' });
  });
});
