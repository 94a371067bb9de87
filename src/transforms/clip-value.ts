import * as tf from '@tensorflow/tfjs-core';
import { mapGrads } from '../internal/map-grads.js';
import { fail, positiveFinite } from '../internal/validate.js';
import { registerBuiltInTransform } from './registry.js';
import type { GradientTransform } from './types.js';

/** Bounds for {@link clipByValue}: any numbers with `min < max`; either may be infinite for a one-sided clip. */
export interface ClipValueBounds {
  /** The lowest value an entry may take; may be -Infinity. */
  readonly min: number;
  /** The highest value an entry may take; may be Infinity. */
  readonly max: number;
}

const FN = 'clipByValue';

/**
 * Clips every gradient entry into `[-limit, limit]` (or `[min, max]`), as PyTorch's `clip_grad_value_` and
 * Keras's `clipvalue`. NaN entries pass through unchanged, as in PyTorch. Stateless; reads nothing.
 *
 * @param limit A finite number > 0 for the symmetric range, or `{min, max}` with `min < max`.
 * @returns A gradient transform for {@link withTransforms}, {@link chain} or {@link gradientPipeline}.
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { clipByValue, gradientPipeline } from 'gradstab';
 * const pipeline = gradientPipeline(clipByValue(0.5));
 * const { grads } = pipeline.apply({ w: tf.tensor1d([-2, 0.1, 3]) });
 * grads.w.print(); // [-0.5, 0.1, 0.5]
 * ```
 */
export function clipByValue(limit: number | ClipValueBounds): GradientTransform {
  const { min, max } = parseBounds(limit);
  return {
    kind: FN,
    config: { min, max },
    init: () => ({}),
    update: (grads, state) => ({ grads: mapGrads(grads, (g) => tf.clipByValue(g, min, max)), state }),
  };
}

function parseBounds(limit: unknown): ClipValueBounds {
  if (typeof limit === 'number') {
    const l = positiveFinite(FN, 'limit', limit);
    return { min: -l, max: l };
  }
  if (limit === null || typeof limit !== 'object') {
    fail(FN, 'limit must be a finite number > 0 or an object {min, max}', limit);
  }
  const { min, max } = limit as Partial<ClipValueBounds>;
  for (const [name, value] of [
    ['min', min],
    ['max', max],
  ] as const) {
    if (typeof value !== 'number' || Number.isNaN(value)) fail(FN, `${name} must be a number`, value);
  }
  if (!((min as number) < (max as number))) fail(FN, 'min must be < max', limit);
  return { min: min as number, max: max as number };
}

registerBuiltInTransform(FN, (config) => clipByValue(config as unknown as ClipValueBounds));
