import type * as tf from '@tensorflow/tfjs-core';
import type { Shape } from '@tensorflow/tfjs-layers';
import { assertSingleTfjs } from '../../internal/single-tfjs.js';
import { fail, optionsObject } from '../../internal/validate.js';

/** The arguments every gradstab layer takes, as every tf.layers layer does. */
export interface LayerArgs {
  /** The layer's name, unique in its model. Defaults to a generated name (class name and a counter). */
  readonly name?: string;
  /** For the first layer of a model: the shape of one example, without the batch dimension. Defaults to none. */
  readonly inputShape?: Shape;
  /** For the first layer of a model: the input shape with the batch dimension (may be null). Defaults to none. */
  readonly batchInputShape?: Shape;
  /** With `inputShape`: a fixed batch size. Defaults to none (any batch size). */
  readonly batchSize?: number;
  /** The dtype of the layer's output. Defaults to 'float32'. */
  readonly dtype?: tf.DataType;
  /** Whether the layer's weights are updated in training (activation layers have none). Defaults to true. */
  readonly trainable?: boolean;
  /** For the first layer of a model: the dtype of the input. Defaults to 'float32'. */
  readonly inputDType?: tf.DataType;
}

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
  return optionsObject<T>(fn, args, [...ownKeys, ...LAYER_ARG_KEYS]);
}

/**
 * The constructor arguments in a config that tfjs hands to `fromConfig`: it adds `customObjects` and may add keys
 * of its own in other versions, and a value missing on save comes back as null; keep only what the layer knows.
 */
export function argsFromConfig(config: tf.serialization.ConfigDict, ownKeys: readonly string[]): LayerArgs {
  const known: readonly string[] = [...ownKeys, ...LAYER_ARG_KEYS];
  return Object.fromEntries(Object.entries(config).filter(([k, v]) => v !== null && known.includes(k)));
}

/** The one tensor a single-input layer was called with (tf.layers may pass it wrapped in an array). */
export function oneTensor(fn: string, inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
  if (!Array.isArray(inputs)) return inputs;
  if (inputs.length !== 1) fail(fn, 'expects exactly one input tensor', inputs);
  return inputs[0] as tf.Tensor;
}
