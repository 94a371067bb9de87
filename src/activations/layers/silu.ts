import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { silu as activate } from '../silu.js';
import { argsFromConfig, type LayerArgs, layerArgs, oneTensor } from './layer-args.js';

const FN = 'layers.silu';

/**
 * A layer applying {@link activations.silu}: `x * sigmoid(x)` (swish). Saved and loaded under the class name
 * `GradStabSiLU`. Build it with {@link layers.silu}.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { SiLULayer } from 'gradstab';
 * const layer = new SiLULayer();
 * (layer.apply(tf.tensor1d([-1, 1])) as tf.Tensor).print(); // [-0.2689414, 0.7310586]
 * ```
 */
export class SiLULayer extends tfl.layers.Layer {
  /** The class name under which tfjs saves and loads it. */
  static className = 'GradStabSiLU';

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

tf.serialization.registerClass(SiLULayer);

/**
 * A {@link SiLULayer}: SiLU (swish) as a tf.layers layer.
 *
 * @param args The usual layer arguments (`name`, `inputShape`, ...).
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { layers } from 'gradstab';
 * const model = tf.sequential({ layers: [tf.layers.dense({ units: 8, inputShape: [4] }), layers.silu()] });
 * model.predict(tf.ones([2, 4]));
 * ```
 */
export function silu(args?: LayerArgs): SiLULayer {
  return new SiLULayer(args);
}
