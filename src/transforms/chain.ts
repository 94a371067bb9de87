import { logicalOr, type NamedTensorMap, type Scalar, type Tensor, zerosLike } from '@tensorflow/tfjs-core';
import { selectWhere } from '../internal/select.js';
import { fail } from '../internal/validate.js';
import { checkTransforms, registerBuiltInTransform, transformFromDescription } from './registry.js';
import type { GradientTransform, TransformState } from './types.js';

/**
 * Composes transforms into one that applies them in order (optax's `chain`). The order is yours: clip then
 * skip, monitor before or after clipping. Each transform's state is kept under the prefix `i/` (its position).
 * If a transform asks to skip the step, the chain stops there: the transforms after it keep their state. A skip
 * decided on the device ({@link skipNonFinite}) cannot stop the chain without a read: the transforms after it run,
 * and their state is put back as it was where the flag is true; before {@link accumulateGradients}, which decides
 * on the host, the flag is read (one read per step).
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { chain, clipByGlobalNorm, clipByValue, gradientPipeline } from 'gradstab';
 * const clip = chain(clipByValue(1), clipByGlobalNorm(1));
 * const { grads } = gradientPipeline(clip).apply({ w: tf.tensor1d([10, 10]) });
 * grads.w.print(); // [0.7071, 0.7071]
 * ```
 */
export function chain(...transforms: GradientTransform[]): GradientTransform {
  const parts = checkTransforms('chain', transforms);
  return {
    kind: 'chain',
    config: { transforms: parts.map((t) => ({ kind: t.kind, config: t.config })) },
    init: () => {
      const state: Record<string, Tensor> = {};
      parts.forEach((t, i) => {
        Object.assign(state, prefixState(i, t.init()));
      });
      return state;
    },
    isLazyStateKey: (key) => {
      const match = /^(\d+)\/(.+)$/.exec(key);
      const part = match ? parts[Number(match[1])] : undefined;
      return part?.isLazyStateKey?.(match?.[2] as string) ?? false;
    },
    update: (grads, state, context) => {
      const next: Record<string, Tensor> = { ...state };
      let current: NamedTensorMap = grads;
      let skipWhen: Scalar | undefined;
      // Full-shape masks of the current flag, made once per shape (a new flag needs new masks).
      let shapes = new Map<string, Tensor>();
      for (let i = 0; i < parts.length; i++) {
        const part = parts[i] as GradientTransform;
        if (skipWhen && HOST_DECIDED.has(part.kind)) {
          // This transform decides on the host from a counter it mirrors there, which a device flag would leave
          // unknown: the flag is read here (the one read of such a chain), and the step stops or goes on.
          if (skipWhen.dataSync()[0] !== 0) return { grads: current, state: next, skip: true };
          skipWhen = undefined;
          shapes = new Map();
        }
        const before = subState(state, i);
        const result = part.update(current, before, context);
        // After a skip decided on the device, a later transform's state must come out as if the step never came.
        const after = skipWhen ? keptOnSkip(skipWhen, before, result.state, shapes) : result.state;
        Object.assign(next, prefixState(i, after));
        current = result.grads;
        const skipState = skipWhen ? { skipWhen } : {};
        if (result.skip) return { grads: current, state: next, skip: true, ...skipState };
        if (result.skipWhen) {
          skipWhen = skipWhen ? (logicalOr(skipWhen, result.skipWhen) as Scalar) : result.skipWhen;
          shapes = new Map();
        }
      }
      return { grads: current, state: next, ...(skipWhen ? { skipWhen } : {}) };
    },
  };
}

/**
 * Transforms that decide to skip on the host, from a counter whose value they mirror there (no read):
 * `accumulateGradients`. After a skip decided on the device their counter would be selected on the device and its
 * host mirror lost, so a chain reads the device flag before them.
 */
const HOST_DECIDED = new Set(['accumulateGradients']);

/**
 * A transform's new state where the step is skipped (a device flag): its old state, and zeros for state it made just
 * now (a running sum that did not exist yet starts from nothing).
 */
function keptOnSkip(
  skip: Scalar,
  before: TransformState,
  after: TransformState,
  shapes: Map<string, Tensor>,
): TransformState {
  const out: Record<string, Tensor> = {};
  for (const [key, value] of Object.entries(after)) {
    const old = before[key];
    if (old === value) out[key] = value;
    else out[key] = selectWhere(skip, old ?? zerosLike(value), value, shapes);
  }
  return out;
}

function prefixState(index: number, state: TransformState): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [key, value] of Object.entries(state)) out[`${index}/${key}`] = value;
  return out;
}

function subState(state: TransformState, index: number): TransformState {
  const prefix = `${index}/`;
  const out: Record<string, Tensor> = {};
  for (const [key, value] of Object.entries(state)) if (key.startsWith(prefix)) out[key.slice(prefix.length)] = value;
  return out;
}

registerBuiltInTransform(
  'chain',
  (c, fn) => {
    const list = c.transforms;
    if (!Array.isArray(list)) fail('chain', 'config.transforms must be an array', list);
    // Array.from, not map: a hole is a corrupt entry too.
    return chain(...Array.from(list, (t) => transformFromDescription(fn, t, false)));
  },
  ['transforms'],
);
