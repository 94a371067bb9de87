import * as tf from '@tensorflow/tfjs-core';
import type { LayerGroups } from './layer-groups.js';

/** Values per layer in the packed vector: norm, max |g|, non-finite count, weight norm, update ratio. */
export const PER_LAYER = 5;

/** The squared L2 norm of `t` as a [1, n] x [n, 1] product: one kernel that writes no full-size tensor. */
function squaredNorm(t: tf.Tensor): tf.Tensor {
  const flat = tf.reshape(t, [1, -1]);
  return tf.reshape(tf.matMul(flat, flat, false, true), []);
}

/** Sum of scalars (0 for none). */
function total(parts: readonly tf.Tensor[]): tf.Tensor {
  return parts.length === 0
    ? tf.scalar(0)
    : parts.length === 1
      ? (parts[0] as tf.Tensor)
      : tf.addN(parts as tf.Tensor[]);
}

/** Max of scalars. */
function largest(parts: readonly tf.Tensor[]): tf.Tensor {
  return parts.reduce((a, b) => tf.maximum(a, b));
}

/**
 * One step's figures, computed on the device and packed into one vector: `[globalNorm, then per layer: norm, max
 * |g|, non-finite count, weight norm, update ratio]`, NaN where a figure is not measured this step. `weights` (the
 * variables' current values) gives the weight norm; `previous` (their values one step earlier) also gives the
 * update ratio `||W - previous|| / ||W||`. Costs per variable one product (the norm), two reductions (max |g|) and
 * one full-size test (the non-finite count); reads nothing.
 */
export function packStepStats(
  grads: tf.NamedTensorMap,
  groups: LayerGroups,
  weights?: tf.NamedTensorMap,
  previous?: tf.NamedTensorMap,
): tf.Tensor1D {
  return tf.tidy(() => {
    const nan: tf.Tensor = tf.scalar(Number.NaN);
    const squares: tf.Tensor[] = [];
    const row: tf.Tensor[] = [];
    groups.members.forEach((names) => {
      const gs = names.map((n) => grads[n] as tf.Tensor);
      const sq = total(gs.map(squaredNorm));
      squares.push(sq);
      const maxAbs = largest(gs.map((g) => tf.maximum(tf.max(g), tf.neg(tf.min(g)))));
      const nonFinite = total(gs.map((g) => tf.sub(g.size, tf.sum(tf.cast(tf.isFinite(g), 'float32')))));
      let weightNorm = nan;
      let updateRatio = nan;
      const ws = weights ? names.map((n) => weights[n]) : [];
      if (ws.length > 0 && ws.every((w) => w !== undefined)) {
        weightNorm = tf.sqrt(total((ws as tf.Tensor[]).map(squaredNorm)));
        const ps = previous ? names.map((n) => previous[n]) : [];
        if (ps.length > 0 && ps.every((p) => p !== undefined)) {
          const delta = tf.sqrt(total((ws as tf.Tensor[]).map((w, i) => squaredNorm(tf.sub(w, ps[i] as tf.Tensor)))));
          updateRatio = tf.div(delta, weightNorm);
        }
      }
      row.push(tf.sqrt(sq), maxAbs, nonFinite, weightNorm, updateRatio);
    });
    return tf.stack([tf.sqrt(total(squares)), ...row]) as tf.Tensor1D;
  });
}
