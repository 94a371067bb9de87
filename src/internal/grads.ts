import type { NamedTensorMap, Tensor } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';

/** tfjs's `{name, tensor}` pair, as optimizers take and give weights (tfjs-core's index does not export it). */
export interface NamedTensor {
  /** The variable's or weight's name. */
  name: string;
  /** Its value. */
  tensor: Tensor;
}

import { setNamed } from './map-grads.js';
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
  if (container === null || typeof container !== 'object') {
    fail(
      fn,
      'gradients must be a map {name: tensor} (as from tf.variableGrads) or a list of {name, tensor}',
      container,
    );
  }
  if (Array.isArray(container)) {
    const entries = container as readonly NamedTensor[];
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i];
      if (entry == null || typeof entry !== 'object' || typeof entry.name !== 'string') {
        fail(fn, 'each gradient in a list must be an object {name, tensor}', entry);
      }
      if (entry.tensor == null) continue;
      if (Object.hasOwn(grads, entry.name)) fail(fn, 'a gradient list must name each variable once', entry.name);
      setNamed(grads, entry.name, checkGradient(fn, entry.name, entry.tensor));
    }
    return {
      grads,
      rebuild: (t) => entries.map((e) => (e.tensor == null ? e : { name: e.name, tensor: t[e.name] as Tensor })),
    };
  }
  const map = container as NamedTensorMap;
  for (const name of Object.keys(map)) {
    const tensor = map[name];
    if (tensor != null) setNamed(grads, name, checkGradient(fn, name, tensor));
  }
  return {
    grads,
    rebuild: (t) => {
      const out: NamedTensorMap = {};
      for (const name of Object.keys(map)) setNamed(out, name, (map[name] == null ? map[name] : t[name]) as Tensor);
      return out;
    },
  };
}

/**
 * Gradients must be live float32 tensors: other dtypes would give silently wrong norms (int32) or no gradient at
 * all.
 */
export function checkGradient(fn: string, name: string | null, tensor: unknown): Tensor {
  const what = name === null ? 'gradients' : `the gradient of ${JSON.stringify(name)}`;
  if (!(tensor instanceof tf.Tensor)) fail(fn, `${what} must be a tf.Tensor`, tensor);
  if (tensor.isDisposed) fail(fn, `${what} must not be disposed`, tensor, 'a disposed tensor');
  if (tensor.dtype !== 'float32') {
    const shown = name === null ? `a tensor of dtype ${tensor.dtype}` : `${tensor.dtype} for ${JSON.stringify(name)}`;
    fail(fn, 'gradients must be float32 tensors', tensor, shown);
  }
  return tensor;
}

/**
 * The current values of the variables, by the gradients' names, for the transforms that need them: undefined, or a
 * map of live tensors (a null entry is left out).
 */
export function checkParams(fn: string, params: unknown): NamedTensorMap | undefined {
  if (params === undefined) return undefined;
  if (params === null || typeof params !== 'object' || Array.isArray(params)) {
    fail(fn, 'params must be a map {name: tensor} of the variables’ current values', params);
  }
  // No prototype: a gradient named "toString" must not find Object.prototype's as its variable's value.
  const out: NamedTensorMap = Object.create(null);
  for (const [name, value] of Object.entries(params)) {
    if (value == null) continue;
    if (!(value instanceof tf.Tensor)) fail(fn, `params[${JSON.stringify(name)}] must be a tf.Tensor`, value);
    if (value.isDisposed) fail(fn, `params[${JSON.stringify(name)}] must not be disposed`, value, 'a disposed tensor');
    setNamed(out, name, value);
  }
  return out;
}
