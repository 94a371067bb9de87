import * as tf from '@tensorflow/tfjs-core';

/** Backends whose Tile kernel reads its input back (cpu) or is slow (wasm: 8 ms for 65k entries). */
const TILE_AVOIDED = new Set(['cpu', 'wasm']);

/**
 * `a` where the boolean scalar `condition` holds, else `b`, for tensors of one shape. tfjs's `where` broadcasts a
 * scalar condition with `broadcastTo`, whose cpu kernel (Tile) reads the condition back synchronously; there, a
 * logical AND with a `true` tensor of the full shape broadcasts without reading. On a GPU backend Tile is a shader
 * and `where` is used as it is. The full-shape condition is made once per shape when a `cache` is given (one step's
 * selections share it).
 */
export function selectWhere(
  condition: tf.Scalar,
  a: tf.Tensor,
  b: tf.Tensor,
  cache?: Map<string, tf.Tensor>,
): tf.Tensor {
  if (a.rank === 0 || !TILE_AVOIDED.has(tf.getBackend())) return tf.where(condition, a, b);
  const key = a.shape.join('x');
  let full = cache?.get(key);
  if (!full) {
    full = tf.logicalAnd(tf.ones(a.shape, 'bool'), condition);
    cache?.set(key, full);
  }
  return tf.where(full, a, b);
}
