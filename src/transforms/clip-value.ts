import * as tf from '@tensorflow/tfjs-core';
import { mapGrads } from '../internal/map-grads.js';
import { FLOAT32_MAX, fail, isPlainObject, optionsObject, positiveFloat32 } from '../internal/validate.js';
import { registerBuiltInTransform } from './registry.js';
import type { GradientTransform } from './types.js';

/**
 * Bounds for {@link clipByValue}: numbers with `min < max` (also once rounded to float32, the gradients' dtype);
 * either may be infinite for a one-sided clip, and a finite one must be finite in float32 (|x| <= 3.4e38).
 */
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
 * @param limit A finite number > 0 for the symmetric range (> 0 and finite in float32: 1e-46 would be 0 and zero
 *   every gradient), or `{min, max}` with `min < max` (see {@link ClipValueBounds}).
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
    // tfjs's wasm clip kernel turns NaN into the lower bound (checked on tfjs 4.22): put NaN back, on every backend.
    update: (grads, state) => ({
      grads: mapGrads(grads, (g) => tf.where(tf.isNaN(g), g, tf.clipByValue(g, min, max))),
      state,
    }),
  };
}

function parseBounds(limit: unknown): ClipValueBounds {
  if (typeof limit === 'number') {
    const l = positiveFloat32(FN, 'limit', limit);
    return { min: -l, max: l };
  }
  if (!isPlainObject(limit)) fail(FN, 'limit must be a finite number > 0 or an object {min, max}', limit);
  const { min, max } = optionsObject<ClipValueBounds>(FN, limit, ['min', 'max']);
  for (const [name, value] of [
    ['min', min],
    ['max', max],
  ] as const) {
    if (typeof value !== 'number' || Number.isNaN(value)) fail(FN, `${name} must be a number`, value);
    if (Number.isFinite(value) && !Number.isFinite(Math.fround(value))) {
      fail(FN, `${name} must be finite in float32 (|${name}| <= ${FLOAT32_MAX}) or infinite`, value);
    }
  }
  if (!(Math.fround(min as number) < Math.fround(max as number))) fail(FN, 'min must be < max (in float32)', limit);
  return { min: min as number, max: max as number };
}

registerBuiltInTransform(FN, (config) => clipByValue(config as unknown as ClipValueBounds), ['min', 'max']);
