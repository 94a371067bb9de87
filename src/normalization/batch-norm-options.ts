import * as tf from '@tensorflow/tfjs-core';
import { fail, optionsObject, positiveFloat32 } from '../internal/validate.js';

/** The options batch normalization shares between the layer and the functional form. */
export interface BatchNormSettings {
  /**
   * The channel axis: -1 (the last, channels-last / NHWC, the default) or 1 for channels-first (NCHW, PyTorch's
   * layout); any axis of an input of rank 2 or more. Negative values count from the end. Axis 0, the batch axis, is
   * accepted as Keras and tfjs accept it: statistics per batch position, over all other axes; the layer then needs a
   * fixed batch size (`batchInputShape`), and its weights have one entry per batch position.
   */
  readonly axis?: number;
  /**
   * How much of the old moving statistic each training step keeps, in [0, 1), also in float32 (at most 0.99999994):
   * `moving = momentum * moving + (1 - momentum) * batch` (Keras's convention). Defaults to 0.99. PyTorch's `momentum` is the other weight: pass
   * `1 - m` (PyTorch's default 0.1 is 0.9 here), or use {@link pytorchBatchNormArgs}.
   */
  readonly momentum?: number;
  /**
   * Added to the variance before the square root, > 0 and finite in float32. Defaults to 1e-3 (Keras; PyTorch uses 1e-5). When the
   * backend computes in float16 (WebGL without float32 textures), a smaller epsilon is raised to the backend's own
   * (`tf.backend().epsilon()`, 1e-4 there) so that `1 / sqrt(variance + epsilon)` stays finite.
   */
  readonly epsilon?: number;
  /**
   * Store the unbiased batch variance (divided by n - 1) in the moving variance, as PyTorch's `running_var` does; a
   * boolean. Defaults to false (Keras and tfjs store the biased one). Normalization always uses the biased batch variance.
   */
  readonly unbiasedMovingVariance?: boolean;
}

/** The settings with defaults applied. */
export interface ResolvedBatchNormSettings {
  readonly axis: number;
  readonly momentum: number;
  readonly epsilon: number;
  readonly unbiasedMovingVariance: boolean;
}

/** Keras's defaults. */
export const BATCH_NORM_DEFAULTS: ResolvedBatchNormSettings = {
  axis: -1,
  momentum: 0.99,
  epsilon: 1e-3,
  unbiasedMovingVariance: false,
};

/** Checks the shared settings and fills in the defaults. `fn` names the caller (and the layer) in errors. */
export function resolveSettings(fn: string, settings: BatchNormSettings): ResolvedBatchNormSettings {
  const { axis = -1, momentum = 0.99, epsilon = 1e-3, unbiasedMovingVariance = false } = settings;
  if (typeof axis !== 'number' || !Number.isInteger(axis)) fail(fn, 'axis must be an integer', axis);
  if (typeof momentum !== 'number' || !(momentum >= 0 && momentum < 1)) {
    fail(fn, 'momentum must be a number in [0, 1) (Keras convention; PyTorch momentum m is 1 - m here)', momentum);
  }
  if (!(Math.fround(momentum) < 1)) {
    fail(
      fn,
      'momentum must be below 1 in float32 (at most 0.99999994): 1 in float32 never updates the statistics',
      momentum,
    );
  }
  positiveFloat32(fn, 'epsilon', epsilon);
  if (typeof unbiasedMovingVariance !== 'boolean') {
    fail(fn, 'unbiasedMovingVariance must be a boolean', unbiasedMovingVariance);
  }
  return { axis, momentum, epsilon, unbiasedMovingVariance };
}

/** Fails in the house format, showing an input's shape as `shape [2,3]`. */
export function failOnShape(fn: string, rule: string, shape: readonly (number | null)[]): never {
  fail(fn, rule, shape, `shape [${shape}]`);
}

/** The non-negative channel axis for an input of this shape, or a GradStabError naming `fn`. */
export function channelAxis(fn: string, axis: number, shape: readonly (number | null)[]): number {
  const rank = shape.length;
  if (rank < 2) failOnShape(fn, 'the input must have rank 2 or more (a batch axis and a channel axis)', shape);
  const resolved = axis < 0 ? axis + rank : axis;
  if (resolved < 0 || resolved >= rank) {
    failOnShape(fn, `axis ${axis} must name an axis of the rank-${rank} input (0 to ${rank - 1}, or negative)`, shape);
  }
  return resolved;
}

/** The epsilon actually used: never below what the backend can represent next to 1 (float16 on some GPUs). */
export function effectiveEpsilon(epsilon: number): number {
  return Math.max(epsilon, tf.backend().epsilon());
}

/** The PyTorch defaults of `nn.BatchNorm1d/2d/3d`, in gradstab's terms. */
export interface PyTorchBatchNormOptions {
  /**
   * PyTorch's `momentum` (the weight of the batch statistic), in (0, 1], and above 2.98e-8 so that the Keras momentum
   * `1 - momentum` is below 1 in float32. Defaults to 0.1.
   */
  readonly momentum?: number;
  /** PyTorch's `eps`, > 0 and finite in float32. Defaults to 1e-5. */
  readonly eps?: number;
}

/**
 * The batch-normalization settings that behave like PyTorch's `nn.BatchNorm1d/2d/3d`: channels on axis 1,
 * Keras momentum `1 - m`, PyTorch's epsilon, and the unbiased variance in the moving statistics. Spread it into
 * {@link layers.batchNormalization} or {@link batchNorm}'s options to port a PyTorch model (its `weight`, `bias`,
 * `running_mean`, `running_var` are gamma, beta, moving mean and moving variance, in that order).
 *
 * @param options PyTorch's `momentum` (default 0.1) and `eps` (default 1e-5).
 * @example
 * ```ts
 * import { pytorchBatchNormArgs } from 'gradstab';
 * console.log(pytorchBatchNormArgs()); // { axis: 1, momentum: 0.9, epsilon: 0.00001, unbiasedMovingVariance: true }
 * ```
 */
export function pytorchBatchNormArgs(options?: PyTorchBatchNormOptions): Required<BatchNormSettings> {
  const fn = 'pytorchBatchNormArgs';
  const { momentum = 0.1, eps = 1e-5 } = optionsObject<PyTorchBatchNormOptions>(fn, options, ['momentum', 'eps']);
  if (typeof momentum !== 'number' || !(momentum > 0 && momentum <= 1)) {
    fail(
      fn,
      "momentum must be a number in (0, 1] (PyTorch's convention; None, a cumulative average, is not supported)",
      momentum,
    );
  }
  if (!(Math.fround(1 - momentum) < 1)) {
    fail(
      fn,
      'momentum must be above 2.98e-8, so that 1 - momentum (the Keras momentum) is below 1 in float32',
      momentum,
    );
  }
  positiveFloat32(fn, 'eps', eps);
  return { axis: 1, momentum: 1 - momentum, epsilon: eps, unbiasedMovingVariance: true };
}
