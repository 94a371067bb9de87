import { clipFactor, NORM_EPS, scaledNormOfAll } from '../internal/norms.js';
import { optionsObject, positiveFloat32 } from '../internal/validate.js';
import { parseNormType } from './norm-type.js';
import { registerBuiltInTransform } from './registry.js';
import { namedLike, scaleGrads, statsOf, tensorsOf } from './step-stats.js';
import type { GradientTransform, NormType } from './types.js';

/**
 * Rescales each gradient tensor on its own so that its L2 norm is at most `maxNorm`: Keras's `clipnorm`,
 * `g * maxNorm / max(||g||, maxNorm)`. Tensors already within the limit are unchanged. Overflow-safe; reads nothing.
 *
 * Use {@link clipByGlobalNorm} to keep the direction of the whole update (PyTorch's and optax's usual choice).
 *
 * @param maxNorm The largest L2 norm a single gradient tensor may have; a finite number > 0, also in float32.
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { clipByNorm, gradientPipeline } from 'gradstab';
 * const { grads } = gradientPipeline(clipByNorm(1)).apply({ a: tf.tensor1d([3, 4]), b: tf.tensor1d([0.3, 0.4]) });
 * grads.a.print(); // [0.6, 0.8]  (norm 5 -> 1)
 * grads.b.print(); // [0.3, 0.4]  (norm 0.5, unchanged)
 * ```
 */
export function clipByNorm(maxNorm: number): GradientTransform {
  const limit = positiveFloat32('clipByNorm', 'maxNorm', maxNorm);
  return {
    kind: 'clipByNorm',
    config: { maxNorm: limit },
    init: () => ({}),
    update: (grads, state, context) => {
      const stats = statsOf(context);
      const tensors = tensorsOf(grads);
      // Keras's g * maxNorm / max(||g||, maxNorm) is g * min(1, maxNorm / ||g||), taken without forming ||g||: one
      // factor per tensor, computed for all of them at once.
      const factors = clipFactor(limit, stats.norms(tensors), 0);
      return { grads: namedLike(grads, stats.scaledEach(tensors, factors)), state };
    },
  };
}

/** Options of {@link clipByGlobalNorm}. */
export interface ClipByGlobalNormOptions {
  /** The norm measured: 1, 2 or `'inf'` (largest absolute entry), as PyTorch's `norm_type`. Defaults to 2. */
  readonly normType?: NormType;
}

/**
 * Scales all gradients by one factor so that their global norm is at most `maxNorm`, as PyTorch's
 * `clip_grad_norm_`: the factor is `min(1, maxNorm / (N + 1e-6))`, always multiplied (no branch, no read).
 * The direction of the update is kept. As in PyTorch, an infinite N makes finite entries 0 and infinite ones NaN,
 * and a NaN N makes every entry NaN; put {@link skipNonFinite} before it to drop such steps.
 *
 * Pascanu, Mikolov & Bengio (2013), "On the difficulty of training recurrent neural networks".
 *
 * @param maxNorm The largest global norm allowed; a finite number > 0, also in float32.
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { clipByGlobalNorm, gradientPipeline } from 'gradstab';
 * const { grads } = gradientPipeline(clipByGlobalNorm(1)).apply({ a: tf.tensor1d([3]), b: tf.tensor1d([4]) });
 * grads.a.print(); // [0.6]
 * grads.b.print(); // [0.8]
 * ```
 */
export function clipByGlobalNorm(maxNorm: number, options?: ClipByGlobalNormOptions): GradientTransform {
  const limit = positiveFloat32('clipByGlobalNorm', 'maxNorm', maxNorm);
  const opts = optionsObject<ClipByGlobalNormOptions>('clipByGlobalNorm', options, ['normType']);
  const normType = parseNormType('clipByGlobalNorm', opts.normType);
  return {
    kind: 'clipByGlobalNorm',
    config: { maxNorm: limit, normType },
    init: () => ({}),
    update: (grads, state, context) => {
      const stats = statsOf(context);
      const tensors = tensorsOf(grads);
      // The L2 norm comes from the step's shared figures (skipNonFinite before it may have them already).
      const norm = normType === 2 ? stats.globalNorm(tensors) : scaledNormOfAll(tensors, normType);
      return { grads: scaleGrads(stats, grads, clipFactor(limit, norm, NORM_EPS)), state };
    },
  };
}

registerBuiltInTransform('clipByNorm', (c) => clipByNorm(c.maxNorm as number), ['maxNorm']);
registerBuiltInTransform(
  'clipByGlobalNorm',
  (c) => clipByGlobalNorm(c.maxNorm as number, { normType: c.normType as NormType }),
  ['maxNorm', 'normType'],
);
