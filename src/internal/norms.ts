import * as tf from '@tensorflow/tfjs-core';
import type { NormType } from '../transforms/types.js';
import { scaleBy } from './scale-by.js';

/** All tensors as one flat vector: one reduction over it costs a few kernels, whatever the number of variables. */
export function flatConcat(tensors: readonly tf.Tensor[]): tf.Tensor1D {
  // A reshape is a kernel launch even when it copies nothing: skip it for tensors that are already flat.
  const flat = tensors.map((t) => (t.rank === 1 ? t : tf.reshape(t, [-1])) as tf.Tensor1D);
  return flat.length === 1 ? (flat[0] as tf.Tensor1D) : tf.concat1d(flat);
}

/**
 * A norm kept as `scale * reduced`, both finite for any finite input, so that a norm beyond float32's largest value
 * (3.4e38: gradients of 3e38, or 1e20 squared) is still usable. `scale` is `max|x|` when that is finite and > 0,
 * else 1; `reduced` is the norm of `x / scale` (between 1 and the count of entries for finite input). The caller
 * disposes both.
 */
export type ScaledNorm<T extends tf.Tensor = tf.Scalar> = {
  readonly scale: T;
  readonly reduced: T;
};

/** PyTorch's guard in `clip_grad_norm_`: `maxNorm / (N + 1e-6)` stays finite when the norm is 0. */
export const NORM_EPS = 1e-6;

/**
 * The p-norm of the entries of `x` as a {@link ScaledNorm}. Zeros give 0 (scale 1), an Infinity gives Infinity and a
 * NaN gives NaN, as PyTorch's `clip_grad_norm_` reports them. No intermediate overflows, and none underflows either:
 * entries of 1e-25 square to 1e-50, below float32's range, but scaled by their maximum they do not.
 */
export function scaledNorm(x: tf.Tensor, normType: NormType): ScaledNorm {
  return tf.tidy(() => {
    if (x.size === 0) return { scale: tf.scalar(1), reduced: tf.scalar(0) };
    const abs = tf.abs(x);
    const m = tf.max(abs) as tf.Scalar;
    const usable = tf.logicalAnd(tf.isFinite(m), tf.greater(m, 0));
    const scale = tf.where(usable, m, tf.onesLike(m)) as tf.Scalar;
    if (normType === 'inf') {
      // max() ignores NaN on some backends (webgl); the sum of |x| is NaN exactly when an entry is NaN.
      const noNaN = tf.where(usable, tf.onesLike(m), m);
      return { scale, reduced: tf.where(tf.isNaN(tf.sum(abs)), tf.scalar(Number.NaN), noNaN) as tf.Scalar };
    }
    const scaled = tf.div(abs, scale);
    const reduced = (normType === 1 ? tf.sum(scaled) : tf.sqrt(tf.sum(tf.square(scaled)))) as tf.Scalar;
    return { scale, reduced };
  });
}

/** The norm of all tensors together, as if concatenated (empty tensors add nothing), as a {@link ScaledNorm}. */
export function scaledNormOfAll(tensors: readonly tf.Tensor[], normType: NormType): ScaledNorm {
  // A reduction over nothing is uninitialised memory on wasm (and NaN on cpu for max): leave empty tensors out.
  const present = tensors.filter((t) => t.size > 0);
  if (present.length === 0) return { scale: tf.scalar(1), reduced: tf.scalar(0) };
  return tf.tidy(() => scaledNorm(flatConcat(present), normType));
}

/** The value of a {@link ScaledNorm}: Infinity when it exceeds float32's range. */
export function normValue(n: ScaledNorm): tf.Scalar {
  return tf.mul(n.scale, n.reduced);
}

/**
 * How a clip scales each gradient: `g / divisor * multiplier`. On backends with IEEE float32 (cpu, wasm, tfjs-node)
 * the divisor is 1 and is not applied: one multiply by `min(1, limit / (N + eps))`, as PyTorch. Where a factor below
 * float32's smallest normal number (1.2e-38, the factor that scales gradients of 3e38 to norm 1) may be flushed to 0
 * (GPU backends: webgl, webgpu), a step that clips divides by the norm's scale first, so that both factors are normal
 * numbers; a step that does not clip multiplies by 1, exactly.
 */
export type ClipFactor<T extends tf.Tensor = tf.Scalar> = {
  readonly divisor: T | undefined;
  readonly multiplier: T;
};

/** Backends known to keep float32's subnormal numbers. */
const IEEE_BACKENDS = new Set(['cpu', 'wasm', 'tensorflow']);

/**
 * The factor that clips a norm `N = scale * reduced` to `limit`: `min(1, limit / (N + eps))`, computed as
 * `min(1, (limit / scale) / (reduced + eps / scale))` so that N itself is never formed: finite gradients whose norm
 * overflows float32 are scaled to the limit, not to 0. A NaN norm gives NaN and an infinite one 0, as in PyTorch's
 * `clip_grad_norm_`. Elementwise: `n` may hold one norm per tensor (`[V]` vectors).
 */
export function clipFactor<T extends tf.Tensor = tf.Scalar>(
  limit: number | tf.Scalar,
  n: ScaledNorm<T>,
  eps: number,
): ClipFactor<T> {
  return tf.tidy(() => {
    const denominator = eps === 0 ? n.reduced : tf.add(n.reduced, tf.div(eps, n.scale));
    if (IEEE_BACKENDS.has(tf.getBackend())) {
      // The quotient first: tf.minimum on wasm returns NaN only when its first argument is NaN.
      return {
        divisor: undefined,
        multiplier: tf.minimum(tf.div(tf.div(limit, n.scale), denominator), 1) as T,
      };
    }
    // limit / (reduced + eps / scale) multiplies g / scale; the step clips when that is below the scale. Neither
    // factor is formed from limit / scale, which a GPU may flush to 0.
    const multiplier = tf.div(limit, denominator);
    const clips = tf.logicalOr(tf.less(multiplier, n.scale), tf.isNaN(multiplier));
    const one = tf.onesLike(n.scale);
    return {
      divisor: tf.where(clips, n.scale, one) as T,
      multiplier: tf.where(clips, multiplier, one) as T,
    };
  });
}

/** No clipping: the factor 1. */
export function noClip(): ClipFactor {
  return { divisor: undefined, multiplier: tf.scalar(1) };
}

/** `a` where `condition` (a boolean scalar) holds, else `b`. */
export function selectClip(condition: tf.Tensor, a: ClipFactor, b: ClipFactor): ClipFactor {
  return tf.tidy(() => {
    const multiplier = tf.where(condition, a.multiplier, b.multiplier) as tf.Scalar;
    if (a.divisor === undefined && b.divisor === undefined) return { divisor: undefined, multiplier };
    const one = tf.onesLike(multiplier);
    return { divisor: tf.where(condition, a.divisor ?? one, b.divisor ?? one) as tf.Scalar, multiplier };
  });
}

/** A gradient clipped by the factor. */
export function applyClip(g: tf.Tensor, f: ClipFactor): tf.Tensor {
  // scaleBy: on cpu the fused kernel, 4 times faster than a broadcasting multiply by a scalar tensor.
  return f.divisor === undefined
    ? scaleBy(g, f.multiplier)
    : tf.tidy(() => tf.mul(tf.div(g, f.divisor as tf.Scalar), f.multiplier));
}

/** The norm after clipping, `N * factor` (Infinity only if beyond float32's range, as N itself). */
export function clippedNorm(n: ScaledNorm, f: ClipFactor): tf.Scalar {
  return tf.tidy(() => {
    const scaleAfter = f.divisor === undefined ? n.scale : tf.div(n.scale, f.divisor);
    return tf.mul(tf.mul(scaleAfter, f.multiplier), n.reduced) as tf.Scalar;
  });
}

/** The single coefficient of a factor, for figures kept in state (`multiplier / divisor`). */
export function clipCoefficient(limit: number | tf.Scalar, n: ScaledNorm, eps: number): tf.Scalar {
  return tf.tidy(() => {
    const f = clipFactor(limit, n, eps);
    return (f.divisor === undefined ? f.multiplier : tf.div(f.multiplier, f.divisor)) as tf.Scalar;
  });
}

/** The p-norm of the entries of `x` (see {@link scaledNorm}); Infinity when it exceeds float32's range. */
export function safeNorm(x: tf.Tensor, normType: NormType): tf.Scalar {
  return tf.tidy(() => normValue(scaledNorm(x, normType)));
}
