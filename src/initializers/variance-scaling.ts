import * as tf from '@tensorflow/tfjs-core';
import type { Shape } from '@tensorflow/tfjs-layers';
import { brandClass, isInstance, registerClassOnce } from '../internal/identity.js';
import { assertSingleTfjs } from '../internal/single-tfjs.js';
import { fail, optionsObject, positiveFinite } from '../internal/validate.js';
import { initializerClass, ownConfig } from './base.js';
import { computeFans, type KernelLayout } from './fans.js';
import { calculateGain, type Nonlinearity, normalizeName } from './gain.js';

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
   * The factor on the standard deviation. Defaults to `calculateGain(nonlinearity, negativeSlope)` where a
   * nonlinearity is given, else to each initializer's own default (1, or sqrt(2) for He).
   */
  readonly gain?: number;
  /** A nonlinearity whose gain to use (see {@link calculateGain}); give either this or `gain`. */
  readonly nonlinearity?: Nonlinearity;
  /** The negative slope for `nonlinearity: 'leakyRelu'`. Defaults to 0.01 (PyTorch). */
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
  /** Keras's `scale`: the variance factor, i.e. `gain^2`. Give at most one of `scale`, `gain`, `nonlinearity`. */
  readonly scale?: number;
}

/** The correction of a normal truncated at +-2 sigma: its standard deviation is 0.8796 sigma. */
const TRUNCATED_STD = 0.87962566103423978;
const MODES: readonly FanMode[] = ['fanIn', 'fanOut', 'fanAvg'];
const DISTRIBUTIONS: readonly Distribution[] = ['normal', 'truncatedNormal', 'uniform'];
const KNOWN = ['gain', 'nonlinearity', 'negativeSlope', 'mode', 'distribution', 'layout', 'seed'] as const;

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
  if (opts.negativeSlope !== undefined && normalizeName(String(opts.nonlinearity)) !== 'leakyrelu') {
    fail(fn, "negativeSlope goes with nonlinearity: 'leakyRelu'", options);
  }
  let gain = defaults.gain;
  if (opts.gain !== undefined) gain = positiveFinite(fn, 'gain', opts.gain);
  if (opts.scale !== undefined) gain = Math.sqrt(positiveFinite(fn, 'scale', opts.scale));
  if (opts.nonlinearity !== undefined) gain = calculateGain(opts.nonlinearity, opts.negativeSlope);
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
    const { fanIn, fanOut } = computeFans(shape, this.settings.layout);
    const fan =
      this.settings.mode === 'fanIn' ? fanIn : this.settings.mode === 'fanOut' ? fanOut : (fanIn + fanOut) / 2;
    return this.settings.gain / Math.sqrt(fan);
  }

  /** A new tensor of this shape, drawn as configured. */
  apply(shape: Shape, dtype: tf.DataType = 'float32'): tf.Tensor {
    if (dtype !== 'float32') fail('VarianceScaling.apply', "dtype must be 'float32'", dtype);
    const dims = shape as number[];
    const std = this.standardDeviation(dims);
    const { distribution, seed } = this.settings;
    if (distribution === 'uniform') {
      const limit = Math.sqrt(3) * std;
      return tf.randomUniform(dims, -limit, limit, 'float32', seed);
    }
    if (distribution === 'truncatedNormal') return tf.truncatedNormal(dims, 0, std / TRUNCATED_STD, 'float32', seed);
    return tf.randomNormal(dims, 0, std, 'float32', seed);
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

function family(fn: string, defaults: { gain: number; mode: FanMode; distribution: Distribution }) {
  return (options?: InitializerOptions): VarianceScaling => {
    assertSingleTfjs(fn);
    return new VarianceScaling(resolve(fn, options, defaults));
  };
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
export const xavierUniform = family('xavierUniform', { gain: 1, mode: 'fanAvg', distribution: 'uniform' });

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
export const xavierNormal = family('xavierNormal', { gain: 1, mode: 'fanAvg', distribution: 'normal' });

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
export const heUniform = family('heUniform', { gain: Math.SQRT2, mode: 'fanIn', distribution: 'uniform' });

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
export const heNormal = family('heNormal', { gain: Math.SQRT2, mode: 'fanIn', distribution: 'normal' });

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
export const lecunUniform = family('lecunUniform', { gain: 1, mode: 'fanIn', distribution: 'uniform' });

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
export const lecunNormal = family('lecunNormal', { gain: 1, mode: 'fanIn', distribution: 'normal' });
