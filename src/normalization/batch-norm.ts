import * as tf from '@tensorflow/tfjs-core';
import { booleanValue, fail, optionsObject, wholeNumber } from '../internal/validate.js';
import { channelLayout, normalizeBatch, normalizeWith } from './batch-norm-core.js';
import {
  type BatchNormSettings,
  channelAxis,
  effectiveEpsilon,
  failOnShape,
  resolveSettings,
} from './batch-norm-options.js';
import { movingAverage } from './moving-average.js';

/** The learned per-channel parameters of {@link batchNorm}: each `[C]`, or absent to leave that step out. */
export interface BatchNormParams {
  /** The scale, `[C]` (PyTorch's `weight`). Absent or null: no scaling (Keras `scale: false`). */
  readonly gamma?: tf.Tensor | null;
  /** The offset, `[C]` (PyTorch's `bias`). Absent or null: no offset (Keras `center: false`). */
  readonly beta?: tf.Tensor | null;
}

/** The moving statistics of {@link batchNorm}, `[C]` each, used for inference and updated in training. */
export interface BatchNormState {
  /** The moving mean (PyTorch's `running_mean`). */
  readonly movingMean: tf.Tensor;
  /** The moving variance (PyTorch's `running_var`). */
  readonly movingVariance: tf.Tensor;
}

/** Options of {@link batchNorm}. */
export interface BatchNormOptions extends BatchNormSettings {
  /**
   * True: normalize with the batch's own statistics and return updated moving statistics. False: normalize with
   * the moving statistics and return them unchanged. Required, as the two modes give different results.
   */
  readonly training: boolean;
}

/** What {@link batchNorm} returns. */
export interface BatchNormResult {
  /** The normalized input, shaped like it. */
  readonly y: tf.Tensor;
  /**
   * The moving statistics after this call: new tensors in training, the very tensors passed in otherwise. Nothing
   * is assigned for you; assign them to your variables (see the example).
   */
  readonly state: BatchNormState;
}

const FN = 'batchNorm';
/** The most channels: tfjs's tensors are indexed with int32. */
const MAX_CHANNELS = 2 ** 31 - 1;
const OPTION_KEYS = ['training', 'axis', 'momentum', 'epsilon', 'unbiasedMovingVariance'];

/**
 * Batch normalization as a function, for training loops written with `tf.variable`s: normalizes `x` per channel
 * with the batch statistics (training) or the moving ones (inference), then scales by gamma and shifts by beta.
 * Pure: it returns the output and the new moving statistics and mutates nothing, so it can sit anywhere inside
 * `optimizer.minimize` or `tf.variableGrads`; assign the returned state to your variables there. The gradient is
 * the closed form (with respect to x, gamma and beta), correct on every axis and rank.
 *
 * @param x The input, rank 2 or more, float32, channels on `options.axis`.
 * @param params gamma and beta, `[C]` each, either may be left out. Make them with {@link batchNormVariables}.
 * @param state The moving mean and variance, `[C]` each.
 * @param options `training` (required), `axis` (-1), `momentum` (0.99, Keras convention), `epsilon` (1e-3),
 *   `unbiasedMovingVariance` (false); {@link pytorchBatchNormArgs} gives PyTorch's.
 * @returns The output and the moving statistics after this call.
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { batchNorm, batchNormVariables } from 'gradstab';
 * const bn = batchNormVariables(1);
 * const x = tf.tensor2d([[1], [2], [3], [4]]);
 * const optimizer = tf.train.sgd(0.1);
 * optimizer.minimize(() => {
 *   const { y, state } = batchNorm(x, bn.params, bn.state, { training: true });
 *   bn.state.movingMean.assign(state.movingMean); // once per step, inside the loss function
 *   bn.state.movingVariance.assign(state.movingVariance);
 *   return tf.sum(tf.square(y)) as tf.Scalar;
 * });
 * bn.state.movingMean.print(); // [0.025]
 * bn.state.movingVariance.print(); // [1.0025]
 * (bn.params.gamma as tf.Variable).print(); // [0.2006394] (the loss pulled the scale down)
 * batchNorm(tf.tensor2d([[1], [4]]), bn.params, bn.state, { training: false }).y.print(); // [[0.195282], [0.7961497]]
 * ```
 */
export function batchNorm(
  x: tf.Tensor,
  params: BatchNormParams,
  state: BatchNormState,
  options: BatchNormOptions,
): BatchNormResult {
  const opts = optionsObject<BatchNormOptions>(FN, options, OPTION_KEYS);
  if (typeof opts.training !== 'boolean') fail(FN, 'options.training must be true or false', opts.training);
  const settings = resolveSettings(FN, opts);
  if (!(x instanceof tf.Tensor)) fail(FN, 'x must be a tensor', x);
  if (x.dtype !== 'float32') fail(FN, 'x must be float32', x);
  const axis = channelAxis(FN, settings.axis, x.shape);
  const layout = channelLayout(x.shape, axis);
  const p = recordOf<BatchNormParams>('params', params, ['gamma', 'beta']);
  const s = recordOf<BatchNormState>('state', state, ['movingMean', 'movingVariance']);
  const gamma = channelVector('params.gamma', p.gamma ?? null, layout.channels, true);
  const beta = channelVector('params.beta', p.beta ?? null, layout.channels, true);
  const movingMean = channelVector('state.movingMean', s.movingMean, layout.channels, false) as tf.Tensor;
  const movingVariance = channelVector('state.movingVariance', s.movingVariance, layout.channels, false) as tf.Tensor;
  const epsilon = effectiveEpsilon(settings.epsilon);
  if (!opts.training) {
    const y = tf.tidy(() => normalizeWith(x, movingMean, movingVariance, gamma, beta, epsilon, layout));
    return { y, state: s as BatchNormState };
  }
  if (settings.unbiasedMovingVariance && layout.count < 2) {
    failOnShape(FN, 'unbiasedMovingVariance needs more than 1 value per channel in training', x.shape);
  }
  return tf.tidy(() => {
    const { y, mean, variance } = normalizeBatch(x, gamma, beta, epsilon, layout);
    const batchVariance = settings.unbiasedMovingVariance
      ? tf.mul(variance, layout.count / (layout.count - 1))
      : variance;
    return {
      y,
      state: {
        movingMean: movingAverage(movingMean, mean, settings.momentum),
        movingVariance: movingAverage(movingVariance, batchVariance, settings.momentum),
      },
    };
  });
}

/** `params` or `state`: an object with only the known keys. */
function recordOf<T extends object>(name: string, value: unknown, keys: readonly string[]): Partial<T> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    fail(FN, `${name} must be an object {${keys.join(', ')}}`, value);
  }
  for (const key of Object.keys(value)) {
    if (!keys.includes(key))
      fail(FN, `${name} has an unknown key ${JSON.stringify(key)} (known: ${keys.join(', ')})`, key);
  }
  return value as Partial<T>;
}

/** A `[channels]` float32 tensor, or null where that is allowed. */
function channelVector(name: string, t: unknown, channels: number, optional: boolean): tf.Tensor | null {
  if ((t === null || t === undefined) && optional) return null;
  if (!(t instanceof tf.Tensor)) fail(FN, `${name} must be a tensor`, t);
  if (t.rank !== 1 || t.shape[0] !== channels || t.dtype !== 'float32') {
    fail(FN, `${name} must be a float32 tensor of shape [${channels}] (one value per channel)`, t);
  }
  return t;
}

/** The trainable parameters made by {@link batchNormVariables}. */
export interface BatchNormParamVariables {
  /** The scale, ones at first; absent with `scale: false`. */
  readonly gamma?: tf.Variable;
  /** The offset, zeros at first; absent with `center: false`. */
  readonly beta?: tf.Variable;
}

/** The non-trainable moving statistics made by {@link batchNormVariables}. */
export interface BatchNormStateVariables {
  /** The moving mean, zeros at first. */
  readonly movingMean: tf.Variable;
  /** The moving variance, ones at first. */
  readonly movingVariance: tf.Variable;
}

/** The variables of one {@link batchNorm}: trainable params and non-trainable state. */
export interface BatchNormVariables {
  /** gamma and beta, trainable: pass as {@link batchNorm}'s `params`. */
  readonly params: BatchNormParamVariables;
  /** The moving statistics, not trainable: pass as {@link batchNorm}'s `state`, assign its result back. */
  readonly state: BatchNormStateVariables;
}

/** Options of {@link batchNormVariables}. */
export interface BatchNormVariablesOptions {
  /** Make gamma (a boolean). Defaults to true. */
  readonly scale?: boolean;
  /** Make beta (a boolean). Defaults to true. */
  readonly center?: boolean;
  /**
   * A prefix for the variables' names (`<name>/gamma`, ...), a non-empty string that no live variable's name uses yet.
   * Defaults to none.
   */
  readonly name?: string;
}

/**
 * Creates the variables {@link batchNorm} needs for `channels` channels, initialized as Keras and PyTorch do:
 * gamma ones, beta zeros (both trainable), moving mean zeros and moving variance ones (not trainable, so
 * `optimizer.minimize` leaves them alone).
 *
 * @param channels The number of channels, a whole number from 1 to 2^31 - 1.
 * @param options `scale`, `center` (both true) and a `name` prefix.
 * @example
 * ```ts
 * import { batchNormVariables } from 'gradstab';
 * const bn = batchNormVariables(3, { name: 'bn1' });
 * console.log(bn.params.gamma?.name, bn.state.movingMean.trainable); // bn1/gamma false
 * bn.state.movingVariance.print(); // [1, 1, 1]
 * ```
 */
export function batchNormVariables(channels: number, options?: BatchNormVariablesOptions): BatchNormVariables {
  const fn = 'batchNormVariables';
  wholeNumber(fn, 'channels', channels, 1, false, MAX_CHANNELS);
  const opts = optionsObject<BatchNormVariablesOptions>(fn, options, ['scale', 'center', 'name']);
  const scale = opts.scale === undefined ? true : booleanValue(fn, 'scale', opts.scale);
  const center = opts.center === undefined ? true : booleanValue(fn, 'center', opts.center);
  const { name } = opts;
  if (name !== undefined && (typeof name !== 'string' || name === ''))
    fail(fn, 'name must be a non-empty string', name);
  const named = (what: string) => (name === undefined ? undefined : `${name}/${what}`);
  const made = [...(scale ? ['gamma'] : []), ...(center ? ['beta'] : []), 'moving_mean', 'moving_variance'];
  for (const what of made) {
    const full = named(what);
    if (full !== undefined && Object.hasOwn(tf.engine().registeredVariables, full)) {
      fail(fn, `name must be unique among live variables, and ${JSON.stringify(full)} exists`, name);
    }
  }
  const variable = (init: () => tf.Tensor, trainable: boolean, what: string) =>
    tf.tidy(() => tf.variable(init(), trainable, named(what), 'float32')); // the tidy frees the initial value
  return {
    params: {
      ...(scale ? { gamma: variable(() => tf.ones([channels]), true, 'gamma') } : {}),
      ...(center ? { beta: variable(() => tf.zeros([channels]), true, 'beta') } : {}),
    },
    state: {
      movingMean: variable(() => tf.zeros([channels]), false, 'moving_mean'),
      movingVariance: variable(() => tf.ones([channels]), false, 'moving_variance'),
    },
  };
}
