import type * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { isInstance } from '../../internal/identity.js';
import { argsFromConfig, type LayerArgs, layerArgs, oneTensor } from './layer-args.js';

/**
 * What every gradstab activation layer shares: checked arguments, one input, output shape = input shape, masking
 * passed through, and loading from a saved config that keeps only the layer's own keys. A subclass names its
 * options in `static ownKeys`, saves them in `getConfig`, and says how to `activate`.
 */
export abstract class ActivationLayer extends tfl.layers.Layer {
  /** True for instances of this class from any copy of gradstab (its ES-module and CommonJS builds alike). */
  static override [Symbol.hasInstance](instance: unknown): boolean {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the class on the right of instanceof, a subclass too
    return isInstance(this, instance);
  }

  /** The layer's own constructor options, saved in its config (e.g. `['alpha']`). */
  static ownKeys: readonly string[] = [];

  /**
   * @param fn The factory's name, for error messages (`layers.elu`).
   * @param args The constructor arguments, checked against tf.layers' keys and `ownKeys`.
   */
  constructor(
    private readonly fn: string,
    args: LayerArgs | undefined,
    ownKeys: readonly string[],
  ) {
    super(layerArgs(fn, args, ownKeys));
    this.supportsMasking = true;
  }

  /** The activation itself, on the layer's one input. */
  protected abstract activate(x: tf.Tensor): tf.Tensor;

  /** Applies the activation to the layer's one input. */
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return this.activate(oneTensor(this.fn, inputs));
  }

  /** The output has the shape of the input. */
  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape | tfl.Shape[] {
    return inputShape;
  }

  /** Rebuilds it from a saved config (which tfjs hands over with extra keys of its own). */
  static override fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    const ownKeys = (cls as unknown as { ownKeys?: readonly string[] }).ownKeys ?? [];
    return new cls(argsFromConfig(config, ownKeys));
  }
}
