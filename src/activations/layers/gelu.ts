import type * as tf from '@tensorflow/tfjs-core';
import { brandClass, registerClassOnce } from '../../internal/identity.js';
import { geluApproximate, gelu as geluFn } from '../gelu.js';
import { ActivationLayer } from './activation-layer.js';
import type { LayerArgs } from './layer-args.js';

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
export class GELULayer extends ActivationLayer {
  /** The class name under which tfjs saves and loads it. */
  static className = 'GradStabGELU';
  /** Its own options, saved in its config. */
  static override ownKeys = OWN_KEYS;
  /** Whether the tanh approximation is used instead of the exact erf form. */
  readonly approximate: boolean;

  constructor(args?: GELULayerArgs) {
    super(FN, args, OWN_KEYS);
    this.approximate = geluApproximate(FN, { approximate: args?.approximate });
  }

  /** Applies the activation. */
  protected activate(x: tf.Tensor): tf.Tensor {
    return geluFn(x, { approximate: this.approximate });
  }

  /** The config saved with a model: tf.layers' own keys and `approximate`. */
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), approximate: this.approximate };
  }
}

brandClass(GELULayer, 'GELULayer');
registerClassOnce(GELULayer);

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
