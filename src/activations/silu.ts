import * as tf from '@tensorflow/tfjs-core';
import { floatTensor } from './input.js';

/**
 * The sigmoid linear unit `x * sigmoid(x)` (Elfwing, Uchibe & Doya 2018; found again as "swish" by Ramachandran,
 * Zoph & Le 2017): smooth, non-monotonic, with a small negative dip and no dead region. PyTorch's `F.silu`; the
 * same as tfjs's and Keras's `'swish'` activation with its default beta of 1. The gradient
 * `s + x * s * (1 - s)` (s = sigmoid(x)) is finite for every finite input.
 *
 * @param x A float32 tensor of any shape.
 * @returns A new tensor of the same shape.
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { activations } from 'gradstab';
 * activations.silu(tf.tensor1d([-1, 0, 1])).print(); // [-0.2689414, 0, 0.7310586]
 * ```
 */
export function silu<T extends tf.Tensor>(x: T): T {
  return siluUnchecked(floatTensor('activations.silu', x)) as T;
}

/** SiLU on a checked tensor (also used by the registered activation string). */
export function siluUnchecked(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(x, tf.sigmoid(x)));
}
