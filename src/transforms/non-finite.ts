import * as tf from '@tensorflow/tfjs-core';
import { decodeNumber, encodeNumber, readConfigKey } from '../internal/config-values.js';
import { flatConcat } from '../internal/norms.js';
import { optionsObject, wholeNumber } from '../internal/validate.js';
import { registerTransform } from './registry.js';
import type { GradientTransform, TransformState } from './types.js';

/** Options of {@link skipNonFinite}. */
export interface SkipNonFiniteOptions {
  /**
   * After this many non-finite steps in a row, the next non-finite step is applied anyway (optax's
   * `max_consecutive_errors`). Defaults to Infinity: a non-finite step is never applied.
   */
  readonly maxConsecutive?: number;
}

/**
 * The state of {@link skipNonFinite} (float32 scalars), saved with the optimizer.
 * - `consecutive`: non-finite steps in a row up to now (0 after a finite step).
 * - `totalNonFinite`: non-finite steps seen in all.
 * - `totalSkipped`: steps skipped in all.
 */
export type SkipNonFiniteState = TransformState;

/**
 * Skips a step whose gradients hold a NaN or an Infinity: the inner optimizer is not called, so the weights, its
 * moments and its `iterations` stay exactly as they were, and later steps equal those of a run that never saw
 * the bad batch. (Zeroing the gradients is not the same: Adam still moves on zero gradients through momentum.)
 * This is optax's `apply_if_finite` and what DeepSpeed and Keras's loss scaling do with overflowing steps.
 *
 * Cost: deciding to skip needs the answer on the host, so this transform reads **one boolean per step**
 * (a blocking `dataSync` of a scalar). Nothing else in the clipping transforms reads.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { clipByGlobalNorm, skipNonFinite, withTransforms } from 'gradstab';
 * const optimizer = withTransforms(tf.train.adam(1e-3), clipByGlobalNorm(1), skipNonFinite());
 * // ...train; then:
 * console.log(optimizer.skippedSteps); // steps dropped because a gradient was NaN or Infinity
 * ```
 */
export function skipNonFinite(options?: SkipNonFiniteOptions): GradientTransform {
  const opts = optionsObject<SkipNonFiniteOptions>('skipNonFinite', options, ['maxConsecutive']);
  const maxConsecutive = wholeNumber(
    'skipNonFinite',
    'maxConsecutive',
    opts.maxConsecutive ?? Number.POSITIVE_INFINITY,
    0,
    true,
  );
  return {
    kind: 'skipNonFinite',
    config: { maxConsecutive: encodeNumber(maxConsecutive) },
    init: () => ({ consecutive: tf.scalar(0), totalNonFinite: tf.scalar(0), totalSkipped: tf.scalar(0) }),
    update: (grads, state) => {
      const tensors = Object.values(grads);
      const finite = tensors.length === 0 ? tf.scalar(true, 'bool') : tf.all(tf.isFinite(flatConcat(tensors)));
      const bad = tf.cast(tf.logicalNot(finite), 'float32');
      const consecutive = tf.mul(tf.add(state.consecutive as tf.Tensor, 1), bad);
      const apply = tf.logicalOr(finite, tf.greater(consecutive, maxConsecutive));
      // The one read this transform is documented to make: the host must know whether to call the optimizer.
      const skip = apply.dataSync()[0] === 0;
      return {
        grads,
        state: {
          consecutive,
          totalNonFinite: tf.add(state.totalNonFinite as tf.Tensor, bad),
          totalSkipped: skip ? tf.add(state.totalSkipped as tf.Tensor, 1) : (state.totalSkipped as tf.Tensor),
        },
        skip,
      };
    },
  };
}

registerTransform('skipNonFinite', (c) =>
  skipNonFinite({ maxConsecutive: decodeNumber(readConfigKey(c, 'maxConsecutive')) }),
);
