import { elu } from './elu.js';
import { gelu } from './gelu.js';
import { leakyRelu } from './leaky-relu.js';
import { relu } from './relu.js';
import { selu } from './selu.js';
import { silu } from './silu.js';

export type { EluOptions } from './elu.js';
export type { GeluOptions } from './gelu.js';
export type { LeakyReluOptions } from './leaky-relu.js';

/**
 * Activation functions, tensor -> tensor, with PyTorch's values and gradients and finite gradients for every
 * finite input: `relu`, `leakyRelu` (slope 0.01 by default, as PyTorch), `elu` (any alpha > 0), `selu`, `gelu`
 * (exact by default, tanh form with `{approximate: true}`) and `silu`. Use them in custom models and
 * `tf.variableGrads` loops; for tf.layers models use the layers in {@link layers} or the registered names in
 * {@link activationIdentifiers}.
 *
 * @namespace
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { activations } from 'gradstab';
 * const x = tf.tensor1d([-1, 0, 2]);
 * activations.leakyRelu(x, { alpha: 0.1 }).print(); // [-0.1, 0, 2]
 * tf.grad((t: tf.Tensor) => activations.gelu(t))(x).print(); // [-0.0833155, 0.5, 1.0852318]
 * ```
 */
export const activations = {
  /** The rectified linear unit `max(x, 0)`. */
  relu,
  /** Leaky ReLU: `alpha * x` for x < 0; slope 0.01 by default (PyTorch). */
  leakyRelu,
  /** The exponential linear unit, any alpha > 0 (default 1). */
  elu,
  /** The scaled ELU of self-normalizing networks. */
  selu,
  /** The Gaussian error linear unit, exact or `{approximate: true}` (tanh form). */
  gelu,
  /** The sigmoid linear unit `x * sigmoid(x)` (swish). */
  silu,
} as const;
