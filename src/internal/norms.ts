import * as tf from '@tensorflow/tfjs-core';
import type { NormType } from '../transforms/types.js';

/** All tensors as one flat vector: one reduction over it costs a few kernels, whatever the number of variables. */
export function flatConcat(tensors: readonly tf.Tensor[]): tf.Tensor1D {
  // A reshape is a kernel launch even when it copies nothing: skip it for tensors that are already flat.
  const flat = tensors.map((t) => (t.rank === 1 ? t : tf.reshape(t, [-1])) as tf.Tensor1D);
  return flat.length === 1 ? (flat[0] as tf.Tensor1D) : tf.concat1d(flat);
}

/**
 * The p-norm of all entries of `x`, without float32 overflow.
 *
 * The textbook `sqrt(sum(x^2))` overflows to Infinity once |x| reaches ~1.8e19 and then clipping turns finite
 * gradients into NaN. Scaling by `m = max|x|` first (`m * ||x / m||`) keeps every intermediate <= the count of
 * entries. When m is 0, Infinity or NaN the scale is 1, so zeros give 0, an Infinity gives Infinity and a NaN
 * gives NaN, as PyTorch's `clip_grad_norm_` reports them.
 */
export function safeNorm(x: tf.Tensor, normType: NormType): tf.Scalar {
  return tf.tidy(() => {
    const abs = tf.abs(x);
    const m = tf.max(abs);
    if (normType === 'inf') {
      // max() ignores NaN on some backends; the sum of |x| is NaN exactly when an entry is NaN.
      return tf.where(tf.isNaN(tf.sum(abs)), tf.scalar(Number.NaN), m) as tf.Scalar;
    }
    const usable = tf.logicalAnd(tf.isFinite(m), tf.greater(m, 0));
    const scale = tf.where(usable, m, tf.onesLike(m));
    const scaled = tf.div(abs, scale);
    const reduced = normType === 1 ? tf.sum(scaled) : tf.sqrt(tf.sum(tf.square(scaled)));
    return tf.mul(scale, reduced) as tf.Scalar;
  });
}
