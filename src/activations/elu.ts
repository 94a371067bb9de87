import * as tf from '@tensorflow/tfjs-core';
import { optionsObject, positiveFloat32 } from '../internal/validate.js';
import { floatTensor } from './input.js';

/** Options of {@link activations.elu}. */
export interface EluOptions {
  /**
   * The value ELU saturates to for x -> -Infinity is `-alpha`: a number > 0 that stays > 0 and finite in float32.
   * Defaults to 1, as in PyTorch, Keras and tfjs (whose op has no alpha, and whose layer refuses any other).
   */
  readonly alpha?: number;
}

/** The ELU alpha of PyTorch, Keras and tfjs. */
export const DEFAULT_ELU_ALPHA = 1;

/**
 * The alpha {@link activations.elu} uses for these options: validated, or the default. Alpha <= 0 is refused
 * (PyTorch accepts it): alpha = 0 is ReLU, and a negative alpha turns the negative half upside down into a
 * non-monotonic function that is not an ELU.
 */
export function eluAlpha(fn: string, options: unknown): number {
  const { alpha } = optionsObject<EluOptions>(fn, options, ['alpha']);
  return alpha === undefined ? DEFAULT_ELU_ALPHA : positiveFloat32(fn, 'alpha', alpha);
}

/**
 * `x` for x > 0 and `alpha * (exp(x) - 1)` for x <= 0, built so that every gradient is finite: the exponential
 * only ever sees `min(x, 0)`, so a large positive x cannot overflow it (a masked `exp(x)` gives
 * `0 * Infinity = NaN` in the backward pass at x = 100). At x = 0 the gradient is `alpha` (tf.minimum sends the
 * gradient of a tie to its first argument), as in PyTorch.
 */
export function eluUnchecked(x: tf.Tensor, alpha: number): tf.Tensor {
  return tf.tidy(() => tf.add(tf.relu(x), tf.mul(tf.expm1(tf.minimum(x, 0)), alpha)));
}

/**
 * The exponential linear unit (Clevert, Unterthiner & Hochreiter 2016, "Fast and accurate deep network learning
 * by exponential linear units"): `x` for x > 0 and `alpha * (exp(x) - 1)` for x <= 0. Negative inputs keep a
 * gradient (`alpha * exp(x)`), and the mean activation is pushed towards zero, which speeds learning up.
 *
 * Unlike tfjs's `tf.elu` (no alpha) and `tf.layers.elu` (throws for alpha != 1), any alpha > 0 works, and the
 * gradient is finite for every finite input. Values and gradients are PyTorch's `F.elu`, whose gradient at 0 is
 * `alpha`.
 *
 * @param x A float32 tensor of any shape.
 * @param options `alpha`, the negative saturation value (a finite number > 0; defaults to 1).
 * @returns A new tensor of the same shape.
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { activations } from 'gradstab';
 * activations.elu(tf.tensor1d([-1, 0, 2])).print(); // [-0.6321206, 0, 2]
 * const dx = tf.grad((x: tf.Tensor) => activations.elu(x, { alpha: 0.5 }))(tf.tensor1d([-2, 0, 0.5, 100]));
 * dx.print(); // [0.0676676, 0.5, 1, 1]
 * ```
 */
export function elu<T extends tf.Tensor>(x: T, options?: EluOptions): T {
  const fn = 'activations.elu';
  const alpha = eluAlpha(fn, options);
  return eluUnchecked(floatTensor(fn, x), alpha) as T;
}
