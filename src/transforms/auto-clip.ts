import * as tf from '@tensorflow/tfjs-core';
import { clipFactor, clippedNorm, NORM_EPS, normValue } from '../internal/norms.js';
import { fail, optionsObject, wholeNumber } from '../internal/validate.js';
import { registerBuiltInTransform } from './registry.js';
import { scaleGrads, statsOf, tensorsOf } from './step-stats.js';
import type { GradientTransform } from './types.js';

/** Options of {@link autoClip}. */
export interface AutoClipOptions {
  /** Which percentile of the recorded norms is the threshold, in [0, 100]. Defaults to 10, the paper's value. */
  readonly percentile?: number;
  /**
   * How many of the latest global norms to keep (on the device), a whole number from 1 to 1e6 (the state is a ring of
   * that many float32 values, sorted at every step). Defaults to 1000. The paper keeps every norm since the start; a
   * window bounds memory and lets the threshold follow the training.
   */
  readonly window?: number;
}

/** The largest `window`: a ring of 1e6 float32 values (4 MB), sorted at every step. */
const MAX_WINDOW = 1e6;

const FN = 'autoClip';
/** The largest finite float32. */
const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * AutoClip (Seetharaman, Wichern, Pardo & Le Roux 2020, "AutoClip: Adaptive Gradient Clipping for Source
 * Separation Networks"): each step records the global L2 norm N and clips the gradients to the `percentile`-th
 * percentile of the recorded norms (linear interpolation, as `np.percentile`), current step included, by
 * `min(1, threshold / (N + 1e-6))` as `clip_grad_norm_`. The history is a ring of the latest `window` norms held on
 * the device; nothing is read.
 *
 * A step whose gradients hold NaN or Infinity is not recorded (the threshold comes from the finite norms) and clips
 * as {@link clipByGlobalNorm} would; put {@link skipNonFinite} first to drop such steps. Finite gradients whose norm
 * is beyond float32's range (3.4e38) are recorded as 3.4e38 and scaled to the threshold, never to 0.
 *
 * State: `history` (the ring), `recorded` (norms recorded so far), and the last step's figures `norm`,
 * `threshold` and `clippedNorm`.
 *
 * @param options `percentile` (10) and `window` (1000).
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { autoClip, gradientPipeline } from 'gradstab';
 * const pipeline = gradientPipeline(autoClip({ percentile: 50 }));
 * for (const n of [1, 2, 3]) pipeline.apply({ w: tf.tensor1d([n]) }); // history 1, 2, 3
 * const { grads } = pipeline.apply({ w: tf.tensor1d([100]) }); // median of 1, 2, 3, 100 is 2.5
 * grads.w.print(); // [2.5]
 * ```
 */
export function autoClip(options?: AutoClipOptions): GradientTransform {
  const opts = optionsObject<AutoClipOptions>(FN, options, ['percentile', 'window']);
  const percentile = opts.percentile ?? 10;
  if (typeof percentile !== 'number' || !(percentile >= 0 && percentile <= 100)) {
    fail(FN, 'percentile must be a number in [0, 100]', percentile);
  }
  const window = wholeNumber(FN, 'window', opts.window ?? 1000, 1, false, MAX_WINDOW);
  return {
    kind: FN,
    config: { percentile, window },
    init: () => ({
      history: tf.zeros([window]),
      recorded: tf.scalar(0, 'int32'),
      norm: tf.scalar(0),
      threshold: tf.scalar(0),
      clippedNorm: tf.scalar(0),
    }),
    update: (grads, state, context) => {
      const stats = statsOf(context);
      const measured = stats.globalNorm(tensorsOf(grads));
      const norm = normValue(measured);
      // Finite gradients can have a norm beyond float32's range (Infinity once formed): such a norm is recorded as
      // float32's largest value, the most the ring can hold; gradients with NaN or Infinity entries are not.
      const finite = tf.logicalAnd(tf.isFinite(measured.scale), tf.isFinite(measured.reduced));
      const recordedNorm = tf.minimum(norm, FLOAT32_MAX);
      const recorded = state.recorded as tf.Tensor;
      const slots = tf.range(0, window, 1, 'int32');
      const size = tf.scalar(window, 'int32'); // plain numbers would turn the int32 counters into float32
      // Write N into the ring at recorded % window, unless it is not finite.
      const slot = tf.mod(recorded, size);
      const write = tf.logicalAnd(tf.equal(slots, slot), finite);
      // N in every slot by a broadcasting multiply (tf.broadcastTo tiles, which reads back on cpu).
      const everywhere = tf.mul(tf.onesLike(state.history as tf.Tensor), recordedNorm);
      const history = tf.where(write, everywhere, state.history as tf.Tensor);
      const nextRecorded = tf.add(recorded, tf.cast(finite, 'int32'));
      const threshold = percentileOf(history, tf.minimum(nextRecorded, size), percentile, window, slots);
      const factor = clipFactor(threshold as tf.Scalar, measured, NORM_EPS);
      return {
        grads: scaleGrads(stats, grads, factor),
        state: { history, recorded: nextRecorded, norm, threshold, clippedNorm: clippedNorm(measured, factor) },
      };
    },
  };
}

/**
 * The p-th percentile (numpy's linear interpolation) of the first `count` (a device scalar) entries of the ring
 * `values`, computed on the device: unused slots sort last as +Infinity, then the two neighbours of the fractional
 * rank (count - 1) * p / 100 are picked and interpolated. With nothing recorded yet it is 0, so that a first
 * non-finite norm clips as clipByGlobalNorm does (finite entries to 0).
 */
function percentileOf(values: tf.Tensor, count: tf.Tensor, p: number, size: number, slots: tf.Tensor): tf.Tensor {
  const used = tf.less(slots, count);
  const padded = tf.where(used, values, tf.fill([size], Number.POSITIVE_INFINITY));
  const ascending = tf.neg(tf.topk(tf.neg(padded), size, true).values);
  const one = tf.scalar(1, 'int32'); // a plain 1 would turn the indices into float32
  const last = tf.sub(tf.maximum(count, one), one);
  const rank = tf.mul(tf.cast(last, 'float32'), p / 100);
  const lower = tf.cast(tf.floor(rank), 'int32');
  const upper = tf.minimum(tf.add(lower, one), last);
  // Picked with a one-hot mask rather than tf.gather, whose cpu kernel reads its indices back synchronously.
  const pick = (index: tf.Tensor) => tf.sum(tf.where(tf.equal(slots, index), ascending, tf.zerosLike(ascending)));
  const low = pick(lower);
  const high = pick(upper);
  const value = tf.add(low, tf.mul(tf.sub(high, low), tf.sub(rank, tf.floor(rank))));
  return tf.where(tf.greater(count, 0), value, tf.zerosLike(value));
}

registerBuiltInTransform(FN, (c) => autoClip({ percentile: c.percentile as number, window: c.window as number }), [
  'percentile',
  'window',
]);
