import type * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { isPlainObject } from '../internal/validate.js';

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

/**
 * The keys of a saved config that are ours: tfjs adds `customObjects`, and a missing value comes back as null.
 * Anything but a plain object is handed on as it is, for the constructor to refuse.
 */
export function ownConfig(config: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  if (!isPlainObject(config)) return config;
  return Object.fromEntries(Object.entries(config).filter(([k, v]) => v !== null && keys.includes(k)));
}
