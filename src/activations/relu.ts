import * as tf from '@tensorflow/tfjs-core';
import { floatTensor } from './input.js';

/**
 * The rectified linear unit `max(x, 0)` (Nair & Hinton 2010). Its gradient is 1 for x > 0 and 0 for x <= 0, as in
 * PyTorch (0 at the kink). It does not saturate for positive inputs, which is why it replaced sigmoid and tanh in
 * deep networks, but a unit whose input stays negative gets no gradient at all (a "dead" unit): see
 * {@link activations.leakyRelu}, {@link activations.elu} and {@link activations.gelu} for variants that keep a
 * gradient there.
 *
 * @param x A float32 tensor of any shape.
 * @returns A new tensor of the same shape.
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { activations } from 'gradstab';
 * activations.relu(tf.tensor1d([-2, 0, 3])).print(); // [0, 0, 3]
 * ```
 */
export function relu<T extends tf.Tensor>(x: T): T {
  return tf.relu(floatTensor('activations.relu', x));
}
