import * as tf from '@tensorflow/tfjs-core';
import { groupNorms, layerGrouping } from '../internal/group-norms.js';
import { StepStats } from '../transforms/step-stats.js';
import type { LayerGroups } from './layer-groups.js';
import type { LayerStepStats } from './types.js';

/**
 * One step's figures are computed on the device and packed into one vector, read back later in one asynchronous
 * `data()` call. Norms travel as two numbers, a scale and the norm of the values divided by it, and are multiplied on
 * the host in float64: gradients of 1e20 have a norm of 1.4e20 although their squares overflow float32, 1e30 too,
 * and those of 1e-25 are not flushed to 0 although their squares are below float32's range.
 *
 * Every step: the global norm and, per layer, the gradient norm and max |g|, all from each gradient's norm parts,
 * which the step's transforms share (a clip after the tap computes nothing more). That is enough to catch a non-finite
 * step (NaN and Infinity reach the norms), which layers hold it, a spike of the global norm, and vanishing or
 * exploding layers. On a recorded step also: per layer the exact count of non-finite entries and, when the weights
 * are measured, the weight norm and the norm of the update the optimizer applied at the step before.
 *
 * Layout, for L layers: `[global scale, global reduced, norm scale x L, norm reduced x L, max |g| x L]`, then on a
 * recorded step `[non-finite count x L, weight scale x L, weight reduced x L, update scale x L, update reduced x L]`
 * (the weight and update figures NaN when not measured).
 */
const EVERY_STEP = 3;
const RECORDED = 5;

/** The packed vector's length for `layers` layers. */
export function packedLength(layers: number, recorded: boolean): number {
  return 2 + (EVERY_STEP + (recorded ? RECORDED : 0)) * layers;
}

/** What a recorded step measures besides the every-step figures. */
export interface RecordedFigures {
  /** The variables' current values (before this step's update), to measure the weight norms. */
  readonly weights?: tf.NamedTensorMap;
  /** Their values one step earlier, to measure the update the optimizer applied at the previous step. */
  readonly previous?: tf.NamedTensorMap;
}

/**
 * One step's figures, on the device, packed into one vector (layout above); `recorded` adds a recorded step's.
 * Per gradient, on every step: its norm parts (abs, max, scale, square, sum) from `stats`, usually already computed
 * by a transform of the step; the rest is a few small ops on `[V]` vectors and a layers x variables table. A recorded
 * step adds per gradient a count of its non-finite entries, and per measured weight its norm parts and the update's.
 * Reads nothing.
 */
export function packStepStats(
  grads: tf.NamedTensorMap,
  groups: LayerGroups,
  stats: StepStats,
  recorded?: RecordedFigures,
): tf.Tensor1D {
  return tf.tidy(() => {
    const names = groups.members.flat();
    const layers = groups.layers.length;
    if (names.length === 0) return tf.tensor1d([1, 0]); // no gradient at all: a global norm of 0
    const owner = groups.members.flatMap((members, l) => members.map(() => l));
    const byLayer = layerGrouping(owner, layers);

    const gs = names.map((n) => grads[n] as tf.Tensor);
    const global = stats.globalNorm(gs);
    const vectors = stats.vectors(gs);
    const layer = groupNorms(vectors, byLayer);
    const maxAbs = byLayer.max(vectors.max); // a NaN stays
    const everyStep = [
      tf.reshape(global.scale, [1]),
      tf.reshape(global.reduced, [1]),
      layer.scale,
      layer.reduced,
      maxAbs,
    ];
    if (!recorded) return tf.concat(everyStep) as tf.Tensor1D;

    const counts = gs.map((g) => (g.size === 0 ? tf.scalar(0, 'int32') : tf.sum(tf.logicalNot(tf.isFinite(g)))));
    const nonFinite = byLayer.sum(tf.cast(tf.stack(counts), 'float32') as tf.Tensor1D);
    const nan = tf.fill([layers], Number.NaN) as tf.Tensor1D;
    let weight = { scale: nan, reduced: nan };
    let update = { scale: nan, reduced: nan };
    const ws = recorded.weights ? names.map((n) => recorded.weights?.[n]) : [];
    if (ws.length > 0 && ws.every((w) => w !== undefined)) {
      const own = new StepStats(false); // the weights' figures are this monitor's alone
      weight = groupNorms(own.vectors(ws as tf.Tensor[]), byLayer);
      const ps = recorded.previous ? names.map((n) => recorded.previous?.[n]) : [];
      if (ps.length > 0 && ps.every((p) => p !== undefined)) {
        const deltas = (ws as tf.Tensor[]).map((w, i) => tf.sub(w, ps[i] as tf.Tensor));
        update = groupNorms(own.vectors(deltas), byLayer);
      }
    }
    return tf.concat([
      ...everyStep,
      nonFinite,
      weight.scale,
      weight.reduced,
      update.scale,
      update.reduced,
    ]) as tf.Tensor1D;
  });
}

/**
 * A step's figures read from a packed vector at `offset`: the global norm and the layers' figures. On a step that is
 * not recorded, a layer's `nonFinite` is 1 when its norm is NaN or ±Infinity (it holds such an entry) and 0
 * otherwise: the count is measured on recorded steps.
 */
export function unpackStepStats(
  data: ArrayLike<number>,
  offset: number,
  layers: readonly string[],
  recorded: boolean,
): { globalNorm: number; layers: LayerStepStats[] } {
  const L = layers.length;
  const at = (i: number) => data[offset + i] as number;
  const block = (k: number, j: number) => at(2 + k * L + j);
  // Multiplied in float64: the product of the two parts may exceed float32's range.
  const norm = (scale: number, reduced: number) => (reduced === 0 ? 0 : scale * reduced);
  return {
    globalNorm: norm(at(0), at(1)),
    layers: layers.map((layer, j): LayerStepStats => {
      const layerNorm = norm(block(0, j), block(1, j));
      if (!recorded) {
        return { layer, norm: layerNorm, maxAbs: block(2, j), nonFinite: Number.isFinite(layerNorm) ? 0 : 1 };
      }
      const weightNorm = norm(block(4, j), block(5, j));
      const updateNorm = norm(block(6, j), block(7, j));
      return {
        layer,
        norm: layerNorm,
        maxAbs: block(2, j),
        nonFinite: block(3, j),
        ...(Number.isNaN(weightNorm) ? {} : { weightNorm }),
        ...(Number.isNaN(updateNorm) ? {} : { updateRatio: updateNorm / weightNorm }),
      };
    }),
  };
}
