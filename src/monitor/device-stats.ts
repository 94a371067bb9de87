import * as tf from '@tensorflow/tfjs-core';
import { StepStats } from '../transforms/step-stats.js';
import type { LayerGroups } from './layer-groups.js';
import type { LayerStepStats } from './types.js';

/**
 * One step's figures are computed on the device, per variable, and packed into one vector that is read back later
 * in one asynchronous `data()` call; the host groups them by layer and combines them in float64, where no norm of a
 * float32 tensor overflows or underflows.
 *
 * Every step packs one figure per variable: its sum of squares, enough to give the global norm (a spike), each
 * layer's norm (vanishing or exploding layers), and which layers hold a NaN or an Infinity (those propagate through
 * the sum). It is exact for entries within about 1e-19 to 1.8e19 in magnitude; beyond that the squares overflow
 * (Infinity) or underflow. A recorded step packs the overflow-safe norm parts instead (they include the max |g| it
 * reports), as does any step where a transform of the same step (a clip, `skipNonFinite`) computed them, at no cost
 * then. A recorded step adds per variable the exact count of non-finite entries and, when the weights are measured,
 * their norm parts and those of the update the optimizer applied at the step before.
 *
 * Layout, in the batch order of the variables' figures (see {@link PackLayout.order}), V variables: `[sum of squares
 * x V]`, or `[max x V, unit x V, squares x V]` (the norm parts, max |g| among them) when shared or recorded; then on
 * a recorded step `[non-finite count x V]`, and `[max, unit, squares] x V` for the weights and again for the update
 * when measured.
 */
export interface PackLayout {
  /** Position `i` of each `[V]` block is the variable at `order[i]` of the step's gradient names. */
  readonly order: readonly number[];
  /** Whether the every-step block holds the norm parts (max, unit, squares) instead of plain sums of squares. */
  readonly parts: boolean;
  readonly recorded: boolean;
  readonly weights: boolean;
  readonly update: boolean;
}

/** The packed vector's length. */
export function packedLength(layout: PackLayout): number {
  const v = layout.order.length;
  const recorded = layout.recorded ? 1 + (layout.weights ? 3 : 0) + (layout.update ? 3 : 0) : 0;
  return v * ((layout.parts ? 3 : 1) + recorded);
}

/** What a recorded step measures besides the every-step figures. */
export interface RecordedFigures {
  /** The variables' current values (before this step's update), in the order of the gradients, to measure the weight norms. */
  readonly weights?: readonly tf.Tensor[];
  /** Their values one step earlier, to measure the update the optimizer applied at the previous step. */
  readonly previous?: readonly tf.Tensor[];
}

/**
 * One step's figures, on the device, packed into one vector (layout above); `recorded` adds a recorded step's.
 * Every step costs a square and a sum per batch of gradients (see `StepStats`), or nothing when the step's transforms
 * computed the norm parts; a recorded step costs the norm parts, a count of non-finite entries and, when measured,
 * the weights' and the update's norm parts. Reads nothing.
 */
export function packStepStats(
  gradients: readonly tf.Tensor[],
  stats: StepStats,
  recorded?: RecordedFigures,
): { packed: tf.Tensor1D; layout: PackLayout } {
  const order = stats.plan(gradients).order;
  // A recorded step measures max |g| anyway: the norm parts then cost a scale, a square and a sum, as the plain sum
  // of squares would, and are exact for any finite gradient.
  const parts = recorded !== undefined || stats.hasParts(gradients);
  const weights = recorded?.weights !== undefined;
  const update = weights && recorded?.previous !== undefined;
  const packed = tf.tidy(() => {
    if (gradients.length === 0) return tf.zeros([0]) as tf.Tensor1D;
    const blocks: tf.Tensor1D[] = [];
    const addParts = (p: { max: tf.Tensor1D; unit: tf.Tensor1D; squares: tf.Tensor1D }) => {
      blocks.push(p.max, p.unit, p.squares);
    };
    if (parts) addParts(stats.parts(gradients));
    else blocks.push(stats.squares(gradients));
    if (recorded) {
      blocks.push(stats.nonFiniteCounts(gradients));
      if (recorded.weights) {
        const own = new StepStats(false); // the weights' figures are this monitor's alone
        addParts(own.parts(recorded.weights));
        const previous = recorded.previous;
        if (previous) addParts(own.parts(recorded.weights.map((w, i) => tf.sub(w, previous[i] as tf.Tensor))));
      }
    }
    return tf.concat(blocks) as tf.Tensor1D;
  });
  return { packed, layout: { order, parts, recorded: recorded !== undefined, weights, update } };
}

/** A tensor's L2 norm from its parts: `unit * sqrt(squares)`, or its max when that is 0, ±Infinity or NaN. */
function normOfParts(max: number, unit: number, squares: number): number {
  return Number.isFinite(max) && max > 0 ? unit * Math.sqrt(squares) : max;
}

/** Per-layer sums of squared norms, in float64, and the same over everything. */
class LayerSums {
  readonly layer: number[];
  total = 0;
  constructor(layers: number) {
    this.layer = new Array<number>(layers).fill(0);
  }
  add(l: number, norm: number): void {
    const square = norm * norm; // float64: the square of any float32 norm is finite
    this.layer[l] = (this.layer[l] as number) + square;
    this.total += square;
  }
}

/**
 * A step's figures read from a packed vector at `offset`: the global norm and the layers' figures, combined in
 * float64. On a step that is not recorded, a layer's `nonFinite` is 1 when its norm is NaN or ±Infinity (it holds such
 * an entry) and 0 otherwise, and its `maxAbs` is NaN unless the norm parts were shared: both are measured on recorded
 * steps.
 */
export function unpackStepStats(
  data: ArrayLike<number>,
  offset: number,
  layout: PackLayout,
  groups: LayerGroups,
): { globalNorm: number; layers: LayerStepStats[] } {
  const v = layout.order.length;
  const L = groups.layers.length;
  let cursor = offset;
  const block = () => {
    const start = cursor;
    cursor += v;
    return (i: number) => data[start + i] as number;
  };
  const layerOf = (i: number) => groups.layerIndex[layout.order[i] as number] as number;
  const sums = new LayerSums(L);
  const maxAbs = new Array<number>(L).fill(Number.NaN);
  const maxOf = (get: (i: number) => number) => {
    const out = new Array<number>(L).fill(0);
    for (let i = 0; i < v; i++) {
      const l = layerOf(i);
      const m = get(i);
      out[l] = Number.isNaN(m) || Number.isNaN(out[l] as number) ? Number.NaN : Math.max(out[l] as number, m);
    }
    return out;
  };
  const partsNorms = () => {
    const [max, unit, squares] = [block(), block(), block()];
    return { max, norm: (i: number) => normOfParts(max(i), unit(i), squares(i)) };
  };
  if (layout.parts) {
    const { max, norm } = partsNorms();
    for (let i = 0; i < v; i++) sums.add(layerOf(i), norm(i));
    maxAbs.splice(0, L, ...maxOf(max));
  } else {
    const squares = block();
    for (let i = 0; i < v; i++) {
      const l = layerOf(i);
      const s = squares(i);
      sums.layer[l] = (sums.layer[l] as number) + s;
      sums.total += s;
    }
  }
  const layerNorms = sums.layer.map(Math.sqrt);
  let nonFinite: number[] = layerNorms.map((n) => (Number.isFinite(n) ? 0 : 1));
  let weightNorms: number[] | undefined;
  let updateNorms: number[] | undefined;
  if (layout.recorded) {
    const counts = block();
    nonFinite = new Array<number>(L).fill(0);
    for (let i = 0; i < v; i++) nonFinite[layerOf(i)] = (nonFinite[layerOf(i)] as number) + counts(i);
    const layerNormsOf = () => {
      const { norm } = partsNorms();
      const s = new LayerSums(L);
      for (let i = 0; i < v; i++) s.add(layerOf(i), norm(i));
      return s.layer.map(Math.sqrt);
    };
    if (layout.weights) weightNorms = layerNormsOf();
    if (layout.update) updateNorms = layerNormsOf();
  }
  return {
    globalNorm: Math.sqrt(sums.total),
    layers: groups.layers.map((layer, l): LayerStepStats => {
      const weightNorm = weightNorms?.[l];
      const updateNorm = updateNorms?.[l];
      return {
        layer,
        norm: layerNorms[l] as number,
        maxAbs: maxAbs[l] as number,
        nonFinite: nonFinite[l] as number,
        ...(weightNorm === undefined ? {} : { weightNorm }),
        ...(updateNorm === undefined || weightNorm === undefined ? {} : { updateRatio: updateNorm / weightNorm }),
      };
    }),
  };
}
