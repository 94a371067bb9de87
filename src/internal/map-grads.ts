import type { NamedTensorMap, Tensor } from '@tensorflow/tfjs-core';

/**
 * Sets `map[name] = value` as an own property whatever the name: a plain assignment to `__proto__` would replace the
 * object's prototype instead, and that gradient would be lost.
 */
export function setNamed<T>(map: Record<string, T>, name: string, value: T): void {
  if (name === '__proto__')
    Object.defineProperty(map, name, { value, enumerable: true, writable: true, configurable: true });
  else map[name] = value;
}

/** Applies `fn` to every gradient, keeping the names. */
export function mapGrads(grads: NamedTensorMap, fn: (g: Tensor, name: string) => Tensor): NamedTensorMap {
  const out: NamedTensorMap = {};
  for (const name of Object.keys(grads)) setNamed(out, name, fn(grads[name] as Tensor, name));
  return out;
}
