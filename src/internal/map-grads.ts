import type { NamedTensorMap, Tensor } from '@tensorflow/tfjs-core';

/** Applies `fn` to every gradient, keeping the names. */
export function mapGrads(grads: NamedTensorMap, fn: (g: Tensor, name: string) => Tensor): NamedTensorMap {
  const out: NamedTensorMap = {};
  for (const name of Object.keys(grads)) out[name] = fn(grads[name] as Tensor, name);
  return out;
}
