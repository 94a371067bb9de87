import * as tf from '@tensorflow/tfjs-core';
import { type GradientContainer, type NamedTensor, viewGradients } from '../internal/grads.js';
import { remember } from '../internal/host-mirror.js';
import { fail } from '../internal/validate.js';
import { type GradientPipeline, gradientPipeline, runTransforms } from '../transforms/pipeline.js';
import { checkTransforms, transformFromConfig, transformToConfig } from '../transforms/registry.js';
import type { GradientTransform } from '../transforms/types.js';

/**
 * Names of the transform state among the optimizer's weights. The inner optimizer's weights come first (tfjs
 * reads the first weight as `iterations`); ours follow under this prefix, which no tfjs variable name produces.
 */
const STATE_PREFIX = '__gradstab__/';

/**
 * A real `tf.Optimizer` that runs gradient transforms (clipping, skipping, monitoring) before handing the
 * gradients to the optimizer it wraps. Use it wherever tfjs takes an optimizer: `model.compile`, `minimize`
 * (with or without `varList`), `applyGradients` in raw loops. Build it with {@link withTransforms} or
 * {@link clipOptimizer}.
 *
 * - Gradients reach the inner optimizer in the container they came in (map or array), in the same order and
 *   length, null entries kept: tfjs optimizers keep their slot state by position.
 * - A step that a transform skips never reaches the inner optimizer: weights, moments and `iterations` stay.
 * - `iterations` is the inner optimizer's.
 * - Saved with `model.save(handler, {includeOptimizer: true})` and restored by `tf.loadLayersModel`, with the
 *   inner optimizer, every transform's config and state, and `iterations`.
 * - Disposing it disposes the inner optimizer and the transform state.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { clipByGlobalNorm, skipNonFinite, TransformedOptimizer } from 'gradstab';
 * const optimizer = new TransformedOptimizer(tf.train.adam(0.1), [skipNonFinite(), clipByGlobalNorm(1)]);
 * const w = tf.variable(tf.tensor1d([3, -4]));
 * optimizer.minimize(() => tf.sum(tf.square(w)) as tf.Scalar);
 * console.log(optimizer.iterations); // 1
 * console.log(await optimizer.readState()); // { '0/consecutive': 0, '0/totalNonFinite': 0, '0/totalSkipped': 0 }
 * ```
 */
export class TransformedOptimizer extends tf.Optimizer {
  /** The class name under which tfjs saves and loads it. */
  static get className(): string {
    return 'GradStabTransformedOptimizer';
  }

  /**
   * A real prototype check: `tf.Optimizer`'s own `instanceof` is duck-typed (any object with `minimize`,
   * `computeGradients` and `applyGradients` passes), which would make every optimizer look like a wrapper.
   */
  static override [Symbol.hasInstance](instance: unknown): boolean {
    return (
      typeof instance === 'object' &&
      instance !== null &&
      Object.prototype.isPrototypeOf.call(TransformedOptimizer.prototype, instance)
    );
  }

  /** The optimizer that applies the transformed gradients. */
  readonly optimizer: tf.Optimizer;
  /** The transforms, in the order they run. */
  readonly transforms: readonly GradientTransform[];
  /** Steps skipped by a transform since this object was created (the saved total is in the transform state). */
  skippedSteps = 0;

  private readonly pipeline: GradientPipeline;

  constructor(optimizer: tf.Optimizer, transforms: readonly GradientTransform[]) {
    super();
    if (!(optimizer instanceof tf.Optimizer)) {
      fail('withTransforms', 'optimizer must be a tf.Optimizer, such as tf.train.adam()', optimizer);
    }
    if (optimizer instanceof TransformedOptimizer) {
      // Two wrappers would save their state under the same weight names; one chain says the same thing.
      fail(
        'withTransforms',
        'optimizer must not already be a TransformedOptimizer (pass all transforms to one withTransforms call)',
        optimizer,
        `a TransformedOptimizer with transforms [${optimizer.transforms.map((t) => t.kind).join(', ')}]`,
      );
    }
    this.optimizer = optimizer;
    this.transforms = checkTransforms('withTransforms', transforms);
    this.pipeline = gradientPipeline(...this.transforms);
  }

  override get iterations(): number {
    return this.optimizer.iterations;
  }

  /** Transforms the gradients, then applies them with the inner optimizer unless a transform skips the step. */
  applyGradients(variableGradients: tf.NamedTensorMap | NamedTensor[]): void {
    const view = viewGradients('TransformedOptimizer.applyGradients', variableGradients as GradientContainer);
    // The container was checked just above: run the transforms without checking it again.
    const params = registeredValues(Object.keys(view.grads));
    const step = runTransforms(
      this.pipeline.transform,
      this.pipeline.state as Record<string, tf.Variable>,
      view.grads,
      params,
    );
    try {
      if (step.skip) this.skippedSteps++;
      else this.optimizer.applyGradients(view.rebuild(step.grads));
    } finally {
      const inputs = new Set(Object.values(view.grads));
      for (const t of Object.values(step.grads)) if (!inputs.has(t)) t.dispose();
    }
  }

  /** The current transform state, read to numbers (asynchronously: no blocking read). Keys as in the weights. */
  async readState(): Promise<Record<string, number | number[]>> {
    const entries = Object.entries(this.pipeline.state);
    const data = await Promise.all(entries.map(([, t]) => t.data()));
    return Object.fromEntries(
      entries.map(([key, t], i) => {
        const values = Array.from(data[i] as ArrayLike<number>);
        return [key, t.rank === 0 ? (values[0] as number) : values];
      }),
    );
  }

  /**
   * The inner optimizer's weights (`iter` first, then its slots), followed by the transform state under
   * `__gradstab__/<key>`: what `model.save(handler, {includeOptimizer: true})` stores. The tensors are the live
   * state variables, valid while training goes on.
   */
  override async getWeights(): Promise<NamedTensor[]> {
    const inner = await this.optimizer.getWeights();
    const own = Object.entries(this.pipeline.state).map(([key, tensor]) => ({ name: STATE_PREFIX + key, tensor }));
    return [...inner, ...own];
  }

  /** Restores weights from {@link TransformedOptimizer.getWeights}: the inner optimizer's, then the transform state. */
  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    const own = weightValues.filter((w) => w.name.startsWith(STATE_PREFIX));
    await this.optimizer.setWeights(weightValues.filter((w) => !w.name.startsWith(STATE_PREFIX)));
    this.pipeline.setState(Object.fromEntries(own.map((w) => [w.name.slice(STATE_PREFIX.length), w.tensor])));
    // Counters a transform decides on the host with (accumulateGradients): read them here, asynchronously, so that
    // the first step after loading needs no blocking read.
    const counters = Object.values(this.pipeline.state).filter((t) => t.rank === 0 && t.dtype === 'int32');
    await Promise.all(counters.map(async (t) => remember(t, (await t.data())[0] as number)));
  }

  override dispose(): void {
    this.optimizer.dispose();
    this.pipeline.dispose();
  }

  getConfig(): tf.serialization.ConfigDict {
    return {
      optimizer: { className: this.optimizer.getClassName(), config: this.optimizer.getConfig() },
      transforms: this.transforms.map(transformToConfig) as unknown as tf.serialization.ConfigDictArray,
    };
  }

  /** Rebuilds the wrapper, its inner optimizer and its transforms from {@link getConfig}'s output. */
  static override fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    const inner = config.optimizer as Record<string, unknown> | undefined;
    const className = inner?.className;
    const entry =
      typeof className === 'string' ? tf.serialization.SerializationMap.getMap().classNameMap[className] : undefined;
    if (!entry) {
      fail(
        'TransformedOptimizer.fromConfig',
        'config.optimizer.className must name a registered tf.Optimizer',
        className,
      );
    }
    const [innerCls, innerFromConfig] = entry;
    const optimizer = innerFromConfig(innerCls, (inner?.config ?? {}) as tf.serialization.ConfigDict);
    const transforms = config.transforms;
    if (!Array.isArray(transforms))
      fail('TransformedOptimizer.fromConfig', 'config.transforms must be an array', transforms);
    return new cls(optimizer, transforms.map(transformFromConfig));
  }
}

function registeredValues(names: readonly string[]): tf.NamedTensorMap {
  const registry = tf.engine().registeredVariables;
  const params: tf.NamedTensorMap = {};
  for (const name of names) {
    const v = registry[name];
    if (v) params[name] = v;
  }
  return params;
}

tf.serialization.registerClass(TransformedOptimizer);

/**
 * Wraps any tfjs optimizer so that the given transforms run on every step's gradients before it applies them.
 *
 * @param optimizer Any `tf.Optimizer` (built-in or custom). The wrapper owns it from now on.
 * @param transforms Gradient transforms, applied in order.
 * @returns A {@link TransformedOptimizer}, usable in `model.compile`, `minimize` and `applyGradients`.
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { clipByGlobalNorm, skipNonFinite, withTransforms } from 'gradstab';
 * const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [2] })] });
 * model.compile({
 *   optimizer: withTransforms(tf.train.adam(1e-2), skipNonFinite(), clipByGlobalNorm(1)),
 *   loss: 'meanSquaredError',
 * });
 * await model.fit(tf.ones([8, 2]), tf.ones([8, 1]), { epochs: 2, verbose: 0 });
 * ```
 */
export function withTransforms(optimizer: tf.Optimizer, ...transforms: GradientTransform[]): TransformedOptimizer {
  return new TransformedOptimizer(optimizer, transforms);
}
