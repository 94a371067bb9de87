import type * as tf from '@tensorflow/tfjs-core';
import { brandClass, registerClassOnce } from '../../internal/identity.js';
import { eluAlpha, elu as eluFn } from '../elu.js';
import { ActivationLayer } from './activation-layer.js';
import type { LayerArgs } from './layer-args.js';

/** Arguments of {@link layers.elu} and {@link ELULayer}. */
export interface ELULayerArgs extends LayerArgs {
  /** The negative saturation value: > 0 and finite in float32. Defaults to 1, as PyTorch, Keras and tfjs. */
  readonly alpha?: number;
}

const FN = 'layers.elu';
const OWN_KEYS = ['alpha'];

/**
 * A layer applying {@link activations.elu}: `x` for x > 0, `alpha * (exp(x) - 1)` for x <= 0, for any alpha > 0
 * (tfjs's `tf.layers.elu` throws for alpha != 1), with gradients finite for every input. Saved and loaded with
 * its alpha under the class name `GradStabELU`. Build it with {@link layers.elu}.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { ELULayer } from 'gradstab';
 * const layer = new ELULayer({ alpha: 0.5 });
 * (layer.apply(tf.tensor1d([-1, 2])) as tf.Tensor).print(); // [-0.3160603, 2]
 * ```
 */
export class ELULayer extends ActivationLayer {
  /** The class name under which tfjs saves and loads it. */
  static className = 'GradStabELU';
  /** Its own options, saved in its config. */
  static override ownKeys = OWN_KEYS;
  /** The negative saturation value. */
  readonly alpha: number;

  constructor(args?: ELULayerArgs) {
    super(FN, args, OWN_KEYS);
    this.alpha = eluAlpha(FN, { alpha: args?.alpha });
  }

  /** Applies the activation. */
  protected activate(x: tf.Tensor): tf.Tensor {
    return eluFn(x, { alpha: this.alpha });
  }

  /** The config saved with a model: tf.layers' own keys and `alpha`. */
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), alpha: this.alpha };
  }
}

brandClass(ELULayer, 'ELULayer');
registerClassOnce(ELULayer);

/**
 * An {@link ELULayer}: ELU as a tf.layers layer, with any alpha > 0 (default 1), saved and loaded with the model.
 *
 * @param args `alpha` and the usual layer arguments (`name`, `inputShape`, ...).
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { layers } from 'gradstab';
 * const model = tf.sequential({
 *   layers: [tf.layers.dense({ units: 8, inputShape: [4] }), layers.elu({ alpha: 0.5 })],
 * });
 * model.predict(tf.ones([2, 4]));
 * ```
 */
export function elu(args?: ELULayerArgs): ELULayer {
  return new ELULayer(args);
}
