import * as tf from '@tensorflow/tfjs-core';

/**
 * `momentum * moving + (1 - momentum) * batch`, written as Keras does (`moving - (moving - batch) * (1 - momentum)`)
 * so that momentum 0 gives the batch value exactly.
 */
export function movingAverage(moving: tf.Tensor, batch: tf.Tensor, momentum: number): tf.Tensor {
  return tf.tidy(() => tf.sub(moving, tf.mul(tf.sub(moving, batch), 1 - momentum)));
}
