import * as tf from '@tensorflow/tfjs-core';

/**
 * One identity for gradstab's classes across builds. Node can load the ES-module and the CommonJS build of the
 * package in one process (an app imports one, a dependency requires the other), and a bundle may hold a second copy:
 * each copy has its own classes, but they share tfjs's engine and class registry. A brand (a `Symbol.for` key on the
 * prototype) makes `instanceof` hold across the copies, and the registry keeps the first copy's class.
 */
const brands = new WeakMap<object, symbol>();

/** Gives `cls` the brand `gradstab.<name>`: instances of any copy's class of that name pass `instanceof` here. */
export function brandClass(cls: abstract new (...args: never[]) => unknown, name: string): void {
  const brand = Symbol.for(`gradstab.${name}`);
  brands.set(cls, brand);
  Object.defineProperty(cls.prototype, brand, { value: true });
}

/**
 * `instance instanceof cls` for a branded class: an ordinary prototype check, or the brand of the same class from
 * another copy of gradstab. A subclass a user writes has no brand of its own and gets the ordinary check (its
 * instances still carry its base's brand, so they pass `instanceof` of the base).
 */
export function isInstance(cls: object, instance: unknown): boolean {
  if (instance === null || (typeof instance !== 'object' && typeof instance !== 'function')) return false;
  if (Object.prototype.isPrototypeOf.call((cls as { prototype: object }).prototype, instance)) return true;
  const brand = brands.get(cls);
  return brand !== undefined && (instance as Record<symbol, unknown>)[brand] === true;
}

/**
 * Registers a class with tfjs for saving and loading, unless another copy of gradstab already registered its
 * branded twin under the same name: then that one stays, and models load into it (which passes `instanceof` of
 * this copy's class too).
 */
export function registerClassOnce<T extends tf.serialization.Serializable>(
  cls: tf.serialization.SerializableConstructor<T> & { className: string },
): void {
  const existing = tf.serialization.SerializationMap.getMap().classNameMap[cls.className]?.[0] as
    | { prototype: object }
    | undefined;
  const brand = brands.get(cls);
  if (existing && existing !== cls && brand && (existing.prototype as Record<symbol, unknown>)[brand] === true) return;
  tf.serialization.registerClass(cls);
}

/**
 * A value shared by every copy of gradstab in the realm (kept on `globalThis` under a `Symbol.for` key), made by the
 * first copy that asks: registries that must not split between the ES-module and CommonJS builds.
 */
export function shared<T>(name: string, make: () => T): T {
  const key = Symbol.for(`gradstab.${name}`);
  const realm = globalThis as unknown as Record<symbol, T | undefined>;
  const existing = realm[key];
  if (existing !== undefined) return existing;
  const made = make();
  Object.defineProperty(realm, key, { value: made, configurable: false, enumerable: false, writable: false });
  return made;
}
