import { fail, finiteNumber } from '../internal/validate.js';

/**
 * The nonlinearities {@link calculateGain} knows, in camelCase; PyTorch's snake_case spellings (`leaky_relu`,
 * `conv_transpose2d`) are accepted too.
 */
export type Nonlinearity =
  | 'linear'
  | 'identity'
  | 'conv1d'
  | 'conv2d'
  | 'conv3d'
  | 'convTranspose1d'
  | 'convTranspose2d'
  | 'convTranspose3d'
  | 'sigmoid'
  | 'tanh'
  | 'relu'
  | 'leakyRelu'
  | 'selu';

const UNIT_GAIN = new Set([
  'linear',
  'identity',
  'conv1d',
  'conv2d',
  'conv3d',
  'convtranspose1d',
  'convtranspose2d',
  'convtranspose3d',
  'sigmoid',
]);

/** PyTorch's default negative slope for `leaky_relu` in `calculate_gain`. */
export const DEFAULT_LEAKY_RELU_SLOPE = 0.01;

/** Folds PyTorch's and our spellings together: `leaky_relu`, `leakyRelu` and `LeakyReLU` are one name. */
export function normalizeName(name: string): string {
  return name.replace(/_/g, '').toLowerCase();
}

/**
 * The recommended gain for a nonlinearity: the factor by which an initializer's standard deviation is scaled so
 * that activations keep their variance from layer to layer. PyTorch's `torch.nn.init.calculate_gain` table.
 *
 * | nonlinearity | gain |
 * |---|---|
 * | linear, identity, conv1d/2d/3d, convTranspose1d/2d/3d, sigmoid | 1 |
 * | tanh | 5/3 |
 * | relu | sqrt(2) |
 * | leakyRelu | sqrt(2 / (1 + slope^2)), slope defaulting to 0.01 |
 * | selu | 3/4 |
 *
 * He et al. (2015), "Delving deep into rectifiers", derived the ReLU gain. The SELU gain of 3/4 is PyTorch's
 * table entry, but self-normalizing networks need gain 1 (`lecunNormal()`, as PyTorch's own docs advise with
 * `'linear'`); {@link initializerFor} returns that.
 *
 * @param nonlinearity One of the names above (PyTorch's snake_case spellings work too).
 * @param param The negative slope, for `leakyRelu` only: a finite number of magnitude at most 1e154 (its square must
 *   be finite, so that the gain is finite and > 0).
 * @example
 * ```ts
 * import { calculateGain } from 'gradstab';
 * console.log(calculateGain('relu')); // 1.4142135623730951
 * console.log(calculateGain('leakyRelu', 0.2)); // 1.3867504905630728
 * ```
 */
export function calculateGain(nonlinearity: Nonlinearity | string, param?: number): number {
  return gainOf('calculateGain', nonlinearity, param, 'param');
}

/** The largest negative slope: its square must be finite, so that the gain is finite and > 0. */
const MAX_SLOPE = 1e154;

/**
 * {@link calculateGain} for a caller named `fn`, whose slope option is called `paramName` (an initializer's
 * `negativeSlope`; calculateGain's `param`, described as the negative slope).
 */
export function gainOf(fn: string, nonlinearity: unknown, param: unknown, paramName: string): number {
  if (typeof nonlinearity !== 'string') fail(fn, 'nonlinearity must be a string', nonlinearity);
  const name = normalizeName(nonlinearity);
  if (name !== 'leakyrelu' && param !== undefined) {
    fail(fn, `${paramName} is only for leakyRelu (its negative slope), not ${JSON.stringify(nonlinearity)}`, param);
  }
  if (UNIT_GAIN.has(name)) return 1;
  switch (name) {
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.SQRT2;
    case 'leakyrelu': {
      const name = paramName === 'param' ? 'param (negative slope)' : paramName;
      const slope = param === undefined ? DEFAULT_LEAKY_RELU_SLOPE : finiteNumber(fn, name, param);
      if (Math.abs(slope) > MAX_SLOPE) {
        fail(fn, `${name} must be at most 1e154 in magnitude (so that the gain is finite and > 0)`, slope);
      }
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case 'selu':
      return 3 / 4;
    default:
      return fail(
        fn,
        'nonlinearity must be one of linear, identity, conv1d, conv2d, conv3d, convTranspose1d, convTranspose2d, convTranspose3d, sigmoid, tanh, relu, leakyRelu, selu',
        nonlinearity,
      );
  }
}
