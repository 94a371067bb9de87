import * as tf from '@tensorflow/tfjs-core';
import { affineAlongLastAxis, fusedLastAxisPays } from '../internal/last-axis-affine.js';
import { setNamed } from '../internal/map-grads.js';
import { fail, isPlainObject, optionsObject, positiveFloat32 } from '../internal/validate.js';
import { registerBuiltInTransform } from './registry.js';
import type { GradientTransform } from './types.js';

/** Which variables {@link adaptiveGradClip} leaves alone: a RegExp tested on the name, or a predicate. */
export type ExcludeVariables = RegExp | ((name: string) => boolean);

/** Options of {@link adaptiveGradClip}. */
export interface AdaptiveGradClipOptions {
  /**
   * The largest ratio of a unit's gradient norm to its weight norm, > 0 (and > 0 and finite in float32). Defaults to
   * 0.01, the paper's value for batches of 1024 to 4096; smaller batches tolerate larger values (0.02 to 0.16 in its
   * ablations).
   */
  readonly clipping?: number;
  /**
   * The smallest weight norm used, > 0 (and > 0 and finite in float32), so that units whose weights are zero can still
   * move. Defaults to 1e-3.
   */
  readonly eps?: number;
  /**
   * Variables not to clip, by name: a RegExp (`/^head\//`) or a predicate. The paper does not clip the final
   * classifier layer. Give that layer a name (`tf.layers.dense({units: 10, name: 'head'})`): generated names
   * (`dense_Dense3/kernel`) change when a saved model is loaded. A RegExp is saved with the optimizer; a predicate
   * is not, and saving a model whose optimizer uses one is an error. Defaults to none.
   */
  readonly exclude?: ExcludeVariables;
}

/** Guards the division when a unit's gradient is zero, as optax does. */
const GRAD_EPS = 1e-6;
const FN = 'adaptiveGradClip';

/**
 * Unit-wise norms in tfjs's layout, kept broadcastable: a kernel's units are its output units, the last axis
 * (dense `[in, out]`, conv `[h, w, in, out]`, conv1d `[k, in, out]`, conv3d `[d, h, w, in, out]`), so the norm
 * reduces every other axis; a bias or scalar is one unit.
 */
function unitNorms(t: tf.Tensor): tf.Tensor {
  if (t.rank <= 1) {
    const flat = tf.reshape(t, [1, -1]);
    return tf.sqrt(tf.reshape(tf.matMul(flat, flat, false, true), []));
  }
  // Column sums of squares as a [1, M] x [M, units] product: a reduction over the leading axes would transpose
  // the whole tensor first (four times slower on cpu for a 256 x 256 kernel).
  const units = t.shape[t.rank - 1] as number;
  const sq = tf.reshape(tf.square(t), [-1, units]);
  const sums = tf.matMul(tf.ones([1, sq.shape[0] as number]), sq);
  return tf.sqrt(tf.reshape(sums, [...Array(t.rank - 1).fill(1), units]));
}

function excluder(exclude: unknown): (name: string) => boolean {
  if (exclude === undefined) return () => false;
  if (exclude instanceof RegExp) return (name) => new RegExp(exclude.source, exclude.flags).test(name);
  if (typeof exclude === 'function') return exclude as (name: string) => boolean;
  return fail(FN, 'exclude must be a RegExp or a function (name) => boolean', exclude);
}

/**
 * Adaptive gradient clipping (AGC; Brock, De, Smith & Simonyan 2021, "High-Performance Large-Scale Image
 * Recognition Without Normalization"): clips each unit's gradient to a fraction of its weight's norm, so the
 * threshold adapts to every layer's scale. For a unit u (an output unit of a kernel, or a whole bias):
 * `max = clipping * max(||W_u||, eps)`, and where `||g_u|| > max` the gradient becomes `g_u * max / ||g_u||`
 * (optax's `adaptive_grad_clip`). Reads nothing; needs the current weights, which {@link withTransforms} provides
 * (in a raw loop, pass them to {@link GradientPipeline.apply}).
 *
 * State (figures of the last step, readable with `readState()`): `norm` and `clippedNorm`, the global L2 norm
 * before and after; `clippedUnits`, how many units were clipped.
 *
 * Unlike {@link clipByGlobalNorm}, unit norms are plain sums of squares, as optax's: a unit whose gradient norm
 * overflows float32 (entries around 1e19 and up) gets a zero gradient for that step instead of one at its limit.
 *
 * @param options `clipping` (0.01), `eps` (1e-3), `exclude`.
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { adaptiveGradClip, gradientPipeline } from 'gradstab';
 * const pipeline = gradientPipeline(adaptiveGradClip({ clipping: 0.1 }));
 * const params = { w: tf.tensor2d([[3, 1], [4, 1]]) }; // unit norms 5 and 1.414: limits 0.5 and 0.1414
 * const { grads } = pipeline.apply({ w: tf.tensor2d([[0.6, 0.01], [0.8, 0.01]]) }, params);
 * grads.w.print(); // [[0.3, 0.01], [0.4, 0.01]] (unit 1: norm 1 > 0.5, halved; unit 2: 0.014 <= 0.141, kept)
 * ```
 */
export function adaptiveGradClip(options?: AdaptiveGradClipOptions): GradientTransform {
  const opts = optionsObject<AdaptiveGradClipOptions>(FN, options, ['clipping', 'eps', 'exclude']);
  const clipping = positiveFloat32(FN, 'clipping', opts.clipping ?? 0.01);
  const eps = positiveFloat32(FN, 'eps', opts.eps ?? 1e-3);
  const isExcluded = excluder(opts.exclude);
  const exclude =
    opts.exclude instanceof RegExp ? { source: opts.exclude.source, flags: opts.exclude.flags } : opts.exclude;
  return {
    kind: FN,
    config: { clipping, eps, ...(exclude === undefined ? {} : { exclude }) },
    init: () => ({ norm: tf.scalar(0), clippedNorm: tf.scalar(0), clippedUnits: tf.scalar(0) }),
    update: (grads, _state, context) => {
      const out: tf.NamedTensorMap = {};
      // Per-unit figures of every tensor, flattened, for the step's totals: one reduction each at the end.
      const norms: tf.Tensor[] = [];
      const factors: tf.Tensor[] = [];
      for (const [name, g] of Object.entries(grads)) {
        if (g.size === 0) {
          setNamed(out, name, g); // no entries, no unit to clip (and a reshape of [3, 0] by units would fail)
          continue;
        }
        if (isExcluded(name)) {
          setNamed(out, name, g);
          norms.push(tf.reshape(unitNorms(g), [-1]));
          factors.push(tf.ones([norms[norms.length - 1]?.size as number]));
          continue;
        }
        const w = context.params?.[name];
        if (w === undefined) {
          fail(
            FN,
            'needs the current value of every variable it clips (withTransforms passes them; in a raw loop call pipeline.apply(grads, params))',
            name,
          );
        }
        if (!tf.util.arraysEqual(w.shape, g.shape)) {
          fail(FN, `the weights of ${JSON.stringify(name)} must have the gradient's shape [${g.shape}]`, w);
        }
        const gNorm = unitNorms(g);
        const limit = tf.mul(tf.maximum(unitNorms(w), eps), clipping);
        const over = tf.greater(gNorm, limit);
        // One per-unit factor, then one full-size multiply: 1 where the unit is within its limit.
        const factor = tf.where(over, tf.div(limit, tf.maximum(gNorm, GRAD_EPS)), tf.onesLike(gNorm));
        // On cpu a broadcasting multiply by a [1, units] factor is the slow path; the fused kernel scales in one pass.
        setNamed(
          out,
          name,
          g.rank >= 2 && fusedLastAxisPays()
            ? affineAlongLastAxis(g, tf.reshape(factor, [-1]), null)
            : tf.mul(g, factor),
        );
        norms.push(tf.reshape(gNorm, [-1]));
        factors.push(tf.reshape(factor, [-1]));
      }
      if (norms.length === 0)
        return { grads: out, state: { norm: tf.scalar(0), clippedNorm: tf.scalar(0), clippedUnits: tf.scalar(0) } };
      const unitNorm = tf.concat(norms);
      const unitFactor = tf.concat(factors);
      return {
        grads: out,
        state: {
          norm: tf.norm(unitNorm),
          clippedNorm: tf.norm(tf.mul(unitNorm, unitFactor)),
          clippedUnits: tf.sum(tf.cast(tf.less(unitFactor, 1), 'float32')),
        },
      };
    },
  };
}

/** The RegExp a saved config holds as `{source, flags}`. */
function savedExclude(saved: unknown): RegExp | undefined {
  if (saved === undefined) return undefined;
  const rule = 'exclude must be a saved RegExp {source, flags} (two strings)';
  if (!isPlainObject(saved)) fail(FN, rule, saved);
  const { source, flags } = optionsObject<{ source: string; flags: string }>(FN, saved, ['source', 'flags']);
  if (typeof source !== 'string' || typeof flags !== 'string') fail(FN, rule, saved);
  try {
    return new RegExp(source, flags);
  } catch (e) {
    return fail(
      FN,
      `exclude must be a valid regular expression (${(e as Error).message})`,
      saved,
      `/${source}/${flags}`,
    );
  }
}

registerBuiltInTransform(
  FN,
  (c) => {
    const exclude = savedExclude(c.exclude);
    return adaptiveGradClip({ clipping: c.clipping as number, eps: c.eps as number, ...(exclude ? { exclude } : {}) });
  },
  ['clipping', 'eps', 'exclude'],
);
