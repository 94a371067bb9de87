import * as tf from '@tensorflow/tfjs-core';

/**
 * `a` where the boolean scalar `condition` holds, else `b`, for tensors of one shape. tfjs's `where` broadcasts a
 * scalar condition with `broadcastTo`, whose cpu kernel (Tile) reads the condition back synchronously; a logical AND
 * with a `true` tensor of the full shape broadcasts without reading. The full-shape condition is made once per shape
 * when a `cache` is given (one step's selections share it).
 */
export function selectWhere(
  condition: tf.Scalar,
  a: tf.Tensor,
  b: tf.Tensor,
  cache?: Map<string, tf.Tensor>,
): tf.Tensor {
  if (a.rank === 0) return tf.where(condition, a, b);
  const key = a.shape.join('x');
  let full = cache?.get(key);
  if (!full) {
    full = tf.logicalAnd(tf.ones(a.shape, 'bool'), condition);
    cache?.set(key, full);
  }
  return tf.where(full, a, b);
}
