import * as tf from '@tensorflow/tfjs-core';

/**
 * `x * s` for a scalar tensor `s`, by the fastest kernel of the active backend. tfjs's cpu backend runs a binary op
 * with a scalar operand through its generic broadcasting loop (an index computation and a closure call per element,
 * about 4 times a unary op), while its fused batch-norm kernel, with mean 0, variance 1 and epsilon 0, is exactly
 * `x * s` in one tight loop: the product of two float32 values is exact in float64, so the result is the same
 * float32. Elsewhere `tf.mul` is the fast path. NaN and ±Infinity propagate alike (the fused kernel turns -0 into 0).
 */
export function scaleBy(x: tf.Tensor, s: tf.Scalar): tf.Tensor {
  if (tf.getBackend() !== 'cpu' || x.size === 0 || x.rank > 4) return tf.mul(x, s);
  return tf.tidy(() => {
    const one = tf.ones([1]);
    return tf.batchNorm(x, tf.zeros([1]), one, undefined, tf.reshape(s, [1]), 0);
  });
}
