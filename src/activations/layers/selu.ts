import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { selu as activate } from '../selu.js';
import { argsFromConfig, type LayerArgs, layerArgs, oneTensor } from './layer-args.js';

const FN = 'layers.selu';

/**
 * A layer applying {@link activations.selu}: `scale * elu(x, {alpha})` with the constants of Klambauer et al.,
 * for self-normalizing networks. Saved and loaded under the class name `GradStabSELU`. Build it with
 * {@link layers.selu}.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { SELULayer } from 'gradstab';
 * const layer = new SELULayer();
 * (layer.apply(tf.tensor1d([-1, 1])) as tf.Tensor).print(); // [-1.1113307, 1.0507010]
 * ```
 */
export class SELULayer extends tfl.layers.Layer {
  /** The class name under which tfjs saves and loads it. */
  static className = 'GradStabSELU';

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

tf.serialization.registerClass(SELULayer);

/**
 * A {@link SELULayer}: SELU as a tf.layers layer. Pair it with `lecunNormal()` kernels and no batch normalization.
 *
 * @param args The usual layer arguments (`name`, `inputShape`, ...).
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { layers } from 'gradstab';
 * const model = tf.sequential({ layers: [tf.layers.dense({ units: 8, inputShape: [4] }), layers.selu()] });
 * model.predict(tf.ones([2, 4]));
 * ```
 */
export function selu(args?: LayerArgs): SELULayer {
  return new SELULayer(args);
}
