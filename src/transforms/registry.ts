import { GradStabError } from '../errors.js';
import { fail } from '../internal/validate.js';
import type { GradientTransform, TransformConfig } from './types.js';

/** Rebuilds a transform from the `config` it reported. */
export type TransformFactory = (config: Readonly<Record<string, unknown>>) => GradientTransform;

const factories = new Map<string, TransformFactory>();

// Kinds are matched without case or underscores: tfjs may snake_case or camelCase them on a save/load round trip.
function normalizeKind(kind: string): string {
  return kind.replace(/_/g, '').toLowerCase();
}

/**
 * Makes a custom transform kind loadable: optimizers whose transforms include it can then be saved and loaded.
 *
 * @param kind The `kind` your transform objects report; unique (the built-in kinds are taken).
 * @param factory Rebuilds the transform from the `config` it reported.
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { registerTransform, type GradientTransform } from 'gradstab';
 * function scaleGradients(factor: number): GradientTransform {
 *   return {
 *     kind: 'myScaleGradients',
 *     config: { factor },
 *     init: () => ({}),
 *     update: (grads, state) => ({
 *       grads: Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, tf.mul(g, factor)])),
 *       state,
 *     }),
 *   };
 * }
 * registerTransform('myScaleGradients', (config) => scaleGradients(config.factor as number));
 * ```
 */
export function registerTransform(kind: string, factory: TransformFactory): void {
  if (typeof kind !== 'string' || kind.length === 0) fail('registerTransform', 'kind must be a non-empty string', kind);
  if (typeof factory !== 'function') fail('registerTransform', 'factory must be a function', factory);
  factories.set(normalizeKind(kind), factory);
}

/**
 * True when `value` has the shape of a {@link GradientTransform}.
 *
 * @example
 * ```ts
 * import { clipByValue, isGradientTransform } from 'gradstab';
 * console.log(isGradientTransform(clipByValue(1)), isGradientTransform({})); // true false
 * ```
 */
export function isGradientTransform(value: unknown): value is GradientTransform {
  if (value === null || typeof value !== 'object') return false;
  const t = value as Partial<GradientTransform>;
  return (
    typeof t.kind === 'string' &&
    typeof t.init === 'function' &&
    typeof t.update === 'function' &&
    t.config !== null &&
    typeof t.config === 'object'
  );
}

/** Throws unless every item is a gradient transform; `fn` names the caller in the error. */
export function checkTransforms(fn: string, transforms: readonly unknown[]): GradientTransform[] {
  transforms.forEach((t, i) => {
    if (!isGradientTransform(t)) {
      fail(fn, `transform ${i} must be a gradient transform (an object with kind, config, init and update)`, t);
    }
  });
  return [...(transforms as GradientTransform[])];
}

/**
 * The serializable description of a transform: its kind and config (what the optimizer wrapper saves).
 *
 * @example
 * ```ts
 * import { clipByGlobalNorm, transformToConfig } from 'gradstab';
 * console.log(transformToConfig(clipByGlobalNorm(1))); // { kind: 'clipByGlobalNorm', config: { maxNorm: 1, normType: 2 } }
 * ```
 */
export function transformToConfig(transform: GradientTransform): TransformConfig {
  return { kind: transform.kind, config: { ...transform.config } };
}

/**
 * Rebuilds a transform from {@link transformToConfig}'s output, also after tfjs's save/load round trip has
 * snake_cased its keys or turned it into JSON.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { gradientPipeline, skipNonFinite, transformFromConfig, transformToConfig } from 'gradstab';
 * const saved = JSON.stringify(transformToConfig(skipNonFinite())); // maxConsecutive: Infinity is written 'inf'
 * const skip = transformFromConfig(JSON.parse(saved));
 * console.log(gradientPipeline(skip).apply({ w: tf.tensor1d([NaN]) }).skip); // true
 * ```
 */
export function transformFromConfig(description: unknown): GradientTransform {
  const d = description as Partial<TransformConfig> | null;
  if (d === null || typeof d !== 'object' || typeof d.kind !== 'string') {
    fail('transformFromConfig', 'a transform description must be an object {kind, config}', description);
  }
  const factory = factories.get(normalizeKind(d.kind));
  if (!factory) {
    throw new GradStabError(
      `transformFromConfig: unknown transform kind ${JSON.stringify(d.kind)}; ` +
        'register custom transforms with registerTransform(kind, factory) before loading.',
    );
  }
  return factory((d.config ?? {}) as Record<string, unknown>);
}
