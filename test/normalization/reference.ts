import * as tf from '@tensorflow/tfjs';

/**
 * Batch normalization written the obvious way, with tf.moments and broadcasting, differentiated by tfjs's autodiff:
 * slow but plainly right on any axis, the yardstick for the fast closed form.
 */
export function referenceNormalize(
  x: tf.Tensor,
  gamma: tf.Tensor | null,
  beta: tf.Tensor | null,
  axis: number,
  epsilon: number,
  stats?: { mean: tf.Tensor; variance: tf.Tensor },
): tf.Tensor {
  const rank = x.rank;
  const ax = axis < 0 ? axis + rank : axis;
  const reduce = [...Array(rank).keys()].filter((i) => i !== ax);
  const shape = Array<number>(rank).fill(1);
  shape[ax] = x.shape[ax] as number;
  const m = stats ? tf.reshape(stats.mean, shape) : tf.moments(x, reduce, true).mean;
  const v = stats ? tf.reshape(stats.variance, shape) : tf.moments(x, reduce, true).variance;
  let y = tf.div(tf.sub(x, m), tf.sqrt(tf.add(v, epsilon)));
  if (gamma) y = tf.mul(y, tf.reshape(gamma, shape));
  if (beta) y = tf.add(y, tf.reshape(beta, shape));
  return y;
}

/** Batch mean and biased variance per channel, `[C]`. */
export function referenceMoments(x: tf.Tensor, axis: number): { mean: tf.Tensor; variance: tf.Tensor } {
  const ax = axis < 0 ? axis + x.rank : axis;
  const reduce = [...Array(x.rank).keys()].filter((i) => i !== ax);
  return tf.moments(x, reduce);
}
