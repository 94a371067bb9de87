import * as tf from '@tensorflow/tfjs-core';

/**
 * L2 norms of groups of tensors (all of them together, or one per layer) from each tensor's norm parts, without
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

/**
 * Tensors grouped by layer through a `[L, V]` membership table, `owner[v]` being tensor v's layer. Sums and maxima
 * spread each tensor's value into its layer's row with a select (not a product with the membership matrix, so that a
 * NaN stays in its own layer: NaN * 0 is NaN) after a broadcasting add (not tf.broadcastTo, whose cpu kernel, Tile,
 * reads back synchronously).
 */
export function layerGrouping(owner: readonly number[], layers: number): Grouping {
  const variables = owner.length;
  const member = tf.tensor2d(
    Array.from({ length: layers }, (_, l) => owner.map((o) => o === l)),
    [layers, variables],
    'bool',
  );
  // [V, L] one-hot: a tensor's layer value by a product (the values handed back, scales, are finite).
  const oneHot = tf.tensor2d(
    owner.map((o) => Array.from({ length: layers }, (_, l) => (o === l ? 1 : 0))),
    [variables, layers],
  );
  const zeros = tf.zeros(member.shape);
  const spread = (v: tf.Tensor1D) => tf.where(member, tf.add(zeros, v), zeros);
  return {
    max: (v) => tf.max(spread(v), 1) as tf.Tensor1D, // values >= 0 here, so the zeros elsewhere change nothing
    sum: (v) => tf.sum(spread(v), 1) as tf.Tensor1D,
    back: (g) => tf.reshape(tf.matMul(oneHot, tf.reshape(g, [layers, 1])), [variables]) as tf.Tensor1D,
  };
}

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
