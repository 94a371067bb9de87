import type * as tf from '@tensorflow/tfjs';
import {
  calculateGain,
  computeFans,
  heNormal,
  heUniform,
  initializerFor,
  lecunNormal,
  lecunUniform,
  Orthogonal,
  orthogonal,
  VarianceScaling,
  varianceScaling,
  xavierNormal,
  xavierUniform,
} from 'gradstab';
import { describe, expectTypeOf, it } from 'vitest';

type KernelInitializer = NonNullable<Parameters<typeof tf.layers.dense>[0]['kernelInitializer']>;
type TfInitializer = ReturnType<typeof tf.initializers.glorotUniform>;

describe('initializer types', () => {
  it('every initializer is a tfjs Initializer, accepted as kernelInitializer', () => {
    const all = [
      heNormal(),
      heUniform(),
      xavierNormal(),
      xavierUniform(),
      lecunNormal(),
      lecunUniform(),
      varianceScaling({ scale: 2 }),
      initializerFor('relu'),
      new VarianceScaling({ gain: 1 }),
    ] as const;
    for (const init of all) {
      expectTypeOf(init).toEqualTypeOf<VarianceScaling>();
      expectTypeOf(init).toExtend<KernelInitializer>();
      expectTypeOf(init).toExtend<TfInitializer>();
    }
    expectTypeOf(orthogonal()).toEqualTypeOf<Orthogonal>();
    expectTypeOf(orthogonal()).toExtend<KernelInitializer>();
    expectTypeOf(new Orthogonal({ gain: 2 })).toExtend<TfInitializer>();
  });

  it('they also make tensors; gains and fans are numbers', () => {
    expectTypeOf(heNormal().apply([3, 4])).toEqualTypeOf<tf.Tensor>();
    expectTypeOf(heNormal().standardDeviation([3, 4])).toBeNumber();
    expectTypeOf(calculateGain('leakyRelu', 0.2)).toBeNumber();
    expectTypeOf(computeFans([3, 3, 4, 8])).toEqualTypeOf<{ readonly fanIn: number; readonly fanOut: number }>();
    // @ts-expect-error mode is one of fanIn, fanOut, fanAvg
    heNormal({ mode: 'fan_in' });
  });
});
