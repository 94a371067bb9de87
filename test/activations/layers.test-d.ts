import * as tf from '@tensorflow/tfjs';
import {
  activationIdentifiers,
  activations,
  type ELULayer,
  type GELULayer,
  type LeakyReLULayer,
  layers,
  type ReLULayer,
  type SELULayer,
  type SiLULayer,
} from 'gradstab';
import { describe, expectTypeOf, it } from 'vitest';

type DenseActivation = NonNullable<Parameters<typeof tf.layers.dense>[0]['activation']>;

describe('activation types', () => {
  it('every activation layer is a tf.layers.Layer', () => {
    expectTypeOf(layers.reLU()).toEqualTypeOf<ReLULayer>();
    expectTypeOf(layers.leakyReLU({ alpha: 0.1 })).toEqualTypeOf<LeakyReLULayer>();
    expectTypeOf(layers.elu({ alpha: 0.5 })).toEqualTypeOf<ELULayer>();
    expectTypeOf(layers.selu()).toEqualTypeOf<SELULayer>();
    expectTypeOf(layers.gelu({ approximate: true })).toEqualTypeOf<GELULayer>();
    expectTypeOf(layers.silu()).toEqualTypeOf<SiLULayer>();
    for (const layer of [
      layers.reLU(),
      layers.leakyReLU(),
      layers.elu(),
      layers.selu(),
      layers.gelu(),
      layers.silu(),
    ]) {
      expectTypeOf(layer).toExtend<tf.layers.Layer>();
    }
  });

  it('the activation strings are tf.layers activation identifiers, not any', () => {
    expectTypeOf(activationIdentifiers.leakyRelu).not.toBeAny();
    expectTypeOf(activationIdentifiers.leakyRelu).toExtend<DenseActivation>();
    expectTypeOf(activationIdentifiers.geluTanh).toExtend<DenseActivation>();
  });

  it('the functions keep the tensor type they are given', () => {
    expectTypeOf(activations.relu(tf.ones([2, 3]) as tf.Tensor2D)).toEqualTypeOf<tf.Tensor2D>();
    expectTypeOf(activations.leakyRelu(tf.ones([2]) as tf.Tensor1D, { alpha: 0.2 })).toEqualTypeOf<tf.Tensor1D>();
    // @ts-expect-error the options are an object
    activations.elu(tf.ones([2]), 0.5);
  });
});
