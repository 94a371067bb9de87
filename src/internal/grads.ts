import type { NamedTensorMap, Tensor } from '@tensorflow/tfjs-core';

/** tfjs's `{name, tensor}` pair, as optimizers take and give weights (tfjs-core's index does not export it). */
export interface NamedTensor {
  /** The variable's or weight's name. */
  name: string;
  /** Its value. */
  tensor: Tensor;
}

import { fail } from './validate.js';

/** The two shapes tfjs hands gradients around in: `variableGrads` maps, and `minimize(f, _, varList)` arrays. */
export type GradientContainer = NamedTensorMap | readonly NamedTensor[];

/**
 * The non-null gradients of a container as a map, and a way to put transformed ones back in the same container.
 * tfjs optimizers keep their slot state by position, so the rebuilt container keeps the order, the length and the
 * null entries of the original, and an array stays an array.
 */
export interface GradientView {
  readonly grads: NamedTensorMap;
  rebuild(transformed: NamedTensorMap): NamedTensorMap | NamedTensor[];
}

export function viewGradients(fn: string, container: GradientContainer): GradientView {
  const grads: NamedTensorMap = {};
  if (Array.isArray(container)) {
    const entries = container as readonly NamedTensor[];
    for (const entry of entries) {
      if (entry == null || typeof entry.name !== 'string') {
        fail(fn, 'each gradient in a list must be an object {name, tensor}', entry);
      }
      if (entry.tensor == null) continue;
      if (entry.name in grads) fail(fn, 'a gradient list must name each variable once', entry.name);
      grads[entry.name] = checkGradient(fn, entry.name, entry.tensor);
    }
    return {
      grads,
      rebuild: (t) => entries.map((e) => (e.tensor == null ? e : { name: e.name, tensor: t[e.name] as Tensor })),
    };
  }
  const map = container as NamedTensorMap;
  for (const name of Object.keys(map)) {
    const tensor = map[name];
    if (tensor != null) grads[name] = checkGradient(fn, name, tensor);
  }
  return {
    grads,
    rebuild: (t) => {
      const out: NamedTensorMap = {};
      for (const name of Object.keys(map)) out[name] = (map[name] == null ? map[name] : t[name]) as Tensor;
      return out;
    },
  };
}

/** Gradients must be float32: other dtypes would give silently wrong norms (int32) or no gradient at all. */
export function checkGradient(fn: string, name: string | null, tensor: Tensor): Tensor {
  if (tensor.dtype !== 'float32') {
    const shown = name === null ? `a tensor of dtype ${tensor.dtype}` : `${tensor.dtype} for ${JSON.stringify(name)}`;
    fail(fn, 'gradients must be float32 tensors', tensor, shown);
  }
  return tensor;
}
