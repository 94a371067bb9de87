import type * as tf from '@tensorflow/tfjs-core';

/**
 * Host-side copies of small integer state (step counters) that a transform needs on the host to decide what to do,
 * such as whether to skip a step. Keyed by the tensor's data buffer: the state variable a pipeline assigns the new
 * value to shares that buffer, so the copy stays found from step to step without reading the device. A buffer the
 * mirror has not seen (state just restored from a saved model) is read once, synchronously.
 */
const known = new WeakMap<object, number>();

/** Records that `t` (a scalar) holds `value`. Returns `t`. */
export function remember<T extends tf.Tensor>(t: T, value: number): T {
  known.set(t.dataId, value);
  return t;
}

/** The value of the scalar `t`: from the mirror, or read once from the device if `t` was never remembered. */
export function hostValue(t: tf.Tensor): number {
  const cached = known.get(t.dataId);
  if (cached !== undefined) return cached;
  const read = t.dataSync()[0] as number;
  known.set(t.dataId, read);
  return read;
}
