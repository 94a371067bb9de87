import * as tf from '@tensorflow/tfjs-core';
import { flatConcat } from '../internal/norms.js';
import { optionsObject, wholeNumber } from '../internal/validate.js';
import { registerBuiltInTransform } from './registry.js';
import type { GradientTransform } from './types.js';

/** Options of {@link skipNonFinite}. */
export interface SkipNonFiniteOptions {
  /**
   * After this many non-finite steps in a row, the next non-finite step is applied anyway (optax's
   * `max_consecutive_errors`). Defaults to Infinity: a non-finite step is never applied.
   */
  readonly maxConsecutive?: number;
}

/**
 * Skips a step whose gradients hold a NaN or an Infinity: the inner optimizer is not called, so the weights, its
 * moments and its `iterations` stay exactly as they were, and later steps equal those of a run that never saw
 * the bad batch. (Zeroing the gradients is not the same: Adam still moves on zero gradients through momentum.)
 * This is optax's `apply_if_finite` and what DeepSpeed and Keras's loss scaling do with overflowing steps.
 *
 * Put it **first** in the chain, as optax checks the raw gradients: `clipByValue` would turn an Infinity into the
 * limit and hide it, and stateful transforms after it never record a bad step.
 *
 * State (int32 scalars, saved with the optimizer): `consecutive` (non-finite steps in a row up to now, 0 after a
 * finite step), `totalNonFinite` and `totalSkipped`.
 *
 * Cost: deciding to skip needs the answer on the host, so this transform reads **one boolean per step**
 * (a blocking `dataSync` of a scalar). Nothing else in the clipping transforms reads. On WebGPU, where `dataSync`
 * of GPU-resident data is not allowed, use the clipping transforms without it.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { clipByGlobalNorm, skipNonFinite, withTransforms } from 'gradstab';
 * const optimizer = withTransforms(tf.train.adam(1e-3), skipNonFinite(), clipByGlobalNorm(1));
 * const w = tf.variable(tf.tensor1d([1, 2]));
 * optimizer.minimize(() => tf.sum(tf.mul(w, NaN)) as tf.Scalar); // NaN gradients: skipped
 * console.log(optimizer.skippedSteps, optimizer.iterations); // 1 0
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
  const zero = () => tf.scalar(0, 'int32');
  return {
    kind: 'skipNonFinite',
    config: { maxConsecutive },
    init: () => ({ consecutive: zero(), totalNonFinite: zero(), totalSkipped: zero() }),
    update: (grads, state) => {
      // Empty tensors hold nothing non-finite (and tf.all over nothing reads uninitialised memory on wasm).
      const tensors = Object.values(grads).filter((t) => t.size > 0);
      const finite = tensors.length === 0 ? tf.scalar(true, 'bool') : tf.all(tf.isFinite(flatConcat(tensors)));
      const bad = tf.cast(tf.logicalNot(finite), 'int32');
      const one = tf.scalar(1, 'int32');
      const consecutive = tf.mul(tf.add(state.consecutive as tf.Tensor, one), bad);
      const apply = tf.logicalOr(finite, tf.greater(consecutive, maxConsecutive));
      // The one read this transform is documented to make: the host must know whether to call the optimizer.
      const skip = apply.dataSync()[0] === 0;
      return {
        grads,
        state: {
          consecutive,
          totalNonFinite: tf.add(state.totalNonFinite as tf.Tensor, bad),
          totalSkipped: skip ? tf.add(state.totalSkipped as tf.Tensor, one) : (state.totalSkipped as tf.Tensor),
        },
        skip,
      };
    },
  };
}

registerBuiltInTransform('skipNonFinite', (c) => skipNonFinite({ maxConsecutive: c.maxConsecutive as number }), [
  'maxConsecutive',
]);
