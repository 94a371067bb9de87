import type * as tf from '@tensorflow/tfjs-core';
import { fail, optionsObject, positiveFloat32 } from '../internal/validate.js';
import { clipByGlobalNorm, clipByNorm } from '../transforms/clip-norm.js';
import { clipByValue } from '../transforms/clip-value.js';
import type { GradientTransform } from '../transforms/types.js';
import { constructAs, TransformedOptimizer } from './transformed-optimizer.js';

/** Keras's clipping arguments, camelCased. Set exactly one, as Keras requires. */
export interface ClipOptimizerOptions {
  /** Clip each gradient entry into `[-clipValue, clipValue]` (Keras `clipvalue`; {@link clipByValue}). */
  readonly clipValue?: number;
  /** Rescale each gradient tensor to L2 norm <= clipNorm (Keras `clipnorm`; {@link clipByNorm}). */
  readonly clipNorm?: number;
  /** Rescale all gradients together to global L2 norm <= globalClipNorm (Keras `global_clipnorm`; {@link clipByGlobalNorm}). */
  readonly globalClipNorm?: number;
}

/**
 * The Keras-familiar shorthand: `clipOptimizer(tf.train.adam(), {clipNorm: 1})` is Keras's
 * `Adam(clipnorm=1)`. Exactly one option may be set, as in Keras; to combine clipping kinds, or add
 * {@link skipNonFinite}, use {@link withTransforms}. Unlike Keras, a value <= 0 is an error, not "off".
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { clipOptimizer } from 'gradstab';
 * const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [2] })] });
 * model.compile({ optimizer: clipOptimizer(tf.train.adam(1e-2), { globalClipNorm: 1 }), loss: 'meanSquaredError' });
 * ```
 */
export function clipOptimizer(optimizer: tf.Optimizer, options: ClipOptimizerOptions): TransformedOptimizer {
  const opts = optionsObject<ClipOptimizerOptions>('clipOptimizer', options, [
    'clipValue',
    'clipNorm',
    'globalClipNorm',
  ]);
  const set = (Object.keys(opts) as (keyof ClipOptimizerOptions)[]).filter((k) => opts[k] !== undefined);
  if (set.length !== 1) {
    fail('clipOptimizer', 'set exactly one of clipValue, clipNorm and globalClipNorm, as Keras does', options);
  }
  const key = set[0] as keyof ClipOptimizerOptions;
  const limit = positiveFloat32('clipOptimizer', key, opts[key]);
  const make: Record<keyof ClipOptimizerOptions, (limit: number) => GradientTransform> = {
    clipValue: clipByValue,
    clipNorm: clipByNorm,
    globalClipNorm: clipByGlobalNorm,
  };
  const transform = make[key](limit);
  return constructAs('clipOptimizer', () => new TransformedOptimizer(optimizer, [transform]));
}
