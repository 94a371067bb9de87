import type * as tf from '@tensorflow/tfjs-core';
import { brandClass, registerClassOnce } from '../../internal/identity.js';
import { leakyRelu, leakyReluAlpha } from '../leaky-relu.js';
import { ActivationLayer } from './activation-layer.js';
import type { LayerArgs } from './layer-args.js';

/** Arguments of {@link layers.leakyReLU} and {@link LeakyReLULayer}. */
export interface LeakyReLULayerArgs extends LayerArgs {
  /**
   * The slope for x < 0: any number finite in float32. Defaults to 0.01, PyTorch's default (Keras's `LeakyReLU` layer and
   * `tf.layers.leakyReLU` default to 0.3, Keras's op and `tf.leakyRelu` to 0.2).
   */
  readonly alpha?: number;
}

const FN = 'layers.leakyReLU';
const OWN_KEYS = ['alpha'];

/**
 * A layer applying {@link activations.leakyRelu}: `x` for x >= 0, `alpha * x` for x < 0, with PyTorch's default
 * slope 0.01. Saved and loaded with its alpha under the class name `GradStabLeakyReLU` (tfjs's own `LeakyReLU`
 * layer, default slope 0.3, is untouched). Build it with {@link layers.leakyReLU}.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { LeakyReLULayer } from 'gradstab';
 * const layer = new LeakyReLULayer({ alpha: 0.2 });
 * (layer.apply(tf.tensor1d([-1, 2])) as tf.Tensor).print(); // [-0.2, 2]
 * ```
 */
export class LeakyReLULayer extends ActivationLayer {
  /** The class name under which tfjs saves and loads it. */
  static className = 'GradStabLeakyReLU';
  /** Its own options, saved in its config. */
  static override ownKeys = OWN_KEYS;
  /** The slope for x < 0. */
  readonly alpha: number;

  constructor(args?: LeakyReLULayerArgs) {
    super(FN, args, OWN_KEYS);
    this.alpha = leakyReluAlpha(FN, { alpha: args?.alpha });
  }

  /** Applies the activation. */
  protected activate(x: tf.Tensor): tf.Tensor {
    return leakyRelu(x, { alpha: this.alpha });
  }

  /** The config saved with a model: tf.layers' own keys and `alpha`. */
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), alpha: this.alpha };
  }
}

brandClass(LeakyReLULayer, 'LeakyReLULayer');
registerClassOnce(LeakyReLULayer);

/**
 * A {@link LeakyReLULayer}: leaky ReLU as a tf.layers layer, with any slope (default 0.01, as PyTorch), saved and
 * loaded with the model. Put it after a layer that has no activation of its own.
 *
 * @param args `alpha` (the negative slope) and the usual layer arguments (`name`, `inputShape`, ...).
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { layers } from 'gradstab';
 * const model = tf.sequential({
 *   layers: [
 *     tf.layers.dense({ units: 8, inputShape: [4] }),
 *     layers.leakyReLU({ alpha: 0.2 }),
 *     tf.layers.dense({ units: 1 }),
 *   ],
 * });
 * model.predict(tf.ones([2, 4]));
 * ```
 */
export function leakyReLU(args?: LeakyReLULayerArgs): LeakyReLULayer {
  return new LeakyReLULayer(args);
}
