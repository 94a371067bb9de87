import * as tf from '@tensorflow/tfjs-core';
import type { Shape } from '@tensorflow/tfjs-layers';
import { brandClass, isInstance, registerClassOnce } from '../internal/identity.js';
import { normalSampler } from '../internal/prng.js';
import { assertSingleTfjs } from '../internal/single-tfjs.js';
import { fail, optionsObject, positiveFloat32 } from '../internal/validate.js';
import { initializerClass, ownConfig } from './base.js';
import { allocating, checkShape, showShape } from './fans.js';
import { orthonormalFactor } from './qr.js';

/** Options of {@link orthogonal}. */
export interface OrthogonalOptions {
  /** The factor on the orthogonal matrix (e.g. `calculateGain('relu')`), > 0 and finite in float32. Defaults to 1. */
  readonly gain?: number;
  /** A seed: the same seed gives the same matrix on every call. Defaults to none: a new matrix every call. */
  readonly seed?: number;
}

/**
 * The orthogonal initializer (Saxe, McClelland & Ganguli 2014, "Exact solutions to the nonlinear dynamics of
 * learning in deep linear neural networks"): the kernel, flattened to `[prod(shape[:-1]), shape[-1]]` as Keras
 * does, is a (semi-)orthogonal matrix times `gain`: `W^T W = gain^2 I` when it has at least as many rows as
 * columns, `W W^T = gain^2 I` otherwise. A real tf.layers initializer, saved and loaded with the model.
 *
 * Computed on the host in float64 (a Householder QR of a seeded Gaussian matrix, columns signed by R's diagonal
 * so the result is uniformly distributed); no device read. On a 256 x 256 kernel this is over 20x faster than
 * `tf.initializers.orthogonal` on the cpu backend (see docs/benchmarks.md).
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { Orthogonal } from 'gradstab';
 * const w = new Orthogonal({ seed: 3 }).apply([4, 4]);
 * tf.matMul(w, w, true, false).print(); // [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]
 * ```
 */
export class Orthogonal extends initializerClass() {
  /** The class name under which tfjs saves and loads it. */
  static className = 'GradStabOrthogonal';

  /** True for instances of this class from any copy of gradstab (its ES-module and CommonJS builds alike). */
  static override [Symbol.hasInstance](instance: unknown): boolean {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the class on the right of instanceof, a subclass too
    return isInstance(this, instance);
  }

  private readonly gain: number;
  private readonly seed: number | undefined;

  constructor(options: OrthogonalOptions = {}) {
    super();
    assertSingleTfjs('orthogonal');
    const opts = optionsObject<OrthogonalOptions>('orthogonal', options, ['gain', 'seed']);
    this.gain = opts.gain === undefined ? 1 : positiveFloat32('orthogonal', 'gain', opts.gain);
    if (opts.seed !== undefined && (typeof opts.seed !== 'number' || !Number.isFinite(opts.seed))) {
      fail('orthogonal', 'seed must be a finite number', opts.seed);
    }
    this.seed = opts.seed;
  }

  /** A new (semi-)orthogonal tensor of this shape (rank >= 2, whole numbers > 0, at most 2^31 - 1 values). */
  apply(shape: Shape, dtype: tf.DataType = 'float32'): tf.Tensor {
    const fn = 'Orthogonal.apply';
    if (dtype !== 'float32') fail(fn, "dtype must be 'float32'", dtype);
    const dims = checkShape(fn, shape, 2 ** 31 - 1);
    if (dims.length < 2) fail(fn, 'shape must have rank >= 2 (a kernel)', dims, showShape(dims));
    const cols = dims[dims.length - 1] as number;
    const rows = dims.slice(0, -1).reduce((a, b) => a * b, 1);
    const m = Math.max(rows, cols);
    const n = Math.min(rows, cols);
    const sample = normalSampler(this.seed ?? Math.floor(Math.random() * 2 ** 32));
    return allocating(fn, dims, () => {
      const gaussian = new Float64Array(m * n);
      for (let i = 0; i < gaussian.length; i++) gaussian[i] = sample();
      const q = orthonormalFactor(gaussian, m, n); // m x n, column-major
      const out = new Float32Array(rows * cols);
      for (let i = 0; i < rows; i++) {
        for (let j = 0; j < cols; j++) {
          // Without transposition W = Q (rows >= cols); with it, W = Q^T.
          const value = rows >= cols ? q[i + j * m] : q[j + i * m];
          out[i * cols + j] = this.gain * (value as number);
        }
      }
      return tf.tensor(out, dims, 'float32');
    });
  }

  /** The options that rebuild this initializer (what tfjs saves with the model). */
  override getConfig(): tf.serialization.ConfigDict {
    return { gain: this.gain, ...(this.seed === undefined ? {} : { seed: this.seed }) };
  }

  /** Rebuilds it from a saved config (which tfjs hands over with extra keys of its own). */
  static override fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    return new cls(ownConfig(config, ['gain', 'seed']));
  }
}

brandClass(Orthogonal, 'Orthogonal');
registerClassOnce(Orthogonal);

/**
 * Builds an {@link Orthogonal} initializer.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { calculateGain, orthogonal } from 'gradstab';
 * const layer = tf.layers.dense({ units: 256, inputShape: [256], activation: 'relu', kernelInitializer: orthogonal({ gain: calculateGain('relu') }) });
 * ```
 */
export function orthogonal(options?: OrthogonalOptions): Orthogonal {
  return new Orthogonal(options);
}
