import * as tf from '@tensorflow/tfjs-core';
import type { LayerGroups } from './layer-groups.js';
import type { LayerStepStats } from './types.js';

/**
 * One step's figures are computed on the device and packed into one vector, read back later in one asynchronous
 * `data()` call. Norms travel as two numbers, a scale and the norm of the values divided by it, and are multiplied on
 * the host in float64: gradients of 1e20 have a norm of 1.4e20 although their squares overflow float32, 1e30 too,
 * and those of 1e-25 are not flushed to 0 although their squares are below float32's range.
 *
 * Layout, for L layers: `[global scale, global reduced, then per layer (L each): norm scale, norm reduced, max |g|,
 * non-finite count, weight scale, weight reduced, update scale, update reduced]`; the weight and update figures are
 * NaN on steps that do not measure them.
 */
const PER_LAYER = 8;

/** The packed vector's length for `layers` layers. */
export function packedLength(layers: number): number {
  return 2 + PER_LAYER * layers;
}

/** One scalar per tensor as a `[V]` vector: one stack, not a reshape per tensor (kernels cost time too). */
const vectorOf = (scalars: tf.Tensor[]) => tf.stack(scalars);

/**
 * Per tensor, `max|x|` and `sum((x / max|x|)^2)` as two `[V]` vectors: the parts of an L2 norm that never overflow.
 * An empty tensor gives 0 and 0 (a reduction over nothing is uninitialised memory on wasm). Cost per tensor: abs,
 * max, div, square, sum.
 */
function normParts(tensors: readonly tf.Tensor[]): { max: tf.Tensor1D; squares: tf.Tensor1D } {
  const max: tf.Tensor[] = [];
  const squares: tf.Tensor[] = [];
  for (const t of tensors) {
    if (t.size === 0) {
      max.push(tf.scalar(0));
      squares.push(tf.scalar(0));
      continue;
    }
    const abs = tf.abs(t);
    const m = tf.max(abs);
    max.push(m);
    // Divided by m itself: 0/0 and x/Infinity are cleaned up per layer, where the scale is chosen.
    squares.push(tf.sum(tf.square(tf.div(abs, m))));
  }
  return { max: vectorOf(max) as tf.Tensor1D, squares: vectorOf(squares) as tf.Tensor1D };
}

/** How a set of groups of variables reduces a `[V]` vector: per group `[G]`, and back from groups to variables. */
interface Grouping {
  max(values: tf.Tensor1D): tf.Tensor1D;
  sum(values: tf.Tensor1D): tf.Tensor1D;
  /** Each variable's group's value, `[G]` -> `[V]` (or a `[1]` that broadcasts). */
  back(perGroup: tf.Tensor1D): tf.Tensor1D;
}

/** All variables as one group. */
const wholeGrouping: Grouping = {
  max: (v) => tf.max(v, 0, true) as tf.Tensor1D,
  sum: (v) => tf.sum(v, 0, true) as tf.Tensor1D,
  back: (g) => g,
};

/**
 * Variables grouped by layer, through a [L, V] membership table. Sums and maxima spread each variable's value into
 * its layer's row with a select (not a product with the membership matrix, so that a NaN stays in its own layer:
 * NaN * 0 is NaN) after a broadcasting add (not tf.broadcastTo, whose cpu kernel, Tile, reads back synchronously).
 */
function layerGrouping(groups: LayerGroups, variables: number): Grouping {
  const layers = groups.layers.length;
  const owner = groups.members.flatMap((members, l) => members.map(() => l));
  const member = tf.tensor2d(
    groups.layers.map((_, l) => owner.map((o) => o === l)),
    [layers, variables],
    'bool',
  );
  // [V, L] one-hot: a variable's layer value by a product (the per-layer scales it carries are finite).
  const oneHot = tf.tensor2d(
    owner.map((o) => groups.layers.map((_, l) => (o === l ? 1 : 0))),
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
 * The L2 norms of groups of tensors from their parts, as a scale and a reduced value per group: the scale is the
 * largest finite, non-zero `max|x|` in the group (1 if none), and the reduced value the norm of the group divided by
 * it. A group holding an Infinity reduces to Infinity, one holding a NaN to NaN; zeros give 0.
 */
function groupNorms(
  parts: { max: tf.Tensor1D; squares: tf.Tensor1D },
  grouping: Grouping,
): { scale: tf.Tensor1D; reduced: tf.Tensor1D } {
  const { max, squares } = parts;
  const usable = tf.logicalAnd(tf.isFinite(max), tf.greater(max, 0));
  const largest = grouping.max(tf.where(usable, max, tf.zerosLike(max)) as tf.Tensor1D);
  const scale = tf.where(tf.greater(largest, 0), largest, tf.onesLike(largest)) as tf.Tensor1D;
  // Each variable's sum of squares at its group's scale; a variable whose max is 0, Infinity or NaN adds that.
  const ratio = tf.div(max, grouping.back(scale));
  const contribution = tf.where(usable, tf.mul(tf.square(ratio), squares), max) as tf.Tensor1D;
  return { scale, reduced: tf.sqrt(grouping.sum(contribution)) as tf.Tensor1D };
}

/**
 * One step's figures, computed on the device and packed into one vector (layout above). Per variable: abs, max, div,
 * square and sum (the norm's parts; max |g| comes with them) and one full-size test (the count of non-finite
 * entries); the per-layer sums and maxima are then a few small ops on a layers x variables table, whatever the number
 * of variables. `weights` (the variables' current values) adds the weight norms; `previous` (their values one step
 * earlier) also the norm of the update `W - previous`. Reads nothing.
 */
export function packStepStats(
  grads: tf.NamedTensorMap,
  groups: LayerGroups,
  weights?: tf.NamedTensorMap,
  previous?: tf.NamedTensorMap,
): tf.Tensor1D {
  return tf.tidy(() => {
    const names = groups.members.flat();
    const layers = groups.layers.length;
    if (names.length === 0) return tf.tensor1d([1, 0]); // no gradient at all: a global norm of 0
    const byLayer = layerGrouping(groups, names.length);

    const gs = names.map((n) => grads[n] as tf.Tensor);
    const parts = normParts(gs);
    const global = groupNorms(parts, wholeGrouping);
    const layer = groupNorms(parts, byLayer);
    const maxAbs = byLayer.max(parts.max); // a NaN stays
    const counts = gs.map((g) => (g.size === 0 ? tf.scalar(0, 'int32') : tf.sum(tf.logicalNot(tf.isFinite(g)))));
    const nonFinite = byLayer.sum(tf.cast(vectorOf(counts), 'float32') as tf.Tensor1D);

    const nan = tf.fill([layers], Number.NaN) as tf.Tensor1D;
    let weight = { scale: nan, reduced: nan };
    let update = { scale: nan, reduced: nan };
    const ws = weights ? names.map((n) => weights[n]) : [];
    if (ws.length > 0 && ws.every((w) => w !== undefined)) {
      weight = groupNorms(normParts(ws as tf.Tensor[]), byLayer);
      const ps = previous ? names.map((n) => previous[n]) : [];
      if (ps.length > 0 && ps.every((p) => p !== undefined)) {
        const deltas = (ws as tf.Tensor[]).map((w, i) => tf.sub(w, ps[i] as tf.Tensor));
        update = groupNorms(normParts(deltas), byLayer);
      }
    }
    return tf.concat([
      global.scale,
      global.reduced,
      layer.scale,
      layer.reduced,
      maxAbs,
      nonFinite,
      weight.scale,
      weight.reduced,
      update.scale,
      update.reduced,
    ]) as tf.Tensor1D;
  });
}

/** A step's figures read from a packed vector at `offset`: the global norm and the layers' figures. */
export function unpackStepStats(
  data: ArrayLike<number>,
  offset: number,
  layers: readonly string[],
): { globalNorm: number; layers: LayerStepStats[] } {
  const L = layers.length;
  const at = (i: number) => data[offset + i] as number;
  const block = (k: number, j: number) => at(2 + k * L + j);
  // Multiplied in float64: the product of the two parts may exceed float32's range.
  const norm = (scale: number, reduced: number) => (reduced === 0 ? 0 : scale * reduced);
  return {
    globalNorm: norm(at(0), at(1)),
    layers: layers.map((layer, j): LayerStepStats => {
      const weightNorm = norm(block(4, j), block(5, j));
      const updateNorm = norm(block(6, j), block(7, j));
      return {
        layer,
        norm: norm(block(0, j), block(1, j)),
        maxAbs: block(2, j),
        nonFinite: block(3, j),
        ...(Number.isNaN(weightNorm) ? {} : { weightNorm }),
        ...(Number.isNaN(updateNorm) ? {} : { updateRatio: updateNorm / weightNorm }),
      };
    }),
  };
}
