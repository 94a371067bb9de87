import type { NamedTensorMap, Scalar, Tensor } from '@tensorflow/tfjs-core';

/**
 * The state of a gradient transform: a flat record of tensors, keyed by name. A transform never mutates it:
 * `update` returns a new record (which may reuse unchanged tensors), and whoever owns the state (a
 * {@link TransformedOptimizer} or a {@link GradientPipeline}) disposes the tensors that were replaced.
 * Keys are stable names (`count`, `0/count` inside a chain): they name the weights saved with the optimizer.
 */
export type TransformState = Readonly<Record<string, Tensor>>;

/** What a transform sees besides the gradients. */
export interface UpdateContext {
  /**
   * The current value of each variable, by the same names as the gradients, where known. The optimizer wrapper
   * fills it from the tfjs variable registry; in a raw loop pass it to {@link GradientPipeline.apply}.
   */
  readonly params?: NamedTensorMap;
}

/** What `update` returns. */
export interface TransformResult {
  /** The transformed gradients, under the same names as the input. Tensors may be the input's own. */
  readonly grads: NamedTensorMap;
  /** The new state. */
  readonly state: TransformState;
  /**
   * True when this step must not be applied at all (weights and optimizer state untouched), as
   * {@link skipNonFinite} decides. A chain stops at the first transform that skips.
   */
  readonly skip?: boolean;
  /**
   * The same decision taken on the device, without a read: a boolean scalar, true when this step must not be applied
   * (what {@link skipNonFinite} returns). Whoever runs the step applies it and then puts back the weights, the
   * optimizer's state and the state of the transforms after this one where the flag is true; in a chain those later
   * transforms still run, and their state is kept as it was on such a step.
   */
  readonly skipWhen?: Scalar;
}

/** A transform's serializable description: its kind and a JSON-safe config that survives tfjs's save/load. */
export interface TransformConfig {
  /** The transform's kind, as registered (encoded like the config's strings). */
  readonly kind: string;
  /** The transform's config, encoded to survive JSON and tfjs's save/load conversions. */
  readonly config: Readonly<Record<string, unknown>>;
}

/**
 * A gradient transform (after optax's `GradientTransformation`): a pure pair of `init` and `update` over a map of
 * gradients. Build them with the factories (`clipByGlobalNorm(1)`, `chain(...)`), run them with
 * {@link withTransforms} inside any tfjs optimizer or with {@link gradientPipeline} in a raw loop.
 *
 * To write your own, return an object of this shape, give it a unique `kind` and register a factory with
 * {@link registerTransform} so that optimizers using it can be saved and loaded.
 */
export interface GradientTransform {
  /** A unique name for the kind of transform, used to save and load it, e.g. `'clipByGlobalNorm'`. */
  readonly kind: string;
  /** The options that rebuild this transform through its registered factory (JSON-safe). */
  readonly config: Readonly<Record<string, unknown>>;
  /** The state before the first step. Create tensors here only for state whose shape does not depend on the grads. */
  init(): TransformState;
  /** Transforms one step's gradients. Must not dispose its inputs, mutate `state`, or read tensors synchronously. */
  update(grads: NamedTensorMap, state: TransformState, context: UpdateContext): TransformResult;
  /**
   * Optional: whether `key` names state that this transform adds in `update` instead of `init`, such as one
   * accumulator per gradient, whose shapes are known only once the gradients arrive. Whoever owns the state
   * creates a variable for such a key when it first appears and accepts it when loading saved state; any other
   * key must come from `init`.
   */
  isLazyStateKey?(key: string): boolean;
}

/** Options of the norm-based transforms. */
export type NormType = 1 | 2 | 'inf';
