import type * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

/**
 * tfjs-layers' `Initializer`, the type `kernelInitializer` and kin accept. The package's index does not export the
 * class, and a deep import (`@tensorflow/tfjs-layers/dist/initializers`) does not resolve for an ES-module consumer
 * under `moduleResolution: node16`/`nodenext` (tfjs-layers has no exports map), so the type is reached through a
 * public factory's return type.
 */
export type Initializer = ReturnType<typeof tfl.initializers.ones>;

/**
 * The class itself, for gradstab's initializers to extend (`class X extends initializerClass()`): `getInitializer`
 * accepts an object only if it is an `instanceof` it, so it is taken from a built-in initializer's prototype chain at
 * run time. A function rather than a constant, so that the d.ts and the API docs show tfjs's `Initializer` as the
 * base class, not a helper's name.
 */
export function initializerClass(): (abstract new () => Initializer) &
  Pick<typeof tf.serialization.Serializable, 'fromConfig'> {
  return Object.getPrototypeOf(tfl.initializers.zeros().constructor);
}

/** The keys of a saved config that are ours: tfjs adds `customObjects`, and a missing value comes back as null. */
export function ownConfig(config: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(config).filter(([k, v]) => v !== null && keys.includes(k)));
}
