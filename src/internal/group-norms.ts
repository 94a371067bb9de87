import * as tf from '@tensorflow/tfjs-core';

/**
 * L2 norms of groups of tensors (all of them together, or each on its own) from each tensor's norm parts, without
 * ever forming a square that overflows float32. A tensor's parts, as `[V]` vectors over the tensors: `max = max|x|`,
 * the `unit` its squares were measured in (`max`, raised to float32's smallest normal number) and `squares =
 * sum((x / unit)^2)`.
 */
export type NormPartVectors = {
  readonly max: tf.Tensor1D;
  readonly unit: tf.Tensor1D;
  readonly squares: tf.Tensor1D;
};

/** How a set of groups reduces a `[V]` vector over the tensors to `[G]`, and hands each tensor its group's value. */
export interface Grouping {
  max(values: tf.Tensor1D): tf.Tensor1D;
  sum(values: tf.Tensor1D): tf.Tensor1D;
  /** Each tensor's group's value, `[G]` to `[V]` (or a `[1]` that broadcasts). */
  back(perGroup: tf.Tensor1D): tf.Tensor1D;
}

/** All tensors as one group. */
export const wholeGrouping: Grouping = {
  max: (v) => tf.max(v, 0, true) as tf.Tensor1D,
  sum: (v) => tf.sum(v, 0, true) as tf.Tensor1D,
  back: (g) => g,
};

/** Each tensor as its own group. */
export const eachGrouping: Grouping = {
  max: (v) => v,
  sum: (v) => v,
  back: (g) => g,
};

/**
 * The L2 norm of each group as a scale and a reduced value (`[G]` each): the scale is the largest `unit` of the
 * group's tensors whose max is finite and > 0 (1 if none), the reduced value the norm of the group divided by it. A
 * group holding an Infinity reduces to Infinity, one holding a NaN to NaN; zeros give 0.
 */
export function groupNorms(parts: NormPartVectors, grouping: Grouping): { scale: tf.Tensor1D; reduced: tf.Tensor1D } {
  const { max, unit, squares } = parts;
  const usable = tf.logicalAnd(tf.isFinite(max), tf.greater(max, 0));
  const largest = grouping.max(tf.where(usable, unit, tf.zerosLike(unit)) as tf.Tensor1D);
  const scale = tf.where(tf.greater(largest, 0), largest, tf.onesLike(largest)) as tf.Tensor1D;
  // Each tensor's sum of squares at its group's scale; a tensor whose max is 0, Infinity or NaN adds that.
  const ratio = tf.div(unit, grouping.back(scale));
  const contribution = tf.where(usable, tf.mul(tf.square(ratio), squares), max) as tf.Tensor1D;
  return { scale, reduced: tf.sqrt(grouping.sum(contribution)) as tf.Tensor1D };
}
