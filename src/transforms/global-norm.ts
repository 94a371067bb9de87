import * as tf from '@tensorflow/tfjs-core';
import { checkGradient } from '../internal/grads.js';
import { normValue, scaledNormOfAll } from '../internal/norms.js';
import { fail, optionsObject } from '../internal/validate.js';
import { parseNormType } from './norm-type.js';
import type { NormType } from './types.js';

/** Options of {@link globalNorm}. */
export interface GlobalNormOptions {
  /** Which norm: 1, 2 or `'inf'` (the largest absolute entry). Defaults to 2. */
  readonly normType?: NormType;
}

/**
 * The norm of all gradients taken together, as if concatenated into one vector: PyTorch's `total_norm`,
 * optax's `global_norm`. Overflow-safe: gradients of 1e30 (finite in float32) give 1e30-scale norms, not Infinity.
 * An Infinity entry gives Infinity and a NaN entry NaN. Runs on the device and reads nothing; the caller disposes
 * the returned scalar.
 *
 * @param grads A map of gradients (as from `tf.variableGrads`, or a `Map` of them) or an array of tensors. Empty
 *   tensors add nothing: the norm of nothing is 0.
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { globalNorm } from 'gradstab';
 * const n = globalNorm({ a: tf.tensor1d([3]), b: tf.tensor1d([4]) });
 * n.print(); // 5
 * ```
 */
export function globalNorm(
  grads: tf.NamedTensorMap | readonly tf.Tensor[] | ReadonlyMap<string, tf.Tensor>,
  options?: GlobalNormOptions,
): tf.Scalar {
  const opts = optionsObject<GlobalNormOptions>('globalNorm', options, ['normType']);
  const normType = parseNormType('globalNorm', opts.normType);
  if (grads === null || typeof grads !== 'object')
    fail('globalNorm', 'grads must be a map (object or Map) or an array of tensors', grads);
  const held = Array.isArray(grads) ? grads : grads instanceof Map ? [...grads.values()] : Object.values(grads);
  const tensors = held.filter((t): t is tf.Tensor => t != null);
  for (const t of tensors) {
    if (!(t instanceof tf.Tensor)) fail('globalNorm', 'grads must hold tensors', t);
    checkGradient('globalNorm', null, t);
  }
  return normOfAll(tensors, normType);
}

/** The global norm without validation, for the transforms that already validated their input. */
export function normOfAll(tensors: readonly tf.Tensor[], normType: NormType): tf.Scalar {
  return tf.tidy(() => normValue(scaledNormOfAll(tensors, normType)));
}
