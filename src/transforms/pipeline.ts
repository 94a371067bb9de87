import * as tf from '@tensorflow/tfjs-core';
import { viewGradients } from '../internal/grads.js';
import { fail } from '../internal/validate.js';
import { chain } from './chain.js';
import type { GradientTransform } from './types.js';

/** The outcome of one {@link GradientPipeline.apply}. */
export interface PipelineStep {
  /**
   * The transformed gradients, under the input's names. Each is either an input tensor itself or a new tensor
   * owned by the caller: dispose both maps when done (disposing a tensor twice is harmless).
   */
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
  /**
   * The state, held in non-trainable variables that each step updates with `assign` (as tfjs optimizers hold
   * their slots), so a reference taken now stays valid and shows the latest values. Owned by the pipeline.
   */
  readonly state: Readonly<Record<string, tf.Variable>>;
  /**
   * Transforms one step's gradients. Tensors it creates along the way are freed, also inside `tf.tidy`.
   * @param grads Gradients by variable name, float32, as from `tf.variableGrads`.
   * @param params Current variable values by the same names, for transforms that need them.
   */
  apply(grads: tf.NamedTensorMap, params?: tf.NamedTensorMap): PipelineStep;
  /** Sets state values by key (as loaded from saved weights); each key must exist and keep its shape and dtype. */
  setState(values: Readonly<Record<string, tf.Tensor>>): void;
  /** Disposes the state variables. */
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
 * const pipeline = gradientPipeline(skipNonFinite(), clipByGlobalNorm(1));
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
  const state: Record<string, tf.Variable> = {};
  tf.tidy(() => {
    for (const [key, value] of Object.entries(transform.init())) state[key] = tf.variable(value, false);
  });
  return {
    transform,
    state,
    apply(grads, params) {
      return runTransforms(transform, state, viewGradients('gradientPipeline.apply', grads).grads, params);
    },
    setState(values) {
      const fn = 'gradientPipeline.setState';
      if (values === null || typeof values !== 'object') fail(fn, 'state must be a map of tensors', values);
      for (const [key, value] of Object.entries(values)) assignState(fn, transform, state, key, value);
    },
    dispose() {
      for (const key of Object.keys(state)) {
        state[key]?.dispose();
        delete state[key];
      }
    },
  };
}

/**
 * One step of `transform` over gradients already checked by `viewGradients`, storing its new state. Shared by
 * {@link GradientPipeline.apply} and {@link TransformedOptimizer}, which checks its container once itself.
 */
export function runTransforms(
  transform: GradientTransform,
  state: Record<string, tf.Variable>,
  input: tf.NamedTensorMap,
  params?: tf.NamedTensorMap,
): PipelineStep {
  const fn = 'gradientPipeline.apply';
  // Tensors the caller must not lose: a transform may hand back a variable as a gradient.
  const owned = new Set<tf.Tensor>([...Object.values(params ?? {}), ...Object.values(state)]);
  return tf.tidy(() => {
    const result = transform.update(input, state, params ? { params } : {});
    for (const [key, value] of Object.entries(result.state)) assignState(fn, transform, state, key, value);
    const out: tf.NamedTensorMap = {};
    for (const name of Object.keys(input)) {
      const g = result.grads[name];
      if (!g) {
        const names = Object.keys(result.grads);
        fail(
          fn,
          `the transforms must return a gradient for every input, and ${JSON.stringify(name)} is missing`,
          names,
          `[${names.join(', ')}]`,
        );
      }
      out[name] = owned.has(g) ? tf.clone(g) : g;
    }
    return { grads: out, skip: result.skip === true };
  });
}

/**
 * Stores a new state value; `assign` shares the value's buffer, so the value itself may be freed afterwards. A key
 * the transform declares lazy gets its variable when it first appears (`tf.variable` shares the buffer too).
 */
function assignState(
  fn: string,
  transform: GradientTransform,
  state: Record<string, tf.Variable>,
  key: string,
  value: unknown,
): void {
  const current = state[key];
  if (!current) {
    if (transform.isLazyStateKey?.(key) && value instanceof tf.Tensor) {
      state[key] = tf.variable(value, false);
      return;
    }
    fail(fn, `state keys are those the transforms' init() created (${Object.keys(state).join(', ') || 'none'})`, key);
  }
  if (current === value) return;
  if (!(value instanceof tf.Tensor)) fail(fn, `the state ${JSON.stringify(key)} must be a tensor`, value);
  if (current.dtype !== value.dtype || !tf.util.arraysEqual(current.shape, value.shape)) {
    fail(
      fn,
      `the state ${JSON.stringify(key)} must keep its shape [${current.shape}] and dtype ${current.dtype}`,
      value,
      `shape [${value.shape}] and dtype ${value.dtype}`,
    );
  }
  current.assign(value);
}
