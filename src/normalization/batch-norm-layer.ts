import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
// Loaded for its side effect: tfjs-layers registers its BatchNormalization, which this module extends at load time.
import '@tensorflow/tfjs-layers';
import { argsFromConfig, type LayerArgs, layerArgs, oneTensor } from '../activations/layers/layer-args.js';
import type { Initializer } from '../initializers/base.js';
import { brandClass, isInstance, registerClassOnce } from '../internal/identity.js';
import { fail } from '../internal/validate.js';
import { type ChannelLayout, channelLayout, normalizeBatch, normalizeWith } from './batch-norm-core.js';
import {
  type BatchNormSettings,
  channelAxis,
  effectiveEpsilon,
  failOnShape,
  resolveSettings,
} from './batch-norm-options.js';
import { movingAverage } from './moving-average.js';

type Regularizer = ReturnType<typeof tfl.regularizers.l2>;
type Constraint = ReturnType<typeof tfl.constraints.nonNeg>;

/** Arguments of {@link layers.batchNormalization} and {@link BatchNormalizationLayer}: Keras's, plus one. */
export interface BatchNormalizationLayerArgs extends LayerArgs, BatchNormSettings {
  /** Learn an offset beta per channel. Defaults to true. */
  readonly center?: boolean;
  /** Learn a scale gamma per channel (turn off when the next layer is linear or ReLU). Defaults to true. */
  readonly scale?: boolean;
  /** Initializer of beta, an identifier (`'zeros'`) or an initializer object. Defaults to zeros. */
  readonly betaInitializer?: string | Initializer;
  /** Initializer of gamma. Defaults to ones. */
  readonly gammaInitializer?: string | Initializer;
  /** Initializer of the moving mean. Defaults to zeros. */
  readonly movingMeanInitializer?: string | Initializer;
  /** Initializer of the moving variance. Defaults to ones. */
  readonly movingVarianceInitializer?: string | Initializer;
  /** Regularizer of beta (`'l1l2'` or `tf.regularizers.l2()`...). Defaults to none. */
  readonly betaRegularizer?: string | Regularizer;
  /** Regularizer of gamma. Defaults to none. */
  readonly gammaRegularizer?: string | Regularizer;
  /** Constraint on beta (`'nonNeg'`, `tf.constraints.maxNorm(...)`...). Defaults to none. */
  readonly betaConstraint?: string | Constraint;
  /** Constraint on gamma. Defaults to none. */
  readonly gammaConstraint?: string | Constraint;
}

const FN = 'layers.batchNormalization';

/** The fields tfjs's BatchNormalization keeps (private in its typings): the weights made by its `build`. */
interface TfBatchNormWeights {
  readonly gamma?: tfl.LayerVariable;
  readonly beta?: tfl.LayerVariable;
  readonly movingMean: tfl.LayerVariable;
  readonly movingVariance: tfl.LayerVariable;
}

/**
 * tfjs's own layer, reached through the serialization registry (it is not exported). gradstab's layer extends it
 * to inherit what tfjs does right: the Keras argument handling (initializer, regularizer and constraint
 * identifiers), the weights' names and order, and the saved config; it replaces the arithmetic. Typed as the
 * public `tf.layers.Layer`, which is what the class is to a user's type checker.
 */
function tfBatchNormalizationClass(): typeof tfl.layers.Layer {
  const entry = tf.serialization.SerializationMap.getMap().classNameMap.BatchNormalization;
  if (entry === undefined) {
    throw new Error('gradstab: @tensorflow/tfjs-layers did not register BatchNormalization; is it installed?');
  }
  return entry[0] as unknown as typeof tfl.layers.Layer;
}

/** How errors name a layer: the factory and the layer's name. */
function layerFn(name: unknown): string {
  return typeof name === 'string' ? `${FN} (layer "${name}")` : FN;
}

/** The arguments tfjs resolves itself: identifiers (`'zeros'`, `'l1l2'`, `'nonNeg'`) or objects. */
const TFJS_OBJECT_KEYS = [
  'betaInitializer',
  'gammaInitializer',
  'movingMeanInitializer',
  'movingVarianceInitializer',
  'betaRegularizer',
  'gammaRegularizer',
  'betaConstraint',
  'gammaConstraint',
] as const;
const OWN_KEYS = ['axis', 'momentum', 'epsilon', 'unbiasedMovingVariance', 'center', 'scale', ...TFJS_OBJECT_KEYS];

/**
 * An initializer, regularizer or constraint argument that tfjs can resolve: tried on a throwaway tfjs layer (no
 * weights, no tensors), so that `'nope'` or `5` is a GradStabError here, not tfjs's error from inside the layer.
 */
function checkTfjsObject(fn: string, key: (typeof TFJS_OBJECT_KEYS)[number], value: unknown): void {
  const what = key.endsWith('Initializer') ? 'initializer' : key.endsWith('Regularizer') ? 'regularizer' : 'constraint';
  const example = { initializer: "'zeros'", regularizer: "'l1l2'", constraint: "'nonNeg'" }[what];
  const article = what === 'initializer' ? 'an' : 'a';
  const rule = `${key} must be ${article} ${what} identifier (such as ${example}) or a tfjs ${what} object`;
  if (typeof value !== 'string' && (value === null || typeof value !== 'object')) fail(fn, rule, value);
  try {
    const TfBatchNormalization = tfBatchNormalizationClass() as unknown as new (args: object) => unknown;
    new TfBatchNormalization({ name: 'gradstab_argument_check', [key]: value });
  } catch (e) {
    // tfjs's message goes on with a list of possible causes: its first sentence says what is wrong.
    const cause = String((e as Error)?.message ?? e).split(/\.\s/)[0];
    fail(fn, `${rule} that tfjs knows (${cause})`, value);
  }
}

/** The arguments, checked, with gradstab's own key removed before tfjs sees them. */
function checkedArgs(args: BatchNormalizationLayerArgs | undefined): LayerArgs {
  const checked = layerArgs<BatchNormalizationLayerArgs>(FN, args, OWN_KEYS);
  const fn = layerFn(checked.name);
  resolveSettings(fn, checked);
  for (const key of ['center', 'scale'] as const) {
    if (checked[key] !== undefined && typeof checked[key] !== 'boolean')
      fail(fn, `${key} must be a boolean`, checked[key]);
  }
  for (const key of TFJS_OBJECT_KEYS) if (checked[key] !== undefined) checkTfjsObject(fn, key, checked[key]);
  const { unbiasedMovingVariance: _, ...forTfjs } = checked;
  return forTfjs;
}

/**
 * Batch normalization (Ioffe & Szegedy 2015) as a tf.layers layer, correct where tfjs's `tf.layers.batchNormalization`
 * is not: any channel axis (channels-first models), any rank from 2 up (rank 5 for 3-D convolutions), `scale: false`
 * and `center: false` in training, and frozen layers (`trainable = false`) in inference mode as in Keras 2+. Its
 * weights are named and ordered as Keras's and tfjs's (gamma, beta, moving_mean, moving_variance), so weights from
 * either load into it; it is saved under the class name `GradStabBatchNormalization`. The backward pass is the
 * closed form, several times faster than tfjs's (see docs/benchmarks.md).
 *
 * Training mode (`fit`, or `apply(x, {training: true})` in a custom loop) normalizes with the batch's statistics
 * and updates the moving ones once per call; inference (`predict`, `evaluate`, `apply(x)`) uses the moving ones.
 * Build it with {@link layers.batchNormalization}.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { BatchNormalizationLayer } from 'gradstab';
 * const bn = new BatchNormalizationLayer();
 * (bn.apply(tf.tensor2d([[1], [2], [3], [4]]), { training: true }) as tf.Tensor).print(); // [[-1.3411044], [-0.4470348], [0.4470348], [1.3411044]]
 * console.log(bn.weights.map((w) => w.name.split('/').pop())); // ['gamma', 'beta', 'moving_mean', 'moving_variance']
 * ```
 */
export class BatchNormalizationLayer extends tfBatchNormalizationClass() {
  /** The class name under which tfjs saves and loads it. */
  static className = 'GradStabBatchNormalization';

  /** True for instances of this class from any copy of gradstab (its ES-module and CommonJS builds alike). */
  static override [Symbol.hasInstance](instance: unknown): boolean {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the class on the right of instanceof, a subclass too
    return isInstance(this, instance);
  }

  /** The channel axis as given (negative counts from the end). */
  declare readonly axis: number;
  /** The moving-average momentum, Keras convention. */
  declare readonly momentum: number;
  /** Added to the variance. */
  declare readonly epsilon: number;
  /** Whether beta is learned. */
  declare readonly center: boolean;
  /** Whether gamma is learned. */
  declare readonly scale: boolean;
  /** Whether the moving variance stores the unbiased batch variance (PyTorch). */
  readonly unbiasedMovingVariance: boolean;
  /** The input shape the layer was built for (its rank is checked on every call). */
  private builtShape: tfl.Shape | undefined;

  constructor(args?: BatchNormalizationLayerArgs) {
    super(checkedArgs(args));
    this.unbiasedMovingVariance = args?.unbiasedMovingVariance ?? false;
  }

  /** The weights tfjs's `build` made. */
  private get weightsMade(): TfBatchNormWeights {
    return this as unknown as TfBatchNormWeights;
  }

  /** The checked layout of an input of this shape, against the channel count the layer was built with. */
  private layoutFor(shape: readonly (number | null)[]): ChannelLayout {
    const fn = layerFn(this.name);
    const axis = channelAxis(fn, this.axis, shape);
    const channels = shape[axis];
    if (channels === null || channels === undefined) {
      const hint = axis === 0 ? ' (axis 0 normalizes per batch position: give the layer a fixed batchInputShape)' : '';
      failOnShape(fn, `the channel axis ${axis} must have a known size${hint}`, shape);
    }
    const builtRank = this.built ? this.builtShape?.length : undefined;
    if (builtRank !== undefined && shape.length !== builtRank) {
      failOnShape(fn, `the input must have rank ${builtRank} (the rank the layer was built with)`, shape);
    }
    const built = this.built ? this.weightsMade.movingMean.shape[0] : channels;
    if (channels !== built) {
      failOnShape(
        fn,
        `the input's channel axis ${axis} must have size ${built} (the channel count the layer was built with)`,
        shape,
      );
    }
    return channelLayout(
      shape.map((d) => d ?? 1),
      axis,
    );
  }

  /** Makes the weights, after checking that the axis fits the input. */
  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    this.layoutFor(shape);
    super.build(shape);
    this.builtShape = shape;
    // tfjs's build pins the channel count in an InputSpec whose error names neither the layer's rule nor gradstab;
    // layoutFor checks the same thing with a clearer message.
    this.inputSpec = [];
  }

  /** The output has the shape of the input. */
  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape | tfl.Shape[] {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    this.layoutFor(shape);
    return inputShape;
  }

  /**
   * Frozen (Keras 2+): the layer's `trainable` is false, or its model's `trainable = false` turned off all its
   * learned weights (tfjs's LayersModel does that without touching the layers' own flag).
   */
  private get frozen(): boolean {
    if (!this.trainable) return true;
    const learned = [this.weightsMade.gamma, this.weightsMade.beta].filter((w) => w !== undefined);
    return learned.length > 0 && learned.every((w) => !w.trainable);
  }

  /** Normalizes the input: batch statistics when training (and not frozen), moving statistics otherwise. */
  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    const x = oneTensor(layerFn(this.name), inputs);
    if (x.dtype !== 'float32') fail(layerFn(this.name), 'the input must be float32', x);
    const layout = this.layoutFor(x.shape);
    const training = kwargs.training === true && !this.frozen;
    const w = this.weightsMade;
    const epsilon = effectiveEpsilon(this.epsilon);
    if (training && this.unbiasedMovingVariance && layout.count < 2) {
      failOnShape(
        layerFn(this.name),
        'unbiasedMovingVariance needs more than 1 value per channel in training',
        x.shape,
      );
    }
    return tf.tidy(() => {
      const gamma = w.gamma?.read() ?? null;
      const beta = w.beta?.read() ?? null;
      if (!training) {
        return normalizeWith(x, w.movingMean.read(), w.movingVariance.read(), gamma, beta, epsilon, layout);
      }
      const { y, mean, variance } = normalizeBatch(x, gamma, beta, epsilon, layout);
      const batchVariance = this.unbiasedMovingVariance
        ? tf.mul(variance, layout.count / (layout.count - 1))
        : variance;
      w.movingMean.write(movingAverage(w.movingMean.read(), mean, this.momentum));
      w.movingVariance.write(movingAverage(w.movingVariance.read(), batchVariance, this.momentum));
      return y;
    });
  }

  /** The config saved with a model: Keras's keys and `unbiasedMovingVariance`. */
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), unbiasedMovingVariance: this.unbiasedMovingVariance };
  }

  /** Rebuilds it from a saved config (tfjs hands over extra keys of its own). */
  static override fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    return new cls(argsFromConfig(config, OWN_KEYS));
  }
}

brandClass(BatchNormalizationLayer, 'BatchNormalizationLayer');
registerClassOnce(BatchNormalizationLayer);

/**
 * A {@link BatchNormalizationLayer}: batch normalization that is correct on every axis and rank, with `scale` or
 * `center` off, and when frozen. Keras's arguments and defaults (`axis: -1`, `momentum: 0.99`, `epsilon: 1e-3`);
 * for a model ported from PyTorch spread {@link pytorchBatchNormArgs} into it.
 *
 * @param args `axis`, `momentum`, `epsilon`, `center`, `scale`, initializers, regularizers and constraints for
 *   gamma and beta, `unbiasedMovingVariance`, and the usual layer arguments.
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { layers } from 'gradstab';
 * const model = tf.sequential({
 *   layers: [
 *     tf.layers.conv2d({ filters: 4, kernelSize: 3, dataFormat: 'channelsFirst', inputShape: [1, 8, 8] }),
 *     layers.batchNormalization({ axis: 1 }), // channels-first: tfjs's own layer gets this wrong
 *     tf.layers.flatten(),
 *     tf.layers.dense({ units: 1 }),
 *   ],
 * });
 * model.compile({ optimizer: 'adam', loss: 'meanSquaredError' });
 * await model.fit(tf.randomNormal([8, 1, 8, 8]), tf.randomNormal([8, 1]), { epochs: 1, verbose: 0 });
 * ```
 */
export function batchNormalization(args?: BatchNormalizationLayerArgs): BatchNormalizationLayer {
  return new BatchNormalizationLayer(args);
}
