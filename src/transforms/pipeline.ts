import * as tf from '@tensorflow/tfjs-core';
import { checkParams, viewGradients } from '../internal/grads.js';
import { setNamed } from '../internal/map-grads.js';
import { fail, withCaller } from '../internal/validate.js';
import { VariableOwner } from '../internal/variable-owner.js';
import { chain } from './chain.js';
import { checkTransforms } from './registry.js';
import { contextWithStats, StepStats } from './step-stats.js';
import type { GradientTransform } from './types.js';

/** The outcome of one {@link GradientPipeline.apply}. */
export interface PipelineStep {
  /**
   * The transformed gradients, under the input's names. Each is either an input tensor itself or a new tensor
   * owned by the caller: dispose both maps when done (disposing a tensor twice is harmless).
   */
  readonly grads: tf.NamedTensorMap;
  /**
   * True when a transform (such as {@link skipNonFinite}) decided this step must not be applied. When the decision
   * was taken on the device (skipNonFinite's), `apply` reads it back to answer: one blocking read of a boolean per
   * step. To skip with no read at all, wrap the optimizer instead, `withTransforms(optimizer, skipNonFinite(),
   * ...).applyGradients(grads)`, which puts the step back on the device.
   */
  readonly skip: boolean;
}

/** A step as run: `skipWhen` is a skip decided on the device (see {@link TransformResult.skipWhen}), owned by the caller. */
export interface DeviceStep extends PipelineStep {
  readonly skipWhen?: tf.Scalar;
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
  const transform = chain(...checkTransforms('gradientPipeline', transforms));
  const state: Record<string, tf.Variable> = {};
  let disposed = false;
  const usable = (fn: string) => {
    if (disposed) {
      fail(fn, 'this pipeline was disposed: build a new one with gradientPipeline(...)', null, 'a disposed pipeline');
    }
  };
  const owner = new VariableOwner('gradient pipeline with stateful transforms', 'build one gradientPipeline per model');
  tf.tidy(() => {
    for (const [key, value] of Object.entries(transform.init())) state[key] = tf.variable(value, false);
  });
  return {
    transform,
    state,
    apply(grads, params) {
      usable('gradientPipeline.apply');
      const checked = viewGradients('gradientPipeline.apply', grads).grads;
      if (Object.keys(state).length > 0) owner.claim('gradientPipeline.apply', Object.keys(checked));
      const step = runTransforms(transform, state, checked, checkParams('gradientPipeline.apply', params));
      if (!step.skipWhen) return step;
      // The caller decides whether to apply the step on the host: one blocking read of the flag (documented).
      const skip = step.skip || step.skipWhen.dataSync()[0] !== 0;
      step.skipWhen.dispose();
      return { grads: step.grads, skip };
    },
    setState(values) {
      usable('gradientPipeline.setState');
      assignStates('gradientPipeline.setState', transform, state, values);
    },
    dispose() {
      disposed = true;
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
  fn = 'gradientPipeline.apply',
): DeviceStep {
  // Tensors the caller must not lose: a transform may hand back a variable as a gradient.
  const owned = new Set<tf.Tensor>([...Object.values(params ?? {}), ...Object.values(state)]);
  // The step's shared figures (norm parts per gradient), freed when the step is done.
  const stats = new StepStats(true);
  try {
    return tf.tidy(() => {
      const step = runStep(transform, state, input, params, fn, owned, stats);
      // Work the transforms deferred to the end of the step (the monitor's packing, which may use a clip's figures).
      withCaller(fn, () => stats.finish());
      return { grads: step.grads, skip: step.skip, ...(step.skipWhen ? { skipWhen: step.skipWhen } : {}) };
    });
  } finally {
    stats.dispose();
  }
}

function runStep(
  transform: GradientTransform,
  state: Record<string, tf.Variable>,
  input: tf.NamedTensorMap,
  params: tf.NamedTensorMap | undefined,
  fn: string,
  owned: Set<tf.Tensor>,
  stats: StepStats,
): DeviceStep {
  const context = contextWithStats(params ? { params } : {}, stats);
  // A transform's error names the transform; the user called `fn`: `fn: adaptiveGradClip: needs ...`.
  const result = withCaller(fn, () => transform.update(input, state, context));
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
    setNamed(out, name, owned.has(g) ? tf.clone(g) : g);
  }
  return { grads: out, skip: result.skip === true, ...(result.skipWhen ? { skipWhen: result.skipWhen } : {}) };
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
  const current = Object.hasOwn(state, key) ? state[key] : undefined;
  if (!current && transform.isLazyStateKey?.(key) && value instanceof tf.Tensor && !value.isDisposed) {
    setNamed(state, key, tf.variable(value, false));
    return;
  }
  if (current === value) return;
  checkStateValue(fn, state, key, value);
  (current as tf.Variable).assign(value as tf.Tensor);
}

/**
 * Sets state values by key (as loaded from saved weights), all or none: every key must exist or be one the transform
 * creates lazily, every value a live tensor of the current shape and dtype, and lazy keys that end in an index
 * (`sum/0`, `sum/1`...) numbered from 0 without a gap. `fn` names the function the user called.
 */
export function assignStates(
  fn: string,
  transform: GradientTransform,
  state: Record<string, tf.Variable>,
  values: unknown,
): void {
  // Everything is checked before anything is assigned, so that a bad entry leaves the state as it was.
  checkStates(fn, transform, state, values);
  for (const [key, value] of Object.entries(values as Record<string, unknown>)) {
    assignState(fn, transform, state, key, value);
  }
}

/** The checks of {@link assignStates}, without assigning anything. */
export function checkStates(
  fn: string,
  transform: GradientTransform,
  state: Readonly<Record<string, tf.Variable>>,
  values: unknown,
): void {
  if (values === null || typeof values !== 'object' || Array.isArray(values)) {
    fail(fn, 'state must be a map {key: tensor}', values);
  }
  const entries = Object.entries(values as Record<string, unknown>);
  const lazy: string[] = Object.keys(state).filter((k) => transform.isLazyStateKey?.(k));
  for (const [key, value] of entries) {
    const known = Object.hasOwn(state, key);
    if (!known && transform.isLazyStateKey?.(key) && value instanceof tf.Tensor && !value.isDisposed) {
      lazy.push(key);
      continue;
    }
    if (known && (state[key] as tf.Variable) === value) continue;
    checkStateValue(fn, state, key, value);
  }
  checkIndexedKeys(fn, lazy);
}

/** The checks of {@link assignState} for a key that exists, without assigning. */
function checkStateValue(fn: string, state: Readonly<Record<string, tf.Variable>>, key: string, value: unknown): void {
  const current = Object.hasOwn(state, key) ? state[key] : undefined;
  if (!current) {
    fail(fn, `state keys are those the transforms' init() created (${Object.keys(state).join(', ') || 'none'})`, key);
  }
  if (!(value instanceof tf.Tensor)) fail(fn, `the state ${JSON.stringify(key)} must be a tensor`, value);
  if (value.isDisposed) fail(fn, `the state ${JSON.stringify(key)} must not be disposed`, value, 'a disposed tensor');
  if (current.dtype !== value.dtype || !tf.util.arraysEqual(current.shape, value.shape)) {
    fail(
      fn,
      `the state ${JSON.stringify(key)} must keep its shape [${current.shape}] and dtype ${current.dtype}`,
      value,
      `shape [${value.shape}] and dtype ${value.dtype}`,
    );
  }
}

/** Lazy keys `<prefix><index>` of one prefix must be numbered 0, 1, ... n - 1 (one per gradient, by position). */
function checkIndexedKeys(fn: string, keys: readonly string[]): void {
  const byPrefix = new Map<string, number[]>();
  for (const key of keys) {
    const match = /^(.*\/)(0|[1-9]\d*)$/.exec(key);
    if (!match) continue;
    const list = byPrefix.get(match[1] as string) ?? [];
    list.push(Number(match[2]));
    byPrefix.set(match[1] as string, list);
  }
  for (const [prefix, indices] of byPrefix) {
    const sorted = [...new Set(indices)].sort((a, b) => a - b);
    const gap = sorted.findIndex((n, i) => n !== i);
    if (gap >= 0) {
      fail(
        fn,
        `the state keys ${prefix}<i> (one per gradient, by position) must be numbered from 0 without a gap`,
        `${prefix}${sorted[gap]}`,
      );
    }
  }
}
