import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { relu as activate } from '../relu.js';
import { argsFromConfig, type LayerArgs, layerArgs, oneTensor } from './layer-args.js';

const FN = 'layers.reLU';

/**
 * A layer applying {@link activations.relu}: `max(x, 0)`, gradient 0 at 0 as in PyTorch. It computes what tfjs's
 * `tf.layers.reLU()` does and is here so that every gradstab activation has a layer. Saved and loaded under the
 * class name `GradStabReLU`. Build it with {@link layers.reLU}.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { ReLULayer } from 'gradstab';
 * const layer = new ReLULayer();
 * (layer.apply(tf.tensor1d([-1, 2])) as tf.Tensor).print(); // [0, 2]
 * ```
 */
export class ReLULayer extends tfl.layers.Layer {
  /** The class name under which tfjs saves and loads it. */
  static className = 'GradStabReLU';

  constructor(args?: LayerArgs) {
    super(layerArgs<LayerArgs>(FN, args, []));
    this.supportsMasking = true;
  }

  /** Applies the activation to the layer's one input. */
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return activate(oneTensor(FN, inputs));
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
    return new cls(argsFromConfig(config, []));
  }
}

tf.serialization.registerClass(ReLULayer);

/**
 * A {@link ReLULayer}: ReLU as a tf.layers layer. Put it after a layer that has no activation of its own.
 *
 * @param args The usual layer arguments (`name`, `inputShape`, ...).
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { layers } from 'gradstab';
 * const model = tf.sequential({ layers: [tf.layers.dense({ units: 8, inputShape: [4] }), layers.reLU()] });
 * model.predict(tf.ones([2, 4]));
 * ```
 */
export function reLU(args?: LayerArgs): ReLULayer {
  return new ReLULayer(args);
}
