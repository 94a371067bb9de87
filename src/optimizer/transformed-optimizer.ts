import * as tf from '@tensorflow/tfjs-core';
import { GradStabError } from '../errors.js';
import { type GradientContainer, type NamedTensor, viewGradients } from '../internal/grads.js';
import { remember } from '../internal/host-mirror.js';
import { brandClass, isInstance, registerClassOnce } from '../internal/identity.js';
import { setNamed } from '../internal/map-grads.js';
import { assertSingleTfjs } from '../internal/single-tfjs.js';
import { fail, isPlainObject } from '../internal/validate.js';
import { VariableOwner } from '../internal/variable-owner.js';
import {
  assignStates,
  checkStates,
  type GradientPipeline,
  gradientPipeline,
  runTransforms,
} from '../transforms/pipeline.js';
import { checkTransforms, transformFromDescription, transformToConfig } from '../transforms/registry.js';
import type { GradientTransform } from '../transforms/types.js';
import { canGuard, StepGuard } from './guarded-step.js';
import { checkVariables, checkWeightList, isOptimizer, loadInnerOptimizer } from './input-checks.js';

/**
 * Names of the transform state among the optimizer's weights. The inner optimizer's weights come first (tfjs
 * reads the first weight as `iterations`); ours follow under this prefix, which no tfjs variable name produces.
 */
const STATE_PREFIX = '__gradstab__/';

/**
 * The function the user called to make a wrapper (`withTransforms`, `clipOptimizer`, `TransformedOptimizer.fromConfig`),
 * for the constructor's errors: set just around `new`, read once by the constructor. `new TransformedOptimizer(...)`
 * called directly finds none and names the class.
 */
let caller: string | undefined;

/** `new cls(optimizer, transforms)`, with errors naming `fn`. */
export function constructAs<T>(fn: string, make: () => T): T {
  caller = fn;
  try {
    return make();
  } finally {
    caller = undefined;
  }
}

/** The key of the method through which a wrapper hands its inner optimizer and state to a new wrapper around it. */
const RELEASE = Symbol.for('gradstab.TransformedOptimizer.release');

/** What a wrapper hands over when it is wrapped again. */
interface Released {
  readonly optimizer: tf.Optimizer;
  readonly transforms: readonly GradientTransform[];
  readonly state: Readonly<Record<string, tf.Variable>>;
  /** The skip count, shared: reads of skip flags still in flight go on counting into it. */
  readonly skips: { value: number };
  /** Those reads, for the new wrapper's {@link TransformedOptimizer.flush} to wait for. */
  readonly counting: Set<Promise<void>>;
  readonly variables: readonly string[];
}

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
 * - Wrapping one again (`withTransforms(wrapper, monitor.tap)`, or `clipOptimizer(wrapper, ...)`) gives one flat
 *   wrapper: the new transforms run first, then the old ones, with their state kept; it is saved and loaded as
 *   one. The old wrapper hands over its inner optimizer and state and must not be used after.
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
   * A real class check, which also holds across gradstab's ES-module and CommonJS builds: `tf.Optimizer`'s own
   * `instanceof` is duck-typed (any object with `minimize`, `computeGradients` and `applyGradients` passes), which
   * would make every optimizer look like a wrapper.
   */
  static override [Symbol.hasInstance](instance: unknown): boolean {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the class on the right of instanceof, a subclass too
    return isInstance(this, instance);
  }

  /** The optimizer that applies the transformed gradients. */
  readonly optimizer: tf.Optimizer;
  /** The transforms, in the order they run. */
  readonly transforms: readonly GradientTransform[];
  /**
   * Steps skipped by a transform since this object was created (the saved total is in the transform state). A skip
   * decided on the device is counted when its flag is read back: see {@link TransformedOptimizer.flush}.
   */
  get skippedSteps(): number {
    return this.skips.value;
  }

  /** The skip count, in an object a wrapper around this one takes over with the reads still in flight. */
  private readonly skips: { value: number };
  private readonly pipeline: GradientPipeline;
  /** Puts steps back on the device when a transform skips them there (made at the first such step). */
  private guard: StepGuard | undefined;
  /** The reads of skip flags still in flight. */
  private readonly counting: Set<Promise<void>>;
  /** Whose variables the transform state describes (checked only when there is state to mix). */
  private readonly owner = new VariableOwner(
    'TransformedOptimizer with stateful transforms',
    'build one withTransforms(...) per model',
  );
  /** Set when a new wrapper took over this one's inner optimizer and state. */
  private released = false;
  /** Set by {@link TransformedOptimizer.dispose}. */
  private disposed = false;

  /**
   * @param optimizer Any `tf.Optimizer`; a {@link TransformedOptimizer} is taken apart (see the class notes).
   * @param transforms The transforms to run before the optimizer's own (or before the wrapped wrapper's).
   */
  constructor(optimizer: tf.Optimizer, transforms: readonly GradientTransform[] = []) {
    super();
    const fn = caller ?? 'TransformedOptimizer';
    caller = undefined;
    assertSingleTfjs(fn);
    if (!isOptimizer(optimizer)) fail(fn, 'optimizer must be a tf.Optimizer, such as tf.train.adam()', optimizer);
    if (!Array.isArray(transforms)) fail(fn, 'transforms must be an array of gradient transforms', transforms);
    const outer = checkTransforms(fn, transforms);
    const taken = optimizer instanceof TransformedOptimizer ? releaseOf(fn, optimizer) : undefined;
    this.optimizer = taken ? taken.optimizer : optimizer;
    this.transforms = taken ? [...outer, ...taken.transforms] : outer;
    this.pipeline = gradientPipeline(...this.transforms);
    if (taken) {
      // The wrapped wrapper's state, under its transforms' new positions in the one chain.
      const shifted: Record<string, tf.Tensor> = {};
      for (const [key, value] of Object.entries(taken.state)) shifted[shiftKey(key, outer.length)] = value;
      this.pipeline.setState(shifted);
      tf.dispose(Object.values(taken.state));
      this.owner.adopt(taken.variables);
    }
    this.skips = taken?.skips ?? { value: 0 };
    this.counting = taken?.counting ?? new Set();
  }

  /** @internal Hands the inner optimizer and the state to a new wrapper; this one is spent afterwards. */
  [RELEASE](fn = 'withTransforms'): Released {
    this.usable(fn);
    this.released = true;
    this.guard?.dispose(); // the new wrapper puts its own steps back
    this.guard = undefined;
    return {
      optimizer: this.optimizer,
      transforms: this.transforms,
      state: this.pipeline.state,
      skips: this.skips,
      counting: this.counting,
      variables: this.owner.names,
    };
  }

  /** Whether the transforms keep state across steps (then it serves one model's variables). */
  private get stateful(): boolean {
    return Object.keys(this.pipeline.state).length > 0;
  }

  /** Throws when a new wrapper took over this one, or it was disposed. */
  private usable(fn: string): void {
    if (this.disposed) {
      fail(
        fn,
        'this TransformedOptimizer was disposed (with its inner optimizer and transform state): make a new one',
        this,
        `a disposed TransformedOptimizer with transforms [${this.transforms.map((t) => t.kind).join(', ')}]`,
      );
    }
    if (this.released) {
      fail(
        fn,
        'this TransformedOptimizer was wrapped again by withTransforms, which took over its inner optimizer and ' +
          'state: use the optimizer that withTransforms returned',
        this,
        `a spent TransformedOptimizer with transforms [${this.transforms.map((t) => t.kind).join(', ')}]`,
      );
    }
  }

  override get iterations(): number {
    return this.optimizer.iterations;
  }

  /** Transforms the gradients, then applies them with the inner optimizer unless a transform skips the step. */
  applyGradients(variableGradients: tf.NamedTensorMap | NamedTensor[]): void {
    this.usable('TransformedOptimizer.applyGradients');
    const view = viewGradients('TransformedOptimizer.applyGradients', variableGradients as GradientContainer);
    checkVariables('TransformedOptimizer.applyGradients', view.grads);
    const names = Object.keys(view.grads);
    if (this.stateful) this.owner.claim('TransformedOptimizer.applyGradients', names);
    // The container was checked just above: run the transforms without checking it again.
    const params = registeredValues(names);
    const step = runTransforms(
      this.pipeline.transform,
      this.pipeline.state as Record<string, tf.Variable>,
      view.grads,
      params,
      'TransformedOptimizer.applyGradients',
    );
    try {
      if (step.skip) {
        step.skipWhen?.dispose(); // skipped on the host anyway
        this.skips.value++;
      } else if (step.skipWhen) this.applyUnlessSkipped(view.rebuild(step.grads), names, step.skipWhen);
      else this.optimizer.applyGradients(view.rebuild(step.grads));
    } finally {
      const inputs = new Set(Object.values(view.grads));
      for (const t of Object.values(step.grads)) if (!inputs.has(t)) t.dispose();
    }
  }

  /**
   * A step whose skip was decided on the device: applied and put back where the flag holds (no read), then counted
   * when the flag is read back asynchronously. An optimizer whose state gradstab cannot find is skipped the host way.
   */
  private applyUnlessSkipped(grads: tf.NamedTensorMap | NamedTensor[], names: string[], skipWhen: tf.Scalar): void {
    if (!canGuard(this.optimizer)) {
      // The one blocking read left, documented on skipNonFinite: a custom optimizer's state cannot be put back.
      const skip = skipWhen.dataSync()[0] !== 0;
      skipWhen.dispose();
      if (skip) this.skips.value++;
      else this.optimizer.applyGradients(grads);
      return;
    }
    this.guard ??= new StepGuard(this.optimizer);
    const flag = tf.keep(skipWhen);
    try {
      this.guard.apply(grads, names, flag);
    } catch (err) {
      flag.dispose();
      throw err;
    }
    // The inner optimizer counted the step in `iterations`, a host number: take it back once the flag says so. The
    // flag can be freed as soon as its read has started (every backend finishes a read it began).
    const read = flag.data();
    flag.dispose();
    const counted = read
      .then((value) => {
        if (value[0] !== 0 && !this.disposed) {
          const inner = this.optimizer as unknown as { iterations_?: number };
          inner.iterations_ = Math.max(0, (inner.iterations_ ?? 1) - 1);
          this.skips.value++;
        }
      })
      .finally(() => this.counting.delete(counted));
    this.counting.add(counted);
  }

  /**
   * Waits until the steps so far are counted: a step that {@link skipNonFinite} skips on the device is taken out of
   * `iterations` and added to `skippedSteps` when its flag is read back, asynchronously (a step or so later, with no
   * blocking read). `getWeights`, and so `model.save`, wait for it themselves.
   *
   * @example
   * ```ts
   * import * as tf from '@tensorflow/tfjs';
   * import { skipNonFinite, withTransforms } from 'gradstab';
   * const optimizer = withTransforms(tf.train.adam(1e-3), skipNonFinite());
   * const w = tf.variable(tf.tensor1d([1, 2]));
   * optimizer.minimize(() => tf.sum(tf.mul(w, NaN)) as tf.Scalar); // skipped on the device
   * await optimizer.flush();
   * console.log(optimizer.skippedSteps, optimizer.iterations); // 1 0
   * ```
   */
  async flush(): Promise<void> {
    while (this.counting.size > 0) await Promise.all([...this.counting]);
  }

  /** The current transform state, read to numbers (asynchronously: no blocking read). Keys as in the weights. */
  async readState(): Promise<Record<string, number | number[]>> {
    this.usable('TransformedOptimizer.readState');
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
    this.usable('TransformedOptimizer.getWeights');
    await this.flush(); // `iterations` counts no skipped step once the flags are read
    const inner = await this.optimizer.getWeights();
    const own = Object.entries(this.pipeline.state).map(([key, tensor]) => ({ name: STATE_PREFIX + key, tensor }));
    return [...inner, ...own];
  }

  /** Restores weights from {@link TransformedOptimizer.getWeights}: the inner optimizer's, then the transform state. */
  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    const fn = 'TransformedOptimizer.setWeights';
    this.usable(fn);
    checkWeightList(fn, weightValues);
    const own = weightValues.filter((w) => w.name.startsWith(STATE_PREFIX));
    const state = Object.fromEntries(own.map((w) => [w.name.slice(STATE_PREFIX.length), w.tensor]));
    const { transform } = this.pipeline;
    const variables = this.pipeline.state as Record<string, tf.Variable>;
    checkStates(fn, transform, variables, state); // before the inner optimizer's weights change
    // A skip flag still being read would take a step out of the loaded `iterations`: count it first.
    await this.flush();
    try {
      await this.optimizer.setWeights(weightValues.filter((w) => !w.name.startsWith(STATE_PREFIX)));
    } catch (e) {
      if (e instanceof GradStabError) throw e;
      throw new GradStabError(
        `${fn}: the inner optimizer's weights must be the ones its getWeights() saved (${this.optimizer.getClassName()} ` +
          `refused them: ${(e as Error)?.message ?? e}), got ${weightValues.length} weights.`,
      );
    }
    assignStates(fn, transform, variables, state);
    // Counters a transform decides on the host with (accumulateGradients): read them here, asynchronously, so that
    // the first step after loading needs no blocking read.
    const counters = Object.values(this.pipeline.state).filter((t) => t.rank === 0 && t.dtype === 'int32');
    await Promise.all(counters.map(async (t) => remember(t, (await t.data())[0] as number)));
  }

  /** Disposes the inner optimizer and the transform state (nothing, once a new wrapper took them over). */
  override dispose(): void {
    if (this.released || this.disposed) return;
    this.disposed = true;
    this.optimizer.dispose();
    disposeTfjsLeftovers(this.optimizer);
    this.pipeline.dispose();
    this.guard?.dispose();
  }

  getConfig(): tf.serialization.ConfigDict {
    return {
      optimizer: { className: this.optimizer.getClassName(), config: this.optimizer.getConfig() },
      transforms: this.transforms.map(transformToConfig) as unknown as tf.serialization.ConfigDictArray,
    };
  }

  /**
   * Rebuilds the wrapper, its inner optimizer and its transforms from {@link getConfig}'s output. A corrupt config
   * (an unregistered or non-optimizer class name, a bad inner config, a transform that does not load) is a
   * GradStabError; null values, which tfjs writes for missing ones, are taken as missing.
   */
  static override fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    const fn = 'TransformedOptimizer.fromConfig';
    if (!isPlainObject(config)) fail(fn, 'config must be an object {optimizer, transforms}', config);
    if (loading.has(config)) fail(fn, 'a config must not contain itself', config, 'an object that contains itself');
    if (loading.size >= MAX_NESTING) fail(fn, `wrappers must not nest more than ${MAX_NESTING} deep`, config);
    loading.add(config);
    try {
      const transforms = config.transforms ?? [];
      if (!Array.isArray(transforms)) fail(fn, 'config.transforms must be an array', transforms);
      // The transforms first: they hold no tensor until a pipeline initializes them, the inner optimizer may.
      const built = Array.from(transforms, (t) => transformFromDescription(fn, t));
      const optimizer = loadInnerOptimizer(fn, config.optimizer);
      try {
        return constructAs(fn, () => new cls(optimizer, built));
      } catch (e) {
        optimizer.dispose();
        throw e;
      }
    } finally {
      loading.delete(config);
    }
  }
}

/** The configs {@link TransformedOptimizer.fromConfig} is loading (a nested wrapper's config is loaded inside). */
const loading = new Set<unknown>();
/** How deep saved wrappers may nest (a wrapper saved around a wrapper): far more than any real model. */
const MAX_NESTING = 16;

/**
 * What tfjs 4's own dispose() leaves: MomentumOptimizer.dispose() frees its momentum scalar but not the learning-rate
 * scalar it inherits from SGDOptimizer (`c`), one tensor per optimizer. gradstab owns the inner optimizer, so it
 * frees that too.
 */
function disposeTfjsLeftovers(optimizer: tf.Optimizer): void {
  // By class name: tf.Optimizer's instanceof (inherited by every optimizer class) is duck-typed.
  if (optimizer.getClassName() !== 'Momentum') return;
  const c = (optimizer as unknown as { c?: unknown }).c;
  if (c instanceof tf.Tensor && !c.isDisposed) c.dispose();
}

/** The wrapped wrapper's inner optimizer and state, from whichever build of gradstab made it. */
function releaseOf(fn: string, wrapper: TransformedOptimizer): Released {
  const release = (wrapper as unknown as Record<symbol, ((fn: string) => Released) | undefined>)[RELEASE];
  if (typeof release !== 'function') {
    fail(fn, 'optimizer must be a TransformedOptimizer of this version of gradstab', wrapper);
  }
  return release.call(wrapper, fn);
}

/** A chain's state key (`<position>/<rest>`) with the position moved by `by`. */
function shiftKey(key: string, by: number): string {
  const slash = key.indexOf('/');
  return `${Number(key.slice(0, slash)) + by}${key.slice(slash)}`;
}

function registeredValues(names: readonly string[]): tf.NamedTensorMap {
  const registry = tf.engine().registeredVariables;
  const params: tf.NamedTensorMap = {};
  for (const name of names) {
    const v = registry[name];
    if (v) setNamed(params, name, v);
  }
  return params;
}

brandClass(TransformedOptimizer, 'TransformedOptimizer');
registerClassOnce(TransformedOptimizer);

/**
 * Wraps any tfjs optimizer so that the given transforms run on every step's gradients before it applies them.
 *
 * Given a {@link TransformedOptimizer} (from `clipOptimizer`, or loaded with a model), it returns one flat wrapper
 * whose transforms are the new ones followed by the old ones, with the old ones' state: the way to add a monitor to
 * an optimizer that already clips, or to a loaded model's optimizer, in one line:
 * `model.optimizer = withTransforms(model.optimizer, monitor.tap)`. The old wrapper must not be used afterwards.
 *
 * @param optimizer Any `tf.Optimizer` (built-in or custom), or a {@link TransformedOptimizer}. The wrapper owns it
 *   from now on.
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
  return constructAs('withTransforms', () => new TransformedOptimizer(optimizer, transforms));
}
