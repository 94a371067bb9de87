import * as tf from '@tensorflow/tfjs-core';
import { fail } from '../internal/validate.js';

/**
 * Checks what an activation function was given: a tf.Tensor of dtype float32. Integer and boolean tensors are
 * refused rather than cast, because their gradients would be silently zero or missing.
 */
export function floatTensor<T extends tf.Tensor>(fn: string, x: T): T {
  if (!(x instanceof tf.Tensor)) fail(fn, 'x must be a tf.Tensor', x);
  if (x.dtype !== 'float32') fail(fn, 'x must be a float32 tensor', x);
  return x;
}
