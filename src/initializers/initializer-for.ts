import { fail, optionsObject } from '../internal/validate.js';
import { calculateGain, normalizeName } from './gain.js';
import { HE_NORMAL, initializerAs, LECUN_NORMAL, type VarianceScaling, XAVIER_UNIFORM } from './variance-scaling.js';

/** Options of {@link initializerFor}. */
export interface InitializerForOptions {
  /** The negative slope of a leaky ReLU. Defaults to 0.01 (PyTorch). */
  readonly negativeSlope?: number;
  /** Passed on to the initializer. */
  readonly seed?: number;
}

const RELU_FAMILY = new Set(['relu', 'relu6', 'elu', 'gelu', 'gelunew', 'silu', 'swish', 'mish']);
const LINEAR = new Set(['linear', 'identity', 'none', 'softmax', 'softplus', 'softsign']);

/**
 * The initializer that keeps the variance of activations (and of gradients) steady through depth for a given
 * activation, so that a deep stack neither vanishes nor explodes at the start of training:
 *
 * | activation | initializer | why |
 * |---|---|---|
 * | relu, relu6, elu, gelu, silu/swish, mish | `heNormal()` (gain sqrt(2), fanIn) | half the units are (about) zero: He et al. 2015 |
 * | leakyRelu | `heNormal({nonlinearity: 'leakyRelu', negativeSlope})` | gain sqrt(2 / (1 + slope^2)) |
 * | tanh | `xavierUniform({gain: 5/3})` | Glorot & Bengio 2010, PyTorch's tanh gain |
 * | sigmoid | `xavierUniform()` | Glorot & Bengio 2010 |
 * | selu | `lecunNormal()` | self-normalizing networks need std sqrt(1 / fanIn): Klambauer et al. 2017 |
 * | linear, softmax, softplus, softsign | `lecunNormal()` | keeps the forward variance of a linear map |
 *
 * Names are matched without case or underscores (`'leaky_relu'`, `'LeakyReLU'`), so tfjs's, Keras's and PyTorch's
 * spellings all work.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { initializerFor } from 'gradstab';
 * const dense = tf.layers.dense({ units: 64, inputShape: [32], activation: 'relu', kernelInitializer: initializerFor('relu') });
 * console.log(initializerFor('tanh').getConfig().gain); // 1.6666666666666667
 * ```
 */
export function initializerFor(activation: string, options?: InitializerForOptions): VarianceScaling {
  const fn = 'initializerFor';
  if (typeof activation !== 'string') fail(fn, 'activation must be a string', activation);
  const opts = optionsObject<InitializerForOptions>(fn, options, ['negativeSlope', 'seed']);
  const name = normalizeName(activation);
  const seed = opts.seed === undefined ? {} : { seed: opts.seed };
  if (opts.negativeSlope !== undefined && name !== 'leakyrelu') {
    fail(fn, 'negativeSlope is only for leakyRelu', activation);
  }
  if (RELU_FAMILY.has(name)) return initializerAs(fn, seed, HE_NORMAL);
  if (name === 'leakyrelu') {
    const slope = opts.negativeSlope === undefined ? {} : { negativeSlope: opts.negativeSlope };
    return initializerAs(fn, { nonlinearity: 'leakyRelu', ...slope, ...seed }, HE_NORMAL);
  }
  if (name === 'tanh') return initializerAs(fn, { gain: calculateGain('tanh'), ...seed }, XAVIER_UNIFORM);
  if (name === 'sigmoid') return initializerAs(fn, seed, XAVIER_UNIFORM);
  if (name === 'selu' || LINEAR.has(name)) return initializerAs(fn, seed, LECUN_NORMAL);
  return fail(
    fn,
    'activation must be one of relu, relu6, elu, gelu, silu, swish, mish, leakyRelu, tanh, sigmoid, selu, linear, softmax, softplus, softsign',
    activation,
  );
}
