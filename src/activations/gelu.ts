import * as tf from '@tensorflow/tfjs-core';
import { fail, optionsObject } from '../internal/validate.js';
import { floatTensor } from './input.js';

/** Options of {@link activations.gelu}. */
export interface GeluOptions {
  /**
   * `false` for the exact form `x * Phi(x)` (PyTorch's `approximate='none'`, Keras's `approximate=False`, tfjs's
   * `'gelu'` activation string); `true` for the tanh approximation (PyTorch's `approximate='tanh'`, Keras's
   * `approximate=True`, tfjs's `'gelu_new'`). Defaults to false, as in PyTorch and Keras.
   */
  readonly approximate?: boolean;
}

/** The form {@link activations.gelu} uses for these options: validated, or the default (exact). */
export function geluApproximate(fn: string, options: unknown): boolean {
  const { approximate } = optionsObject<GeluOptions>(fn, options, ['approximate']);
  if (approximate === undefined) return false;
  if (typeof approximate !== 'boolean') fail(fn, 'approximate must be true or false', approximate);
  return approximate;
}

/** sqrt(2 / pi) and the cubic coefficient of the tanh approximation (Hendrycks & Gimpel; PyTorch's kBeta, kKappa). */
const TANH_BETA = Math.sqrt(2 / Math.PI);
const TANH_KAPPA = 0.044715;
/**
 * Beyond |x| = 10 the tanh of the approximation is exactly +-1 in float32 (its argument exceeds 43), so clamping
 * x there inside the tanh changes no value and no gradient. It keeps x^3 finite: without the clamp, |x| > 1.8e19
 * overflows x^2 in the backward pass and `0 * Infinity` turns the gradient into NaN (as in PyTorch).
 */
const TANH_CLAMP = 10;

/** `x * Phi(x) = 0.5 * x * (1 + erf(x / sqrt(2)))`, PyTorch's formula. */
function geluExact(x: tf.Tensor): tf.Tensor {
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));
}

/** `0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3)))`, PyTorch's formula, with the inner x clamped. */
function geluTanh(x: tf.Tensor): tf.Tensor {
  const c = tf.clipByValue(x, -TANH_CLAMP, TANH_CLAMP);
  const inner = tf.mul(tf.add(c, tf.mul(tf.mul(tf.mul(c, c), c), TANH_KAPPA)), TANH_BETA);
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
}

/** GELU in the given form, on a checked tensor (also used by the registered activation strings). */
export function geluUnchecked(x: tf.Tensor, approximate: boolean): tf.Tensor {
  return tf.tidy(() => (approximate ? geluTanh(x) : geluExact(x)));
}

/**
 * The Gaussian error linear unit (Hendrycks & Gimpel 2016, "Gaussian error linear units (GELUs)"):
 * `x * Phi(x)`, with Phi the standard normal CDF; `{approximate: true}` gives the tanh approximation
 * `0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))` of BERT and GPT-2. Smooth, with a non-zero gradient for
 * moderately negative inputs, it is the default activation of transformers.
 *
 * The exact form is PyTorch's `F.gelu(x)` and the approximation `F.gelu(x, approximate='tanh')`. The gradient is
 * finite for every finite input (PyTorch's tanh form gives NaN beyond |x| ~ 1.8e19). tfjs computes `erf` with a
 * polynomial whose absolute error is up to 1.5e-7; with float32 rounding, the exact form differs from PyTorch's
 * by up to 5e-7 in value and 1.2e-7 in gradient (measured from x = -100 to 100).
 *
 * @param x A float32 tensor of any shape.
 * @param options `approximate`: false (default) for the exact erf form, true for the tanh form.
 * @returns A new tensor of the same shape.
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { activations } from 'gradstab';
 * activations.gelu(tf.tensor1d([-1, 0, 1])).print(); // [-0.1586553, 0, 0.8413447]
 * activations.gelu(tf.tensor1d([-1, 0, 1]), { approximate: true }).print(); // [-0.1588080, 0, 0.8411920]
 * ```
 */
export function gelu<T extends tf.Tensor>(x: T, options?: GeluOptions): T {
  const fn = 'activations.gelu';
  const approximate = geluApproximate(fn, options);
  return geluUnchecked(floatTensor(fn, x), approximate) as T;
}
