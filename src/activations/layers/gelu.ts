import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { geluApproximate, gelu as geluFn } from '../gelu.js';
import { argsFromConfig, type LayerArgs, layerArgs, oneTensor } from './layer-args.js';

/** Arguments of {@link layers.gelu} and {@link GELULayer}. */
export interface GELULayerArgs extends LayerArgs {
  /** `true` for the tanh approximation, `false` for the exact erf form. Defaults to false, as PyTorch and Keras. */
  readonly approximate?: boolean;
}

const FN = 'layers.gelu';
const OWN_KEYS = ['approximate'];

/**
 * A layer applying {@link activations.gelu}, exact (erf) or tanh-approximated. Saved and loaded with its form
 * under the class name `GradStabGELU`. Build it with {@link layers.gelu}.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { GELULayer } from 'gradstab';
 * const layer = new GELULayer({ approximate: true });
 * (layer.apply(tf.tensor1d([-1, 1])) as tf.Tensor).print(); // [-0.1588080, 0.8411920]
 * ```
 */
export class GELULayer extends tfl.layers.Layer {
  /** The class name under which tfjs saves and loads it. */
  static className = 'GradStabGELU';
  /** Whether the tanh approximation is used instead of the exact erf form. */
  readonly approximate: boolean;

  constructor(args?: GELULayerArgs) {
    const checked = layerArgs<GELULayerArgs>(FN, args, OWN_KEYS);
    super(checked);
    this.approximate = geluApproximate(FN, { approximate: checked.approximate });
    this.supportsMasking = true;
  }

  /** Applies the activation to the layer's one input. */
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return geluFn(oneTensor(FN, inputs), { approximate: this.approximate });
  }

  /** The output has the shape of the input. */
  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape | tfl.Shape[] {
    return inputShape;
  }

  /** The config saved with a model: tf.layers' own keys and `approximate`. */
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), approximate: this.approximate };
  }

  /** Rebuilds it from a saved config (which tfjs hands over with extra keys of its own). */
  static override fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    return new cls(argsFromConfig(config, OWN_KEYS));
  }
}

tf.serialization.registerClass(GELULayer);

/**
 * A {@link GELULayer}: GELU as a tf.layers layer, exact by default or `{approximate: true}` for the tanh form,
 * saved and loaded with the model.
 *
 * @param args `approximate` and the usual layer arguments (`name`, `inputShape`, ...).
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { layers } from 'gradstab';
 * const model = tf.sequential({ layers: [tf.layers.dense({ units: 8, inputShape: [4] }), layers.gelu()] });
 * model.predict(tf.ones([2, 4]));
 * ```
 */
export function gelu(args?: GELULayerArgs): GELULayer {
  return new GELULayer(args);
}
