import * as tf from '@tensorflow/tfjs-core';
import { finiteFloat32, optionsObject } from '../internal/validate.js';
import { floatTensor } from './input.js';

/** Options of {@link activations.leakyRelu}. */
export interface LeakyReluOptions {
  /**
   * The slope for x < 0 (PyTorch's `negative_slope`): any number finite in float32 (|alpha| <= 3.4e38), as in
   * PyTorch. Defaults to 0.01, PyTorch's default; Keras's `LeakyReLU` layer defaults to 0.3, Keras's `leaky_relu` op
   * and tfjs's `tf.leakyRelu` to 0.2 (pass `{alpha: 0.3}` or `{alpha: 0.2}` to match them).
   */
  readonly alpha?: number;
}

/** PyTorch's default negative slope (`torch.nn.LeakyReLU`, `F.leaky_relu`). */
export const DEFAULT_LEAKY_RELU_ALPHA = 0.01;

/** The slope {@link activations.leakyRelu} uses for these options: validated, or the default. */
export function leakyReluAlpha(fn: string, options: unknown): number {
  const { alpha } = optionsObject<LeakyReluOptions>(fn, options, ['alpha']);
  return alpha === undefined ? DEFAULT_LEAKY_RELU_ALPHA : finiteFloat32(fn, 'alpha', alpha);
}

/**
 * The leaky rectified linear unit (Maas, Hannun & Ng 2013): `x` for x >= 0 and `alpha * x` for x < 0, so that a
 * unit with negative input still gets the gradient `alpha` instead of 0 and cannot die. The gradient at exactly 0
 * is `alpha`, as in PyTorch.
 *
 * The default slope is PyTorch's 0.01. Keras's layer uses 0.3 and Keras's op and tfjs's op 0.2: pass
 * `{alpha: 0.3}` or `{alpha: 0.2}` to match those.
 *
 * @param x A float32 tensor of any shape.
 * @param options `alpha`, the negative slope (any number finite in float32; defaults to 0.01).
 * @returns A new tensor of the same shape.
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { activations } from 'gradstab';
 * activations.leakyRelu(tf.tensor1d([-2, 0, 3])).print(); // [-0.02, 0, 3]
 * activations.leakyRelu(tf.tensor1d([-2, 0, 3]), { alpha: 0.2 }).print(); // [-0.4, 0, 3]
 * ```
 */
export function leakyRelu<T extends tf.Tensor>(x: T, options?: LeakyReluOptions): T {
  const fn = 'activations.leakyRelu';
  const alpha = leakyReluAlpha(fn, options);
  return tf.leakyRelu(floatTensor(fn, x), alpha);
}
