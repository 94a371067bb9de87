import * as tf from '@tensorflow/tfjs-core';
import { clipFactor, clippedNorm, NORM_EPS, noClip, normValue, selectClip } from '../internal/norms.js';
import { fail, optionsObject, positiveFloat32, wholeNumber } from '../internal/validate.js';
import { registerBuiltInTransform } from './registry.js';
import { scaleGrads, statsOf, tensorsOf } from './step-stats.js';
import type { GradientTransform } from './types.js';

/** Options of {@link zClip}. */
export interface ZClipOptions {
  /** The EMA's weight on the old statistics, in (0, 1), also in float32. Defaults to 0.97. */
  readonly alpha?: number;
  /**
   * The z-score above which a norm is a spike: > 0, and at most 1.8e19 so that its square is finite in float32.
   * Defaults to 2.5.
   */
  readonly zThreshold?: number;
  /**
   * Steps whose norms initialize the statistics (mean and variance) before any z-score clipping: a whole number from 1
   * to 2^24 (the step count is float32 on the device, exact up to 2^24). Defaults to 25.
   */
  readonly warmupSteps?: number;
  /**
   * A fixed global-norm limit, > 0 and finite in float32: applied alone during warm-up and on top of the adaptive
   * threshold after it (the reference's `max_grad_norm`). Defaults to none (no clipping during warm-up).
   */
  readonly maxNorm?: number;
}

const FN = 'zClip';
/** The largest count a float32 step counter holds exactly (2^24): one more rounds back to it. */
const MAX_FLOAT32_COUNT = 2 ** 24;
/** The reference's guard on the standard deviation. */
const STD_EPS = 1e-6;

/**
 * ZClip (Kumar, Owen, Roy Chowdhury & Güra 2025, "ZClip: Adaptive Spike Mitigation for LLM Pre-Training"): tracks
 * the mean and variance of the global gradient norm N with an EMA, and clips only spikes: when
 * `z = (N - mean) / (std + 1e-6)` exceeds `zThreshold`, N is clipped to `mean + zThreshold * std / (z / zThreshold)`
 * (larger spikes get a tighter limit), and the EMA is fed that clipped value so a spike does not inflate the
 * statistics. The first `warmupSteps` norms initialize the mean and (population) variance; meanwhile only `maxNorm`
 * clips. As the reference implementation (`mode="zscore"`, `clip_option="adaptive_scaling"`), all on the device.
 *
 * A non-finite N leaves the statistics unchanged and the gradients unclipped (except by `maxNorm`, which turns the
 * finite entries of an infinite N to 0, as {@link clipByGlobalNorm}); put {@link skipNonFinite} first to drop such
 * steps.
 *
 * State: `mean`, `variance`, `steps` (finite norms seen), the warm-up accumulators `warmupMean` and `warmupM2`, and
 * the last step's figures `norm`, `threshold` and `clippedNorm`. `threshold` is the limit in force: `maxNorm` during
 * warm-up (Infinity without one), then the spike limit, `maxNorm`, or the norm itself on a step nothing clips.
 *
 * @param options `alpha` (0.97), `zThreshold` (2.5), `warmupSteps` (25), `maxNorm` (none).
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { gradientPipeline, zClip } from 'gradstab';
 * const pipeline = gradientPipeline(zClip({ warmupSteps: 4 }));
 * for (const n of [1, 1.2, 0.8, 1]) pipeline.apply({ w: tf.tensor1d([n]) }); // mean 1, std 0.1414
 * const { grads } = pipeline.apply({ w: tf.tensor1d([10]) }); // z = 63.6: a spike
 * grads.w.print(); // [1.0138889]
 * ```
 */
export function zClip(options?: ZClipOptions): GradientTransform {
  const opts = optionsObject<ZClipOptions>(FN, options, ['alpha', 'zThreshold', 'warmupSteps', 'maxNorm']);
  const alpha = opts.alpha ?? 0.97;
  if (typeof alpha !== 'number' || !(Math.fround(alpha) > 0 && Math.fround(alpha) < 1)) {
    fail(FN, 'alpha must be a number in (0, 1), also in float32', alpha);
  }
  const zThreshold = positiveFloat32(FN, 'zThreshold', opts.zThreshold ?? 2.5);
  if (!Number.isFinite(Math.fround(zThreshold * zThreshold))) {
    fail(FN, 'zThreshold must be at most 1.8e19 (its square must be finite in float32)', zThreshold);
  }
  const warmupSteps = wholeNumber(FN, 'warmupSteps', opts.warmupSteps ?? 25, 1, false, MAX_FLOAT32_COUNT);
  const maxNorm = opts.maxNorm === undefined ? Number.POSITIVE_INFINITY : positiveFloat32(FN, 'maxNorm', opts.maxNorm);
  return {
    kind: FN,
    config: { alpha, zThreshold, warmupSteps, maxNorm },
    init: () => ({
      mean: tf.scalar(0),
      variance: tf.scalar(0),
      steps: tf.scalar(0),
      warmupMean: tf.scalar(0),
      warmupM2: tf.scalar(0),
      norm: tf.scalar(0),
      threshold: tf.scalar(0),
      clippedNorm: tf.scalar(0),
    }),
    update: (grads, state, context) => {
      const s = state as Record<string, tf.Scalar>;
      const stats = statsOf(context);
      const measured = stats.globalNorm(tensorsOf(grads));
      const norm = normValue(measured);
      const finite = tf.isFinite(norm);
      const warm = tf.less(s.steps as tf.Scalar, warmupSteps);

      // Warm-up: Welford's running mean and sum of squared deviations of the norms.
      const count = tf.add(s.steps as tf.Scalar, 1);
      const delta = tf.sub(norm, s.warmupMean as tf.Scalar);
      const warmupMean = tf.add(s.warmupMean as tf.Scalar, tf.div(delta, count));
      const warmupM2 = tf.add(s.warmupM2 as tf.Scalar, tf.mul(delta, tf.sub(norm, warmupMean)));
      const warmupEnds = tf.equal(count, warmupSteps);
      const warmClip = Number.isFinite(maxNorm) ? clipFactor(maxNorm, measured, NORM_EPS) : noClip();

      // After warm-up: the z-score against the EMA statistics.
      const std = tf.sqrt(s.variance as tf.Scalar);
      const z = tf.div(tf.sub(norm, s.mean as tf.Scalar), tf.add(std, STD_EPS));
      const spike = tf.greater(z, zThreshold);
      const spikeLimit = tf.add(s.mean as tf.Scalar, tf.div(tf.mul(std, zThreshold * zThreshold), z));
      const fed = tf.where(spike, spikeLimit, norm);
      const limit = tf.minimum(fed, maxNorm);
      const spikeClip = selectClip(
        tf.greater(norm, limit),
        clipFactor(limit as tf.Scalar, measured, NORM_EPS),
        noClip(),
      );
      const emaMean = tf.add(tf.mul(s.mean as tf.Scalar, alpha), tf.mul(fed, 1 - alpha));
      const emaVariance = tf.add(
        tf.mul(s.variance as tf.Scalar, alpha),
        tf.mul(tf.square(tf.sub(fed, emaMean)), 1 - alpha),
      );

      const applied = selectClip(warm, warmClip, spikeClip);
      // A non-finite norm changes no statistic.
      const keep = (next: tf.Tensor, old: tf.Tensor) => tf.where(finite, next, old);
      const mean = tf.where(warm, tf.where(warmupEnds, warmupMean, s.mean as tf.Scalar), emaMean);
      const variance = tf.where(
        warm,
        tf.where(warmupEnds, tf.div(warmupM2, count), s.variance as tf.Scalar),
        emaVariance,
      );
      return {
        grads: scaleGrads(stats, grads, applied),
        state: {
          mean: keep(mean, s.mean as tf.Scalar),
          variance: keep(variance, s.variance as tf.Scalar),
          steps: keep(count, s.steps as tf.Scalar),
          warmupMean: keep(tf.where(warm, warmupMean, s.warmupMean as tf.Scalar), s.warmupMean as tf.Scalar),
          warmupM2: keep(tf.where(warm, warmupM2, s.warmupM2 as tf.Scalar), s.warmupM2 as tf.Scalar),
          norm,
          threshold: tf.where(warm, tf.scalar(maxNorm), limit),
          clippedNorm: clippedNorm(measured, applied),
        },
      };
    },
  };
}

registerBuiltInTransform(
  FN,
  (c) =>
    zClip({
      alpha: c.alpha as number,
      zThreshold: c.zThreshold as number,
      warmupSteps: c.warmupSteps as number,
      ...(c.maxNorm === Number.POSITIVE_INFINITY ? {} : { maxNorm: c.maxNorm as number }),
    }),
  ['alpha', 'zThreshold', 'warmupSteps', 'maxNorm'],
);
