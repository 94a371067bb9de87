import * as tf from '@tensorflow/tfjs-core';
import type { LayerGroups } from './layer-groups.js';

/**
 * The figures per layer in the packed vector, in blocks: `[globalNorm, norm x L, maxAbs x L, nonFinite x L,
 * weightNorm x L, updateRatio x L]`, NaN where a figure is not measured this step.
 */
export const FIGURES = ['norm', 'maxAbs', 'nonFinite', 'weightNorm', 'updateRatio'] as const;

/** Where figure `figure` (an index into FIGURES) of layer `layer` sits in a packed vector for `layers` layers. */
export function packedIndex(figure: number, layer: number, layers: number): number {
  return 1 + figure * layers + layer;
}

/** One scalar per tensor, as a `[1, V]` row: a single stack, not a reshape per tensor (kernels cost time too). */
const rowOf = (scalars: tf.Tensor[]) => tf.expandDims(tf.stack(scalars), 0);

/**
 * Squared L2 norms of the tensors as a `[1, V]` row. `sum(square(g))`, measured against a `[1, n] x [n, 1]`
 * product: 1.6-3.2 vs 7.7-16 ms per step for the 6x256 MLP's gradients on cpu, 0.37-0.50 vs 0.42-0.64 on wasm.
 */
function squaredNorms(tensors: readonly tf.Tensor[]): tf.Tensor {
  return rowOf(tensors.map((t) => tf.sum(tf.square(t))));
}

/**
 * One step's figures, computed on the device and packed into one vector (layout: {@link packedIndex}). Per variable
 * it costs a square and a sum (the squared norm), an abs and a max (max |g|) and one full-size test (the count of
 * non-finite entries); the per-layer sums and maxima are then a few small ops on a layers x variables table,
 * whatever the number of variables. `weights` (the variables' current values) adds the weight norms; `previous` (their
 * values one step earlier) also the update ratio `||W - previous|| / ||W||`. Reads nothing.
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
    // membership[v][l] = 1 when variable v belongs to layer l.
    const membership: number[][] = [];
    groups.members.forEach((members, l) => {
      for (let k = 0; k < members.length; k++)
        membership.push(Array.from({ length: layers }, (_, j) => (j === l ? 1 : 0)));
    });
    const member = tf.cast(tf.transpose(tf.tensor2d(membership, [names.length, layers])), 'bool'); // [L, V]
    const zeros = tf.zeros(member.shape);
    // [1, V] -> [L, V] with each variable's value in its layer's row and 0 elsewhere. A select, not a product with
    // the membership matrix, so that a NaN stays in its own layer (NaN * 0 is NaN); a broadcasting add, not
    // tf.broadcastTo, whose cpu kernel (Tile) reads back synchronously.
    const spread = (values: tf.Tensor) => tf.where(member, tf.add(zeros, values), zeros);
    const sumPerLayer = (values: tf.Tensor) => tf.sum(spread(values), 1);

    const gs = names.map((n) => grads[n] as tf.Tensor);
    const sq = squaredNorms(gs);
    const maxAbs = rowOf(gs.map((g) => tf.max(tf.abs(g))));
    const finite = rowOf(gs.map((g) => tf.sum(tf.cast(tf.isFinite(g), 'float32'))));
    const sizes = tf.tensor2d([gs.map((g) => g.size)]);
    // Max over each layer's variables (|g| >= 0, so the zeros elsewhere do not change it).
    const layerMax = tf.max(spread(maxAbs), 1);

    let weightNorm = tf.fill([layers], Number.NaN);
    let updateRatio = tf.fill([layers], Number.NaN);
    const ws = weights ? names.map((n) => weights[n]) : [];
    if (ws.length > 0 && ws.every((w) => w !== undefined)) {
      weightNorm = tf.sqrt(sumPerLayer(squaredNorms(ws as tf.Tensor[])));
      const ps = previous ? names.map((n) => previous[n]) : [];
      if (ps.length > 0 && ps.every((p) => p !== undefined)) {
        const deltas = (ws as tf.Tensor[]).map((w, i) => tf.sub(w, ps[i] as tf.Tensor));
        updateRatio = tf.div(tf.sqrt(sumPerLayer(squaredNorms(deltas))), weightNorm);
      }
    }
    return tf.concat([
      tf.reshape(tf.sqrt(tf.sum(sq)), [1]),
      tf.sqrt(sumPerLayer(sq)),
      layerMax,
      sumPerLayer(tf.sub(sizes, finite)),
      weightNorm,
      updateRatio,
    ]) as tf.Tensor1D;
  });
}
