import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { brandClass, registerClassOnce } from '../internal/identity.js';
import { DEFAULT_ELU_ALPHA, eluUnchecked } from './elu.js';
import { geluUnchecked } from './gelu.js';
import { floatTensor } from './input.js';
import { DEFAULT_LEAKY_RELU_ALPHA } from './leaky-relu.js';
import { seluUnchecked } from './selu.js';
import { siluUnchecked } from './silu.js';

/**
 * tf.layers' `ActivationIdentifier`: the strings the `activation` option of `tf.layers.dense` and kin accepts. tfjs
 * does not export the type from its index (a deep import of it does not resolve for an ES-module consumer under
 * `moduleResolution: node16`), so it is reached through `tf.layers.dense`'s argument type.
 */
export type ActivationIdentifier = NonNullable<Parameters<typeof tfl.layers.dense>[0]['activation']>;

/**
 * Registers an activation under `name` the way tfjs registers its own, and returns the name typed as tf.layers'
 * `ActivationIdentifier` (a closed union of tfjs's names, although at run time any registered class is accepted).
 * tf.layers looks an activation string up in the serialization registry, calls `new cls(config)` and then
 * `apply(x)`; saving a layer writes the class name back. So the activation takes no parameters: tfjs saves the
 * name only.
 *
 * A name has to survive tfjs's save-time snake_casing and load-time camelCasing (`gradstabGeluTanh` ->
 * `gradstab_gelu_tanh` -> `gradstabGeluTanh`), hence lowerCamelCase without digits, as tfjs's own names (its
 * `'gelu_new'` does not survive: it comes back as the unknown `'geluNew'`).
 */
function registerActivation(name: string, activate: (x: tf.Tensor) => tf.Tensor): ActivationIdentifier {
  class RegisteredActivation extends tf.serialization.Serializable {
    static className = name;
    apply(x: tf.Tensor): tf.Tensor {
      return activate(floatTensor(name, x));
    }
    getConfig(): tf.serialization.ConfigDict {
      return {};
    }
  }
  brandClass(RegisteredActivation, `activation.${name}`);
  registerClassOnce(RegisteredActivation);
  return name as ActivationIdentifier;
}

/**
 * Activation strings for the `activation` option of `tf.layers.dense`, `conv2d`, `lstm` and the others, each
 * typed as tf.layers' `ActivationIdentifier` so no cast is needed. The strings (`'gradstabLeakyRelu'`, ...) are
 * registered with tfjs when gradstab is imported, so a model using them saves and loads like any other, as long as
 * gradstab is imported before `tf.loadLayersModel`.
 *
 * They have fixed parameters because tfjs saves an activation as its name only: `leakyRelu` has slope 0.01,
 * `elu` alpha 1, `gelu` is exact and `geluTanh` the tanh approximation. For another slope or alpha, leave the
 * layer's activation out and add a layer from {@link layers} after it: `layers.leakyReLU({alpha: 0.2})`.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { activationIdentifiers } from 'gradstab';
 * const dense = tf.layers.dense({
 *   units: 1,
 *   activation: activationIdentifiers.leakyRelu,
 *   useBias: false,
 *   kernelInitializer: 'ones',
 * });
 * (dense.apply(tf.tensor2d([[-3, 1]])) as tf.Tensor).print(); // [-0.02]
 * console.log(dense.getConfig().activation); // 'gradstabLeakyRelu'
 * ```
 */
export const activationIdentifiers = {
  /** `'gradstabRelu'`: {@link activations.relu}. */
  relu: registerActivation('gradstabRelu', (x) => tf.relu(x)),
  /** `'gradstabLeakyRelu'`: {@link activations.leakyRelu} with slope 0.01. */
  leakyRelu: registerActivation('gradstabLeakyRelu', (x) => tf.leakyRelu(x, DEFAULT_LEAKY_RELU_ALPHA)),
  /** `'gradstabElu'`: {@link activations.elu} with alpha 1. */
  elu: registerActivation('gradstabElu', (x) => eluUnchecked(x, DEFAULT_ELU_ALPHA)),
  /** `'gradstabSelu'`: {@link activations.selu}. */
  selu: registerActivation('gradstabSelu', seluUnchecked),
  /** `'gradstabGelu'`: {@link activations.gelu}, exact. */
  gelu: registerActivation('gradstabGelu', (x) => geluUnchecked(x, false)),
  /** `'gradstabGeluTanh'`: {@link activations.gelu} with `{approximate: true}`. */
  geluTanh: registerActivation('gradstabGeluTanh', (x) => geluUnchecked(x, true)),
  /** `'gradstabSilu'`: {@link activations.silu}. */
  silu: registerActivation('gradstabSilu', siluUnchecked),
} as const;
