import type * as tf from '@tensorflow/tfjs-core';
import type { Shape } from '@tensorflow/tfjs-layers';
import { describeShape } from '../../internal/describe.js';
import { assertSingleTfjs } from '../../internal/single-tfjs.js';
import { fail, isPlainObject, optionsObject, wholeNumber } from '../../internal/validate.js';

/** The arguments every gradstab layer takes, as every tf.layers layer does. */
export interface LayerArgs {
  /**
   * The layer's name, unique in its model: letters, digits and `- _ . /`, starting with a letter or digit (tfjs's rule
   * for the names of weights). Defaults to a generated name (class name and a counter).
   */
  readonly name?: string;
  /**
   * For the first layer of a model: the shape of one example, without the batch dimension (whole numbers >= 1, or
   * null for a size left open). Defaults to none.
   */
  readonly inputShape?: Shape;
  /**
   * For the first layer of a model: the input shape with the batch dimension (whole numbers >= 1, or null for a size
   * left open, as the batch size usually is). Give this or `inputShape`, not both. Defaults to none.
   */
  readonly batchInputShape?: Shape;
  /** With `inputShape`: a fixed batch size, a whole number >= 1. Defaults to none (any batch size). */
  readonly batchSize?: number;
  /** The dtype of the layer's output: 'float32', the only one gradstab's layers compute in. Defaults to 'float32'. */
  readonly dtype?: tf.DataType;
  /** Whether the layer's weights are updated in training (activation layers have none), a boolean. Defaults to true. */
  readonly trainable?: boolean;
  /** For the first layer of a model: the dtype of the input, 'float32'. Defaults to 'float32'. */
  readonly inputDType?: tf.DataType;
}

/** tfjs's rule for the names of layers and weights (tfjs-layers' isValidTensorName): other names fail at build. */
const TENSOR_NAME = /^[A-Za-z0-9][-A-Za-z0-9._/]*$/;

const LAYER_ARG_KEYS = [
  'name',
  'inputShape',
  'batchInputShape',
  'batchSize',
  'dtype',
  'trainable',
  'inputDType',
] as const satisfies readonly (keyof LayerArgs)[];

/** A layer's arguments, checked to be an object (or undefined) whose keys are tf.layers' or the layer's own. */
export function layerArgs<T extends LayerArgs>(fn: string, args: unknown, ownKeys: readonly string[]): Partial<T> {
  assertSingleTfjs(fn);
  const checked = optionsObject<T>(fn, args, [...ownKeys, ...LAYER_ARG_KEYS]);
  const { name, inputShape, batchInputShape, batchSize, dtype, trainable, inputDType } = checked;
  if (name !== undefined && (typeof name !== 'string' || !TENSOR_NAME.test(name))) {
    fail(fn, 'name must be a string of letters, digits and - _ . / that starts with a letter or digit', name);
  }
  if (inputShape !== undefined) checkLayerShape(fn, 'inputShape', inputShape);
  if (batchInputShape !== undefined) checkLayerShape(fn, 'batchInputShape', batchInputShape);
  if (inputShape !== undefined && batchInputShape !== undefined) {
    fail(fn, 'give inputShape or batchInputShape, not both', args);
  }
  if (batchSize !== undefined) wholeNumber(fn, 'batchSize', batchSize, 1);
  for (const [key, value] of [
    ['dtype', dtype],
    ['inputDType', inputDType],
  ] as const) {
    if (value !== undefined && value !== 'float32') fail(fn, `${key} must be 'float32'`, value);
  }
  if (trainable !== undefined && typeof trainable !== 'boolean') fail(fn, 'trainable must be true or false', trainable);
  return checked;
}

/** A layer's input shape: an array of whole numbers >= 1 or null (a size left open). */
function checkLayerShape(fn: string, key: string, shape: unknown): void {
  const ok =
    Array.isArray(shape) &&
    Array.from({ length: shape.length }, (_, i) => shape[i]).every(
      (d) => d === null || (typeof d === 'number' && Number.isInteger(d) && d >= 1),
    );
  if (!ok) fail(fn, `${key} must be an array of whole numbers >= 1 or null`, shape, describeShape(shape));
}

/**
 * The constructor arguments in a config that tfjs hands to `fromConfig`: it adds `customObjects` and may add keys
 * of its own in other versions, and a value missing on save comes back as null; keep only what the layer knows.
 * Anything but a plain object is handed on as it is, for the constructor to refuse.
 */
export function argsFromConfig(config: tf.serialization.ConfigDict, ownKeys: readonly string[]): LayerArgs {
  if (!isPlainObject(config)) return config as LayerArgs;
  const known: readonly string[] = [...ownKeys, ...LAYER_ARG_KEYS];
  return Object.fromEntries(Object.entries(config).filter(([k, v]) => v !== null && known.includes(k)));
}

/** The one tensor a single-input layer was called with (tf.layers may pass it wrapped in an array). */
export function oneTensor(fn: string, inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
  if (!Array.isArray(inputs)) return inputs;
  if (inputs.length !== 1) fail(fn, 'expects exactly one input tensor', inputs);
  return inputs[0] as tf.Tensor;
}
