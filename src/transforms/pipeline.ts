import * as tf from '@tensorflow/tfjs-core';
import { disposeReplaced } from '../internal/dispose.js';
import { viewGradients } from '../internal/grads.js';
import { fail } from '../internal/validate.js';
import { chain } from './chain.js';
import type { GradientTransform, TransformState } from './types.js';

/** The outcome of one {@link GradientPipeline.apply}. */
export interface PipelineStep {
  /** The transformed gradients; some may be the input tensors themselves. Dispose both maps when done. */
  readonly grads: tf.NamedTensorMap;
  /** True when a transform (such as {@link skipNonFinite}) decided this step must not be applied. */
  readonly skip: boolean;
}

/**
 * Runs transforms over gradient maps in a raw training loop and owns their state: the imperative shell around
 * the pure transforms, and the engine inside {@link TransformedOptimizer}.
 */
export interface GradientPipeline {
  /** The composed transform (a {@link chain} of the ones given). */
  readonly transform: GradientTransform;
  /** The current state (owned by the pipeline: do not dispose). */
  readonly state: TransformState;
  /**
   * Transforms one step's gradients. Tensors it creates along the way are freed; the state tensors are kept
   * (also inside `tf.tidy`) until replaced.
   * @param grads Gradients by variable name, float32, as from `tf.variableGrads`.
   * @param params Current variable values by the same names, for transforms that need them.
   */
  apply(grads: tf.NamedTensorMap, params?: tf.NamedTensorMap): PipelineStep;
  /** Replaces the state (by key; missing keys keep their value). The pipeline keeps its own copies. */
  setState(state: TransformState): void;
  /** Disposes the state tensors. */
  dispose(): void;
}

/**
 * Builds a {@link GradientPipeline}: the way to use gradstab's transforms in a hand-written `tf.variableGrads`
 * loop, with your optimizer or without one.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { clipByGlobalNorm, gradientPipeline, skipNonFinite } from 'gradstab';
 * const w = tf.variable(tf.tensor1d([1, 2]), true, 'w');
 * const optimizer = tf.train.sgd(0.1);
 * const pipeline = gradientPipeline(clipByGlobalNorm(1), skipNonFinite());
 * for (let step = 0; step < 3; step++) {
 *   const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(w)) as tf.Scalar);
 *   const out = pipeline.apply(grads);
 *   if (!out.skip) optimizer.applyGradients(out.grads);
 *   tf.dispose([value, grads, out.grads]);
 * }
 * ```
 */
export function gradientPipeline(...transforms: GradientTransform[]): GradientPipeline {
  const transform = chain(...transforms);
  let state: TransformState = keepAll(tf.tidy(() => transform.init()));
  return {
    transform,
    get state() {
      return state;
    },
    apply(grads, params) {
      const input = viewGradients('gradientPipeline.apply', grads).grads;
      const result = tf.tidy(() => {
        const r = transform.update(input, state, params ? { params } : {});
        return { grads: { ...r.grads }, state: { ...r.state }, skip: r.skip === true };
      });
      const next = keepAll(result.state as TransformState);
      disposeReplaced(state, next);
      state = next;
      return { grads: result.grads as tf.NamedTensorMap, skip: result.skip as boolean };
    },
    setState(values) {
      if (values === null || typeof values !== 'object')
        fail('gradientPipeline.setState', 'state must be a map', values);
      const next: Record<string, tf.Tensor> = { ...state };
      for (const [key, value] of Object.entries(values)) {
        const current = state[key];
        if (current && (current.dtype !== value.dtype || !tf.util.arraysEqual(current.shape, value.shape))) {
          fail(
            'gradientPipeline.setState',
            `the state ${JSON.stringify(key)} must keep its shape [${current.shape}] and dtype ${current.dtype}`,
            value,
            `shape [${value.shape}] and dtype ${value.dtype}`,
          );
        }
        next[key] = tf.keep(tf.clone(value));
      }
      disposeReplaced(state, next);
      state = next;
    },
    dispose() {
      disposeReplaced(state, {});
      state = {};
    },
  };
}

function keepAll(state: TransformState): TransformState {
  for (const t of Object.values(state)) tf.keep(t);
  return state;
}
