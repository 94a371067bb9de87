import * as tf from '@tensorflow/tfjs-core';
import { eachGrouping, groupNorms, type NormPartVectors, wholeGrouping } from '../internal/group-norms.js';
import { setNamed } from '../internal/map-grads.js';
import { applyClip, type ClipFactor, type ScaledNorm } from '../internal/norms.js';
import { scaleBy } from '../internal/scale-by.js';
import {
  type BatchPlan,
  batchMatrix,
  joinBatch,
  joinedShape,
  planBatches,
  splitBatch,
} from '../internal/tensor-batches.js';
import type { UpdateContext } from './types.js';

/** float32's smallest normal number: the reciprocal of anything smaller overflows. */
const MIN_NORMAL = 1.1754943508222875e-38;

/** A clip factor per tensor: `[V]` vectors in layout order (see {@link BatchPlan}). */
export type ClipFactors = ClipFactor<tf.Tensor1D>;

/** One list of tensors as the step's figures see it: its batches and what was computed for it. */
interface Layout {
  readonly tensors: readonly tf.Tensor[];
  readonly plan: BatchPlan;
  joined?: tf.Tensor[];
  matrices?: tf.Tensor2D[];
  parts?: NormPartVectors;
  squares?: tf.Tensor1D;
  global?: ScaledNorm;
  each?: ScaledNorm<tf.Tensor1D>;
}

/**
 * Rows of `m` (`[k, n]`) divided by `unit` (`[k]`): on cpu a multiply by the reciprocal (a division by a tensor runs
 * through tfjs-cpu's generic broadcasting loop, and a single row goes through the fused kernel of `scaleBy`);
 * elsewhere a division, since a GPU may flush the reciprocal of a large unit (3e38 gives 3.3e-39) to 0.
 */
function divideRows(m: tf.Tensor2D, unit: tf.Tensor1D): tf.Tensor2D {
  const k = m.shape[0];
  if (tf.getBackend() !== 'cpu') return tf.div(m, k === 1 ? tf.reshape(unit, []) : tf.reshape(unit, [k, 1]));
  const inverse = tf.reciprocal(unit);
  return (k === 1 ? scaleBy(m, tf.reshape(inverse, [])) : tf.mul(m, tf.reshape(inverse, [k, 1]))) as tf.Tensor2D;
}

/**
 * Backends whose split copies its whole input once per piece: the wasm backend's Slice kernel (behind split and
 * unstack) reads the input out of the wasm heap with `readSync` and cuts the piece from that copy, so splitting a
 * batch of k joined gradients costs k copies of all of them. There each member is scaled on its own instead.
 */
const SPLIT_COPIES_INPUT = new Set(['wasm']);

/** One vector from per-batch pieces, in batch order. */
function concatVectors(pieces: readonly tf.Tensor1D[]): tf.Tensor1D {
  if (pieces.length === 0) return tf.zeros([0]); // no tensor: tf.concat refuses an empty list
  return pieces.length === 1 ? (pieces[0] as tf.Tensor1D) : tf.concat(pieces as tf.Tensor1D[]);
}

/**
 * Figures of one step's gradients, computed once and shared by every transform of the step and by the monitor's
 * tap: `clipByGlobalNorm`, `clipByNorm`, `autoClip`, `zClip`, `skipNonFinite` and the monitor start from the same
 * per-tensor figures, and a chain of them computes those once. Keyed by the list of tensors: a transform that passes
 * the gradients through (the tap, a skip) keeps them valid for the next one; one that changes them (a clip) makes
 * new tensors, whose figures are computed anew when asked for.
 *
 * Per tensor, two kinds of figures, as `[V]` vectors in the list's layout order (see {@link BatchPlan}):
 * - the norm parts (`max|g|`, the `unit` the squares are measured in, `sum((g / unit)^2)`): exact for any finite
 *   gradient, even when its squares overflow or underflow float32; five passes over the data;
 * - the plain sum of squares: two passes, finite for entries within about 1e-19 to 1.8e19 in magnitude.
 *
 * An owning instance (the pipeline running the step) keeps its tensors alive across the transforms' own `tf.tidy`
 * scopes and frees them in {@link StepStats.dispose}; work deferred with {@link StepStats.defer} runs in
 * {@link StepStats.finish}, once every transform of the step has run. A non-owning one leaves its tensors to the
 * caller's scope and must be used within that one scope; deferred work runs at once.
 */
export class StepStats {
  private readonly layouts = new Map<string, Layout>();
  private readonly owned: tf.Tensor[] = [];
  private readonly ids = new Map<tf.Tensor, number>();
  private readonly deferred: (() => void)[] = [];

  /** @param owning Whether it keeps the tensors it makes until {@link StepStats.dispose}. */
  constructor(private readonly owning: boolean) {}

  private own<T extends tf.Tensor>(t: T): T {
    if (this.owning) {
      tf.keep(t);
      this.owned.push(t);
    }
    return t;
  }

  private keyOf(tensors: readonly tf.Tensor[]): string {
    return tensors
      .map((t) => {
        let id = this.ids.get(t);
        if (id === undefined) {
          id = this.ids.size;
          this.ids.set(t, id);
        }
        return id;
      })
      .join(',');
  }

  private layout(tensors: readonly tf.Tensor[]): Layout {
    const key = this.keyOf(tensors);
    let layout = this.layouts.get(key);
    if (!layout) {
      layout = { tensors: [...tensors], plan: planBatches(tensors.map((t) => t.shape)) };
      this.layouts.set(key, layout);
    }
    return layout;
  }

  /** How these tensors are batched: `order[i]` is the tensor behind position `i` of every `[V]` vector. */
  plan(tensors: readonly tf.Tensor[]): BatchPlan {
    return this.layout(tensors).plan;
  }

  private joined(layout: Layout): tf.Tensor[] {
    layout.joined ??= layout.plan.batches.map((b) => {
      const joined = joinBatch(b, layout.tensors);
      return b.members.length === 1 ? joined : this.own(joined);
    });
    return layout.joined;
  }

  private matrices(layout: Layout): tf.Tensor2D[] {
    const joined = this.joined(layout);
    layout.matrices ??= layout.plan.batches.map((b, i) => this.own(batchMatrix(b, joined[i] as tf.Tensor)));
    return layout.matrices;
  }

  /** Whether the norm parts of exactly these tensors are already known (shared at no cost). */
  hasParts(tensors: readonly tf.Tensor[]): boolean {
    return this.layouts.get(this.keyOf(tensors))?.parts !== undefined;
  }

  /**
   * The tensors' norm parts as `[V]` vectors. Per batch: abs, max, a unit and its reciprocal, a scale, square, sum
   * (an empty tensor's parts are 0, 1 and 0).
   */
  parts(tensors: readonly tf.Tensor[]): NormPartVectors {
    const layout = this.layout(tensors);
    if (layout.parts) return layout.parts;
    const matrices = this.matrices(layout);
    const made = tf.tidy(() => {
      const pieces = layout.plan.batches.map((b, i) => {
        const k = b.members.length;
        if (b.size === 0) return { max: tf.zeros([k]), unit: tf.ones([k]), squares: tf.zeros([k]) };
        const m = matrices[i] as tf.Tensor2D;
        const max = tf.max(tf.abs(m), 1) as tf.Tensor1D;
        // An Infinity or NaN max gives a NaN or 0 below, which the norms ignore (they take such a tensor's max).
        const unit = tf.maximum(max, MIN_NORMAL) as tf.Tensor1D;
        const squares = tf.sum(tf.square(divideRows(m, unit)), 1) as tf.Tensor1D;
        return { max, unit, squares };
      });
      const vector = (pick: (p: (typeof pieces)[number]) => tf.Tensor) =>
        concatVectors(pieces.map((p) => pick(p) as tf.Tensor1D));
      return { max: vector((p) => p.max), unit: vector((p) => p.unit), squares: vector((p) => p.squares) };
    });
    layout.parts = { max: this.own(made.max), unit: this.own(made.unit), squares: this.own(made.squares) };
    return layout.parts;
  }

  /** The tensors' plain sums of squares as a `[V]` vector: square and sum per batch. */
  squares(tensors: readonly tf.Tensor[]): tf.Tensor1D {
    const layout = this.layout(tensors);
    if (layout.squares) return layout.squares;
    const matrices = this.matrices(layout);
    const made = tf.tidy(() =>
      concatVectors(
        layout.plan.batches.map((b, i) =>
          b.size === 0
            ? (tf.zeros([b.members.length]) as tf.Tensor1D)
            : (tf.sum(tf.square(matrices[i] as tf.Tensor2D), 1) as tf.Tensor1D),
        ),
      ),
    );
    layout.squares = this.own(made);
    return layout.squares;
  }

  /** How many entries of each tensor are NaN or ±Infinity, `[V]` float32. */
  nonFiniteCounts(tensors: readonly tf.Tensor[]): tf.Tensor1D {
    const layout = this.layout(tensors);
    const matrices = this.matrices(layout);
    return tf.tidy(() =>
      concatVectors(
        layout.plan.batches.map((b, i) =>
          b.size === 0
            ? (tf.zeros([b.members.length]) as tf.Tensor1D)
            : (tf.sum(tf.cast(tf.logicalNot(tf.isFinite(matrices[i] as tf.Tensor2D)), 'float32'), 1) as tf.Tensor1D),
        ),
      ),
    );
  }

  /**
   * The L2 norm of all the tensors together, as if concatenated, as a {@link ScaledNorm}: the scale is the largest
   * `unit` among the tensors whose `max|g|` is finite and non-zero (their max, raised to float32's smallest normal
   * number), the reduced value the norm of everything divided by it. An Infinity anywhere gives Infinity, a NaN
   * gives NaN, all zeros (or nothing) 0.
   */
  globalNorm(tensors: readonly tf.Tensor[]): ScaledNorm {
    if (tensors.length === 0) return { scale: tf.scalar(1), reduced: tf.scalar(0) };
    const layout = this.layout(tensors);
    if (layout.global) return layout.global;
    const parts = this.parts(tensors);
    const made = tf.tidy(() => {
      const { scale, reduced } = groupNorms(parts, wholeGrouping);
      return { scale: tf.reshape(scale, []) as tf.Scalar, reduced: tf.reshape(reduced, []) as tf.Scalar };
    });
    layout.global = { scale: this.own(made.scale), reduced: this.own(made.reduced) };
    return layout.global;
  }

  /** Each tensor's own L2 norm, as `[V]` vectors of scales and reduced values in layout order. */
  norms(tensors: readonly tf.Tensor[]): ScaledNorm<tf.Tensor1D> {
    const layout = this.layout(tensors);
    if (layout.each) return layout.each;
    const parts = this.parts(tensors);
    const made = tf.tidy(() => groupNorms(parts, eachGrouping));
    layout.each = { scale: this.own(made.scale), reduced: this.own(made.reduced) };
    return layout.each;
  }

  /** True (a boolean scalar) when no entry of the tensors is NaN or ±Infinity. */
  allFinite(tensors: readonly tf.Tensor[]): tf.Scalar {
    // The norm's reduced value is finite exactly when every entry is: it never overflows.
    return tf.isFinite(this.globalNorm(tensors).reduced) as tf.Scalar;
  }

  /**
   * Every tensor scaled by one clip factor, in the input's order: a large tensor on its own, a batch of small ones
   * joined (already, for their figures), scaled in one kernel and split in one (on wasm, whose split copies the
   * whole batch per piece, each small one on its own).
   */
  scaled(tensors: readonly tf.Tensor[], factor: ClipFactor): tf.Tensor[] {
    const layout = this.layout(tensors);
    const out: tf.Tensor[] = new Array(tensors.length);
    const joined = this.joined(layout);
    const splitCopies = SPLIT_COPIES_INPUT.has(tf.getBackend());
    layout.plan.batches.forEach((b, i) => {
      const whole = joined[i] as tf.Tensor;
      const pieces =
        b.members.length === 1
          ? [applyClip(whole, factor)]
          : splitCopies
            ? b.members.map((m) => applyClip(tensors[m] as tf.Tensor, factor))
            : tf.tidy(() => splitBatch(b, applyClip(whole, factor)));
      b.members.forEach((m, j) => {
        out[m] = pieces[j] as tf.Tensor;
      });
    });
    return out;
  }

  /** Every tensor scaled by its own clip factor (`[V]` vectors in layout order), in the input's order. */
  scaledEach(tensors: readonly tf.Tensor[], factors: ClipFactors): tf.Tensor[] {
    if (tensors.length === 0) return [];
    const layout = this.layout(tensors);
    const out: tf.Tensor[] = new Array(tensors.length);
    const { batches } = layout.plan;
    const joined = this.joined(layout);
    const sizes = batches.map((b) => b.members.length);
    // Made outside the tidy below: a non-owning instance caches them in the caller's scope.
    const matrices = sizes.some((k) => k > 1) ? this.matrices(layout) : undefined;
    const slices = (v: tf.Tensor1D | undefined) =>
      v === undefined ? undefined : batches.length === 1 ? [v] : (tf.split(v, sizes) as tf.Tensor1D[]);
    const multipliers = slices(factors.multiplier) as tf.Tensor1D[];
    const divisors = slices(factors.divisor);
    batches.forEach((b, i) => {
      const k = b.members.length;
      const multiplier = multipliers[i] as tf.Tensor1D;
      const divisor = divisors?.[i];
      const pieces = tf.tidy(() => {
        if (k === 1 || matrices === undefined) {
          const scalar = (v: tf.Tensor1D) => tf.reshape(v, []) as tf.Scalar;
          return [
            applyClip(joined[i] as tf.Tensor, {
              multiplier: scalar(multiplier),
              divisor: divisor && scalar(divisor),
            }),
          ];
        }
        if (SPLIT_COPIES_INPUT.has(tf.getBackend())) {
          // Each member on its own with its own factor: the same kernels per entry, and no split.
          const multiplierOf = tf.unstack(multiplier) as tf.Scalar[];
          const divisorOf = divisor && (tf.unstack(divisor) as tf.Scalar[]);
          return b.members.map((m, j) =>
            applyClip(tensors[m] as tf.Tensor, {
              multiplier: multiplierOf[j] as tf.Scalar,
              divisor: divisorOf?.[j],
            }),
          );
        }
        const column = (v: tf.Tensor1D) => tf.reshape(v, [k, 1]);
        const m = matrices[i] as tf.Tensor2D;
        const scaled = tf.mul(divisor ? tf.div(m, column(divisor)) : m, column(multiplier));
        return splitBatch(b, tf.reshape(scaled, joinedShape(b)));
      });
      b.members.forEach((m, j) => {
        out[m] = pieces[j] as tf.Tensor;
      });
    });
    return out;
  }

  /**
   * Runs `work` once the step's transforms have all run (so that it can use figures a later transform computed),
   * inside the step's scope; at once for a non-owning instance.
   */
  defer(work: () => void): void {
    if (this.owning) this.deferred.push(work);
    else work();
  }

  /** Runs the deferred work, in order. */
  finish(): void {
    for (const work of this.deferred.splice(0)) work();
  }

  /** Frees what it kept. */
  dispose(): void {
    tf.dispose(this.owned);
    this.owned.length = 0;
    this.layouts.clear();
    this.ids.clear();
    this.deferred.length = 0;
  }
}

/** A gradient map's tensors, in its key order. */
export function tensorsOf(grads: tf.NamedTensorMap): tf.Tensor[] {
  return Object.keys(grads).map((name) => grads[name] as tf.Tensor);
}

/** Tensors in a gradient map's key order, back under its names. */
export function namedLike(grads: tf.NamedTensorMap, tensors: readonly tf.Tensor[]): tf.NamedTensorMap {
  const out: tf.NamedTensorMap = {};
  Object.keys(grads).forEach((name, i) => {
    setNamed(out, name, tensors[i] as tf.Tensor);
  });
  return out;
}

/** Every gradient scaled by one clip factor, under its name (batched, see {@link StepStats.scaled}). */
export function scaleGrads(stats: StepStats, grads: tf.NamedTensorMap, factor: ClipFactor): tf.NamedTensorMap {
  return namedLike(grads, stats.scaled(tensorsOf(grads), factor));
}

/** Where a pipeline puts the step's {@link StepStats} in the context it hands the transforms. */
const STATS = Symbol('gradstab.stepStats');

/** The context a pipeline hands its transforms, with the step's shared figures. */
export function contextWithStats(context: UpdateContext, stats: StepStats): UpdateContext {
  return Object.assign({ ...context }, { [STATS]: stats });
}

/**
 * The step's shared figures, or, for a transform called outside a pipeline (its `update` in user code), figures
 * for this call alone, owned by the caller's scope.
 */
export function statsOf(context: UpdateContext | undefined): StepStats {
  const stats = (context as { [STATS]?: StepStats } | undefined)?.[STATS];
  return stats ?? new StepStats(false);
}
