import * as tf from '@tensorflow/tfjs-core';
import { eluUnchecked } from './elu.js';
import { floatTensor } from './input.js';

/** SELU's scale (lambda), the value of Klambauer et al. that PyTorch, Keras and tfjs all use. */
const SELU_SCALE = 1.0507009873554805;
/** SELU's alpha, the value of Klambauer et al. that PyTorch, Keras and tfjs all use. */
const SELU_ALPHA = 1.6732632423543772;

/**
 * The scaled exponential linear unit (Klambauer, Unterthiner, Mayr & Hochreiter 2017, "Self-normalizing neural
 * networks"): `scale * elu(x, {alpha})` with scale 1.0507009873554805 and alpha 1.6732632423543772. With
 * LeCun-normal weights (`lecunNormal()`) and no batch normalization, activations are pulled towards mean 0 and
 * variance 1 from layer to layer, which keeps gradients from vanishing or exploding in deep plain MLPs.
 *
 * The gradient is finite for every finite input; at 0 it is `scale * alpha` = 1.7581, as in PyTorch.
 *
 * @param x A float32 tensor of any shape.
 * @returns A new tensor of the same shape.
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { activations } from 'gradstab';
 * activations.selu(tf.tensor1d([-1, 0, 1])).print(); // [-1.1113307, 0, 1.0507010]
 * ```
 */
export function selu<T extends tf.Tensor>(x: T): T {
  return seluUnchecked(floatTensor('activations.selu', x)) as T;
}

/** SELU on a checked tensor (also used by the registered activation string). */
export function seluUnchecked(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(eluUnchecked(x, SELU_ALPHA), SELU_SCALE));
}
