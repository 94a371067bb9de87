import * as tf from '@tensorflow/tfjs-core';
import type { Shape } from '@tensorflow/tfjs-layers';
import { brandClass, isInstance, registerClassOnce } from '../internal/identity.js';
import { assertSingleTfjs } from '../internal/single-tfjs.js';
import { fail, optionsObject, positiveFinite } from '../internal/validate.js';
import { initializerClass, ownConfig } from './base.js';
import { allocating, checkShape, fansOf, type KernelLayout } from './fans.js';
import { gainOf, type Nonlinearity, normalizeName } from './gain.js';

/** Which fan the variance is divided by: forward signal (`fanIn`), backward gradient (`fanOut`), or their mean. */
export type FanMode = 'fanIn' | 'fanOut' | 'fanAvg';

/**
 * How values are drawn, all with exactly the target standard deviation:
 * - `'normal'`: an untruncated normal (PyTorch's `*_normal_`).
 * - `'truncatedNormal'`: a normal cut at 2 standard deviations and widened by 1 / 0.8796 to keep the variance
 *   (Keras's `truncated_normal`; tfjs 4 omits the correction and comes out 12% narrow).
 * - `'uniform'`: uniform in `[-sqrt(3) std, sqrt(3) std]`.
 */
export type Distribution = 'normal' | 'truncatedNormal' | 'uniform';

/** Options shared by the variance-scaling initializers. Each field says its default. */
export interface InitializerOptions {
  /**
   * The factor on the standard deviation: a finite number > 0 that stays > 0 and finite in float32. Defaults to
   * `calculateGain(nonlinearity, negativeSlope)` where a nonlinearity is given, else to each initializer's own default
   * (1, or sqrt(2) for He).
   */
  readonly gain?: number;
  /** A nonlinearity whose gain to use (see {@link calculateGain}); give either this or `gain`. */
  readonly nonlinearity?: Nonlinearity;
  /**
   * The negative slope for `nonlinearity: 'leakyRelu'`: a finite number whose gain `sqrt(2 / (1 + slope^2))` is > 0
   * in float32 (|slope| below about 1e45). Defaults to 0.01 (PyTorch).
   */
  readonly negativeSlope?: number;
  /** Which fan: `'fanIn'`, `'fanOut'` or `'fanAvg'`. Defaults to each initializer's own. */
  readonly mode?: FanMode;
  /** How values are drawn. Defaults to each initializer's own. */
  readonly distribution?: Distribution;
  /** The kernel layout for the fans (see {@link KernelLayout}). Defaults to `'tfjs'`. */
  readonly layout?: KernelLayout;
  /** A seed: the same seed gives the same values on every call. Defaults to none: new values every call. */
  readonly seed?: number;
}

/** Options of {@link varianceScaling}: those of every initializer, plus Keras's `scale` (the variance factor). */
export interface VarianceScalingOptions extends InitializerOptions {
  /**
   * Keras's `scale`: the variance factor, i.e. `gain^2`, a finite number > 0 whose square root is > 0 and finite in
   * float32. Give at most one of `scale`, `gain`, `nonlinearity`.
   */
  readonly scale?: number;
}

/** The correction of a normal truncated at +-2 sigma: its standard deviation is 0.8796 sigma. */
const TRUNCATED_STD = 0.87962566103423978;
const MODES: readonly FanMode[] = ['fanIn', 'fanOut', 'fanAvg'];
const DISTRIBUTIONS: readonly Distribution[] = ['normal', 'truncatedNormal', 'uniform'];
const KNOWN = ['gain', 'nonlinearity', 'negativeSlope', 'mode', 'distribution', 'layout', 'seed'] as const;
/** The most values `apply` makes: tfjs's tensors are indexed with int32. */
export const MAX_TENSOR_SIZE = 2 ** 31 - 1;

/** Resolved settings of a {@link VarianceScaling} initializer (its saved config). */
interface Settings {
  gain: number;
  mode: FanMode;
  distribution: Distribution;
  layout: KernelLayout;
  seed?: number;
}

// Keras and tfjs's saved configs spell these in snake_case ('fan_in', 'truncated_normal').
function camel(value: unknown): unknown {
  return typeof value === 'string' ? value.replace(/_(\w)/g, (_, c: string) => c.toUpperCase()) : value;
}

function resolve(
  fn: string,
  options: unknown,
  defaults: { gain: number; mode: FanMode; distribution: Distribution },
): Settings {
  const opts = optionsObject<VarianceScalingOptions>(
    fn,
    options,
    fn === 'varianceScaling' ? [...KNOWN, 'scale'] : KNOWN,
  );
  const givenGain = [opts.gain, opts.nonlinearity, opts.scale].filter((v) => v !== undefined).length;
  if (givenGain > 1) fail(fn, 'give at most one of gain, nonlinearity and scale', options);
  const nonlinearity = typeof opts.nonlinearity === 'string' ? normalizeName(opts.nonlinearity) : undefined;
  if (opts.negativeSlope !== undefined && nonlinearity !== 'leakyrelu') {
    fail(fn, "negativeSlope goes with nonlinearity: 'leakyRelu'", options);
  }
  let gain = defaults.gain;
  if (opts.gain !== undefined) gain = positiveFinite(fn, 'gain', opts.gain);
  if (opts.scale !== undefined) gain = Math.sqrt(positiveFinite(fn, 'scale', opts.scale));
  if (opts.nonlinearity !== undefined) gain = gainOf(fn, opts.nonlinearity, opts.negativeSlope, 'negativeSlope');
  if (!(Math.fround(gain) > 0 && Number.isFinite(Math.fround(gain)))) {
    // The values are float32: a gain that is 0 or Infinity there gives a kernel of zeros or infinities.
    const source = opts.gain !== undefined ? 'gain' : opts.scale !== undefined ? 'scale' : 'negativeSlope';
    const rule =
      source === 'gain'
        ? 'gain must be > 0 and finite in float32'
        : `${source} must give a gain that is > 0 and finite in float32`;
    fail(fn, rule, opts[source]);
  }
  const mode = (camel(opts.mode) ?? defaults.mode) as FanMode;
  if (!MODES.includes(mode)) fail(fn, "mode must be 'fanIn', 'fanOut' or 'fanAvg'", opts.mode);
  let distribution = (camel(opts.distribution) ?? defaults.distribution) as Distribution | 'untruncatedNormal';
  if (distribution === 'untruncatedNormal') distribution = 'normal';
  if (!DISTRIBUTIONS.includes(distribution)) {
    fail(fn, "distribution must be 'normal', 'truncatedNormal' or 'uniform'", opts.distribution);
  }
  const layout = opts.layout ?? 'tfjs';
  if (layout !== 'tfjs' && layout !== 'pytorch' && layout !== 'depthwise') {
    fail(fn, "layout must be 'tfjs', 'pytorch' or 'depthwise'", layout);
  }
  if (opts.seed !== undefined && (typeof opts.seed !== 'number' || !Number.isFinite(opts.seed))) {
    fail(fn, 'seed must be a finite number', opts.seed);
  }
  return { gain, mode, distribution, layout, ...(opts.seed === undefined ? {} : { seed: opts.seed }) };
}

/**
 * A variance-scaling initializer: values with standard deviation `gain / sqrt(fan)`, the family behind Xavier/Glorot,
 * He/Kaiming and LeCun initialization. A real tf.layers initializer (use it as `kernelInitializer`, saved and loaded
 * with the model) that also creates tensors directly: `init.apply([784, 256])`.
 *
 * Build it with {@link varianceScaling}, {@link xavierUniform}, {@link heNormal} and kin.
 *
 * @example
 * ```ts
 * import { VarianceScaling } from 'gradstab';
 * const init = new VarianceScaling({ gain: 2, mode: 'fanIn', distribution: 'uniform', seed: 1 });
 * const w = init.apply([100, 10]); // uniform in +-sqrt(3) * 2 / sqrt(100)
 * console.log(init.standardDeviation([100, 10])); // 0.2
 * ```
 */
export class VarianceScaling extends initializerClass() {
  /** The class name under which tfjs saves and loads it. */
  static className = 'GradStabVarianceScaling';

  /** True for instances of this class from any copy of gradstab (its ES-module and CommonJS builds alike). */
  static override [Symbol.hasInstance](instance: unknown): boolean {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the class on the right of instanceof, a subclass too
    return isInstance(this, instance);
  }

  private readonly settings: Settings;

  constructor(options: VarianceScalingOptions = {}) {
    super();
    assertSingleTfjs('varianceScaling');
    this.settings = resolve('varianceScaling', options, { gain: 1, mode: 'fanIn', distribution: 'normal' });
  }

  /** The standard deviation the values of a kernel of this shape are drawn with. */
  standardDeviation(shape: readonly number[]): number {
    return this.stdOf('VarianceScaling.standardDeviation', shape);
  }

  private stdOf(fn: string, shape: unknown): number {
    const { fanIn, fanOut } = fansOf(fn, shape, this.settings.layout);
    const fan =
      this.settings.mode === 'fanIn' ? fanIn : this.settings.mode === 'fanOut' ? fanOut : (fanIn + fanOut) / 2;
    return this.settings.gain / Math.sqrt(fan);
  }

  /** A new tensor of this shape (whole numbers > 0, at most 2^31 - 1 values in all), drawn as configured. */
  apply(shape: Shape, dtype: tf.DataType = 'float32'): tf.Tensor {
    const fn = 'VarianceScaling.apply';
    if (dtype !== 'float32') fail(fn, "dtype must be 'float32'", dtype);
    const dims = checkShape(fn, shape, MAX_TENSOR_SIZE);
    const std = this.stdOf(fn, dims);
    const { distribution, seed } = this.settings;
    return allocating(fn, dims, () => {
      if (distribution === 'uniform') {
        const limit = Math.sqrt(3) * std;
        return tf.randomUniform(dims, -limit, limit, 'float32', seed);
      }
      if (distribution === 'truncatedNormal') return tf.truncatedNormal(dims, 0, std / TRUNCATED_STD, 'float32', seed);
      return tf.randomNormal(dims, 0, std, 'float32', seed);
    });
  }

  /** The options that rebuild this initializer (what tfjs saves with the model). */
  override getConfig(): tf.serialization.ConfigDict {
    return { ...this.settings };
  }

  /** Rebuilds it from a saved config (which tfjs hands over with extra keys of its own). */
  static override fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    return new cls(ownConfig(config, [...KNOWN, 'scale']));
  }
}

brandClass(VarianceScaling, 'VarianceScaling');
registerClassOnce(VarianceScaling);

/** Each initializer's defaults. */
type Defaults = { readonly gain: number; readonly mode: FanMode; readonly distribution: Distribution };
export const XAVIER_UNIFORM: Defaults = { gain: 1, mode: 'fanAvg', distribution: 'uniform' };
const XAVIER_NORMAL: Defaults = { gain: 1, mode: 'fanAvg', distribution: 'normal' };
const HE_UNIFORM: Defaults = { gain: Math.SQRT2, mode: 'fanIn', distribution: 'uniform' };
export const HE_NORMAL: Defaults = { gain: Math.SQRT2, mode: 'fanIn', distribution: 'normal' };
const LECUN_UNIFORM: Defaults = { gain: 1, mode: 'fanIn', distribution: 'uniform' };
export const LECUN_NORMAL: Defaults = { gain: 1, mode: 'fanIn', distribution: 'normal' };

/** An initializer with these defaults and options, whose errors name `fn` (the function the user called). */
export function initializerAs(fn: string, options: unknown, defaults: Defaults): VarianceScaling {
  assertSingleTfjs(fn);
  return new VarianceScaling(resolve(fn, options, defaults));
}

function family(fn: string, defaults: Defaults) {
  return (options?: InitializerOptions): VarianceScaling => initializerAs(fn, options, defaults);
}

/**
 * Keras-style variance scaling with every knob: `std = sqrt(scale / fan)` (or `gain / sqrt(fan)`). Defaults:
 * scale 1, mode `'fanIn'`, distribution `'normal'` (untruncated; Keras's default is `'truncatedNormal'`).
 *
 * @example
 * ```ts
 * import { varianceScaling } from 'gradstab';
 * // Keras VarianceScaling(scale=2, mode='fan_in', distribution='truncated_normal'), i.e. He normal as Keras draws it
 * const init = varianceScaling({ scale: 2, mode: 'fanIn', distribution: 'truncatedNormal', seed: 0 });
 * console.log(init.standardDeviation([3, 3, 64, 128])); // 0.05892556509887896
 * ```
 */
export function varianceScaling(options?: VarianceScalingOptions): VarianceScaling {
  return new VarianceScaling(options);
}

/**
 * Xavier/Glorot uniform: uniform in `+-gain * sqrt(6 / (fanIn + fanOut))`. Glorot & Bengio (2010), "Understanding
 * the difficulty of training deep feedforward neural networks". Defaults: gain 1, mode `'fanAvg'`. For tanh layers
 * use `{nonlinearity: 'tanh'}` (gain 5/3).
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { xavierUniform } from 'gradstab';
 * const layer = tf.layers.dense({ units: 128, inputShape: [64], activation: 'tanh', kernelInitializer: xavierUniform({ nonlinearity: 'tanh' }) });
 * ```
 */
export const xavierUniform = family('xavierUniform', XAVIER_UNIFORM);

/**
 * Xavier/Glorot normal: std `gain * sqrt(2 / (fanIn + fanOut))`, untruncated (PyTorch `xavier_normal_`; Keras's
 * `glorot_normal` is `{distribution: 'truncatedNormal'}`). Defaults: gain 1, mode `'fanAvg'`.
 *
 * @example
 * ```ts
 * import { xavierNormal } from 'gradstab';
 * console.log(xavierNormal().standardDeviation([3, 3, 64, 128])); // 0.034020690871988585
 * ```
 */
export const xavierNormal = family('xavierNormal', XAVIER_NORMAL);

/**
 * He/Kaiming uniform: uniform in `+-sqrt(3) * gain / sqrt(fan)`, gain sqrt(2) for ReLU. He et al. (2015),
 * "Delving deep into rectifiers". Defaults: gain sqrt(2), mode `'fanIn'` (`'fanOut'` keeps backward variance).
 *
 * @example
 * ```ts
 * import { heUniform } from 'gradstab';
 * const init = heUniform({ nonlinearity: 'leakyRelu', negativeSlope: 0.2 });
 * console.log(heUniform().standardDeviation([3, 3, 64, 128]) * Math.sqrt(3)); // 0.10206207261596575
 * ```
 */
export const heUniform = family('heUniform', HE_UNIFORM);

/**
 * He/Kaiming normal: std `gain / sqrt(fan)`, untruncated (PyTorch `kaiming_normal_`; Keras's `he_normal` is
 * `{distribution: 'truncatedNormal'}`, and tfjs 4's comes out 12% narrow). Defaults: gain sqrt(2), mode `'fanIn'`.
 *
 * @example
 * ```ts
 * import { heNormal } from 'gradstab';
 * const w = heNormal({ seed: 42 }).apply([784, 256]);
 * console.log(heNormal().standardDeviation([784, 256])); // 0.050507627227610534
 * ```
 */
export const heNormal = family('heNormal', HE_NORMAL);

/**
 * LeCun uniform: uniform in `+-sqrt(3 / fanIn)`. LeCun et al. (1998), "Efficient BackProp". Defaults: gain 1,
 * mode `'fanIn'`.
 *
 * @example
 * ```ts
 * import { lecunUniform } from 'gradstab';
 * console.log(lecunUniform().standardDeviation([100, 10])); // 0.1
 * ```
 */
export const lecunUniform = family('lecunUniform', LECUN_UNIFORM);

/**
 * LeCun normal: std `sqrt(1 / fanIn)`, untruncated; the initializer of self-normalizing (SELU) networks,
 * Klambauer et al. (2017). Keras's `lecun_normal` is `{distribution: 'truncatedNormal'}`. Defaults: gain 1, mode
 * `'fanIn'`.
 *
 * @example
 * ```ts
 * import { lecunNormal } from 'gradstab';
 * console.log(lecunNormal().standardDeviation([100, 10])); // 0.1
 * ```
 */
export const lecunNormal = family('lecunNormal', LECUN_NORMAL);
