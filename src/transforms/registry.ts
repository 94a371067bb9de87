import { decodeConfig, encodeConfig } from '../internal/config-codec.js';
import { shared } from '../internal/identity.js';
import { fail, isPlainObject, optionsObject, withCaller, withoutNulls } from '../internal/validate.js';
import type { GradientTransform, TransformConfig } from './types.js';

/** Rebuilds a transform from the `config` it reported. */
export type TransformFactory = (config: Readonly<Record<string, unknown>>) => GradientTransform;

/**
 * A built-in kind's factory: it also gets the name of the function that is loading (for the errors of nested
 * loads, as a chain's), and a config whose keys were checked and whose null values were dropped.
 */
type BuiltInFactory = (config: Readonly<Record<string, unknown>>, fn: string) => GradientTransform;

// Shared by the ES-module and CommonJS builds of gradstab in one process: a transform registered through either
// loads through both (tfjs keeps whichever build's TransformedOptimizer registered first).
const { factories, builtInKinds } = shared('transformRegistry', () => ({
  factories: new Map<string, TransformFactory>(),
  builtInKinds: new Set<string>(),
}));

/** The config keys of each built-in kind (this build's): a saved config with another key is corrupt. */
const builtInKeys = new Map<string, readonly string[]>();

/**
 * Registers a kind that ships with gradstab, whose saved config has the given keys; a second build of the package
 * keeps the first one's factory.
 */
export function registerBuiltInTransform(kind: string, factory: BuiltInFactory, keys: readonly string[] = []): void {
  builtInKeys.set(kind, keys);
  if (builtInKinds.has(kind)) return;
  builtInKinds.add(kind);
  factories.set(kind, factory as TransformFactory);
}

/**
 * Makes a custom transform kind loadable: optimizers whose transforms include it can then be saved and loaded.
 * Registering the same custom kind again replaces its factory; the built-in kinds cannot be replaced.
 *
 * The config your transform reports may hold numbers (Infinity and NaN too), strings, booleans, null, arrays and
 * plain objects; gradstab encodes it so that it survives tfjs's save/load unchanged.
 *
 * @param kind The `kind` your transform objects report.
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
  if (builtInKinds.has(kind)) fail('registerTransform', 'kind must not be one of gradstab’s built-in kinds', kind);
  if (typeof factory !== 'function') fail('registerTransform', 'factory must be a function', factory);
  factories.set(kind, factory);
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
  for (let i = 0; i < transforms.length; i++) {
    const t = transforms[i]; // a for loop, not forEach: a hole in the array is checked too
    if (!isGradientTransform(t)) {
      fail(fn, `transform ${i} must be a gradient transform (an object with kind, config, init and update)`, t);
    }
  }
  return [...(transforms as GradientTransform[])];
}

/**
 * The persisted description of a transform (what the optimizer wrapper saves): its kind and its config, encoded so
 * that it survives JSON and tfjs's save/load conversions (Infinity, NaN, underscores in strings and keys).
 *
 * @example
 * ```ts
 * import { skipNonFinite, transformToConfig } from 'gradstab';
 * console.log(JSON.stringify(transformToConfig(skipNonFinite()))); // {"kind":"skipNonFinite","config":{"maxConsecutive":{"$nonFinite":"inf"},"decideOn":"auto"}}
 * ```
 */
export function transformToConfig(transform: GradientTransform): TransformConfig {
  const fn = 'transformToConfig';
  if (!isGradientTransform(transform)) {
    fail(fn, 'transform must be a gradient transform (an object with kind, config, init and update)', transform);
  }
  return {
    kind: encodeConfig(fn, transform.kind) as string,
    config: encodeConfig(fn, transform.config) as Record<string, unknown>,
  };
}

/**
 * Rebuilds a transform from {@link transformToConfig}'s output, after JSON or a tfjs save/load round trip too.
 * A corrupt description (a missing or unregistered kind, a config its factory refuses, a key it does not know) is a
 * GradStabError; null values in a built-in kind's config are taken as missing, as tfjs writes missing values.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { gradientPipeline, skipNonFinite, transformFromConfig, transformToConfig } from 'gradstab';
 * const saved = JSON.stringify(transformToConfig(skipNonFinite())); // maxConsecutive: Infinity survives JSON
 * const skip = transformFromConfig(JSON.parse(saved));
 * console.log(gradientPipeline(skip).apply({ w: tf.tensor1d([NaN]) }).skip); // true
 * ```
 */
export function transformFromConfig(description: unknown): GradientTransform {
  return transformFromDescription('transformFromConfig', description);
}

/**
 * {@link transformFromConfig} for a loader named `fn` (`TransformedOptimizer.fromConfig`, a chain's factory).
 * `encoded` is false for a description inside a config that was decoded already (a chain's parts).
 */
export function transformFromDescription(fn: string, description: unknown, encoded = true): GradientTransform {
  const d = description as Partial<TransformConfig> | null;
  if (!isPlainObject(d) || typeof d.kind !== 'string') {
    fail(fn, 'a transform description must be an object {kind, config}', description);
  }
  const config = d.config ?? {};
  if (!isPlainObject(config)) fail(fn, `the config of a ${JSON.stringify(d.kind)} transform must be an object`, config);
  const decode = (v: unknown) => (encoded ? decodeConfig(v, fn) : v);
  const plain = decode(config);
  if (!isPlainObject(plain)) fail(fn, `the config of a ${JSON.stringify(d.kind)} transform must be an object`, config);
  return buildTransform(fn, decode(d.kind) as string, plain);
}

/**
 * Rebuilds a transform from its kind and plain (decoded) config. An error of the factory is prefixed with `fn`, the
 * function the user called: `transformFromConfig: clipByNorm: maxNorm must be a finite number > 0, got -1.`
 */
function buildTransform(fn: string, kind: string, config: Readonly<Record<string, unknown>>): GradientTransform {
  const factory = factories.get(kind);
  if (!factory) fail(fn, 'kind must be registered with registerTransform(kind, factory) before loading', kind);
  const made: unknown = withCaller(fn, () => {
    if (!builtInKinds.has(kind)) return factory(config);
    const checked = optionsObject<Record<string, unknown>>(kind, withoutNulls(config), builtInKeys.get(kind) ?? []);
    return (factory as BuiltInFactory)(checked, fn);
  });
  if (!isGradientTransform(made)) {
    fail(fn, `the factory registered for ${JSON.stringify(kind)} must return a gradient transform`, made);
  }
  return made;
}
