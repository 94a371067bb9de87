import * as tf from '@tensorflow/tfjs-core';
import { groupNorms, type NormPartVectors, wholeGrouping } from '../internal/group-norms.js';
import type { ScaledNorm } from '../internal/norms.js';
import { scaleBy } from '../internal/scale-by.js';
import type { UpdateContext } from './types.js';

/**
 * One gradient's L2 norm in parts that never overflow float32: `max = max|g|`, the `unit` it is measured in (`max`,
 * raised to float32's smallest normal number so that its reciprocal is finite), and `squares = sum((g / unit)^2)`;
 * the norm is `unit * sqrt(squares)`.
 */
export type NormParts = {
  readonly max: tf.Scalar;
  readonly unit: tf.Scalar;
  readonly squares: tf.Scalar;
};

/**
 * `g / unit`: on cpu a multiply by the reciprocal through the fused kernel (a division by a scalar tensor runs
 * through tfjs-cpu's generic broadcasting loop, 4 times slower); elsewhere a division, since a GPU may flush the
 * reciprocal of a large unit (3e38 gives 3.3e-39) to 0.
 */
function divideBy(g: tf.Tensor, unit: tf.Scalar): tf.Tensor {
  return tf.getBackend() === 'cpu' ? scaleBy(g, tf.reciprocal(unit) as tf.Scalar) : tf.div(g, unit);
}

/** float32's smallest normal number: the reciprocal of anything smaller overflows. */
const MIN_NORMAL = 1.1754943508222875e-38;

/**
 * Figures of one step's gradients, computed once and shared by every transform of the step and by the monitor's
 * tap: `clipByGlobalNorm`, `clipByNorm`, `autoClip`, `zClip`, `skipNonFinite` and the monitor all start from each
 * gradient's norm parts, and a chain of them computes those once. Keyed by tensor: a transform that passes a gradient
 * through (the tap, a skip) keeps its figures valid for the next one; one that changes it (a clip) makes new tensors,
 * whose figures are computed anew when asked for.
 *
 * The owner (the pipeline running the step) keeps the tensors alive across the transforms' own `tf.tidy` scopes and
 * disposes them when the step is done.
 */
export class StepStats {
  private readonly parts = new Map<tf.Tensor, NormParts>();
  private readonly globals = new Map<string, ScaledNorm>();
  private readonly owned: tf.Tensor[] = [];
  private readonly ids = new Map<tf.Tensor, number>();

  /**
   * @param owning Whether to keep the tensors it makes, and reuse them, until {@link StepStats.dispose}. Otherwise the
   *   caller's scope owns them, and nothing is reused (a cached tensor could be freed by a tidy it does not know).
   */
  constructor(private readonly owning: boolean) {}

  private own<T extends tf.Tensor>(t: T): T {
    if (this.owning) {
      tf.keep(t);
      this.owned.push(t);
    }
    return t;
  }

  /** A gradient's norm parts (an empty tensor's are 0 and 0). Cost: abs, max, a scalar reciprocal, scale, square, sum. */
  partsOf(g: tf.Tensor): NormParts {
    const known = this.parts.get(g);
    if (known) return known;
    const made = tf.tidy(() => {
      if (g.size === 0) return { max: tf.scalar(0), unit: tf.scalar(1), squares: tf.scalar(0) };
      const max = tf.max(tf.abs(g)) as tf.Scalar;
      // An Infinity or NaN max gives a NaN or 0 here, which the per-group step below ignores (it takes such a
      // tensor's max itself).
      const unit = tf.maximum(max, MIN_NORMAL) as tf.Scalar;
      const squares = tf.sum(tf.square(divideBy(g, unit))) as tf.Scalar;
      return { max, unit, squares };
    });
    if (!this.owning) return made; // the caller's scope owns them: no cache that could outlive it
    const parts = { max: this.own(made.max), unit: this.own(made.unit), squares: this.own(made.squares) };
    this.parts.set(g, parts);
    return parts;
  }

  /** The L2 norm of one gradient as a {@link ScaledNorm}. */
  norm(g: tf.Tensor): ScaledNorm {
    return this.globalNorm([g]);
  }

  /**
   * The L2 norm of all the tensors together, as if concatenated, as a {@link ScaledNorm}: the scale is the largest
   * finite, non-zero `max|g|`, the reduced value the norm of everything divided by it. An Infinity anywhere gives
   * Infinity, a NaN gives NaN, all zeros (or nothing) 0.
   */
  globalNorm(tensors: readonly tf.Tensor[]): ScaledNorm {
    const key = tensors.map((t) => this.idOf(t)).join(',');
    const known = this.globals.get(key);
    if (known) return known;
    // The parts first, outside the tidy below: when owned, they outlive it for the next transform.
    const vectors = tensors.length === 0 ? undefined : this.vectors(tensors);
    const made = tf.tidy(() => {
      if (vectors === undefined) return { scale: tf.scalar(1), reduced: tf.scalar(0) };
      const { scale, reduced } = groupNorms(vectors, wholeGrouping);
      return { scale: tf.reshape(scale, []) as tf.Scalar, reduced: tf.reshape(reduced, []) as tf.Scalar };
    });
    if (!this.owning) return made;
    const norm = { scale: this.own(made.scale), reduced: this.own(made.reduced) };
    this.globals.set(key, norm);
    return norm;
  }

  /** The tensors' norm parts as `[V]` vectors (one stack each), for norms of groups of them. */
  vectors(tensors: readonly tf.Tensor[]): NormPartVectors {
    const all = tensors.map((t) => this.partsOf(t));
    const vector = (pick: (p: NormParts) => tf.Scalar) =>
      (all.length === 1 ? tf.reshape(pick(all[0] as NormParts), [1]) : tf.stack(all.map(pick))) as tf.Tensor1D;
    return { max: vector((p) => p.max), unit: vector((p) => p.unit), squares: vector((p) => p.squares) };
  }

  /** True (a boolean scalar) when no entry of the tensors is NaN or ±Infinity. */
  allFinite(tensors: readonly tf.Tensor[]): tf.Scalar {
    // The norm's reduced value is finite exactly when every entry is: it never overflows.
    return tf.isFinite(this.globalNorm(tensors).reduced) as tf.Scalar;
  }

  private idOf(t: tf.Tensor): number {
    let id = this.ids.get(t);
    if (id === undefined) {
      id = this.ids.size;
      this.ids.set(t, id);
    }
    return id;
  }

  /** Frees what it kept. */
  dispose(): void {
    tf.dispose(this.owned);
    this.owned.length = 0;
    this.parts.clear();
    this.globals.clear();
  }
}

/** Where a pipeline puts the step's {@link StepStats} in the context it hands the transforms. */
const STATS = Symbol('gradstab.stepStats');

/** The context a pipeline hands its transforms, with the step's shared figures. */
export function contextWithStats(context: UpdateContext, stats: StepStats): UpdateContext {
  return Object.assign({ ...context }, { [STATS]: stats });
}

/**
 * The step's shared figures, or, for a transform called outside a pipeline (its `update` in user code), figures
 * for this call alone, owned by the caller's tidy.
 */
export function statsOf(context: UpdateContext | undefined): StepStats {
  const stats = (context as { [STATS]?: StepStats } | undefined)?.[STATS];
  return stats ?? new StepStats(false);
}
