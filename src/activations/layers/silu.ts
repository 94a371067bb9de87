import type * as tf from '@tensorflow/tfjs-core';
import { brandClass, registerClassOnce } from '../../internal/identity.js';
import { silu as activate } from '../silu.js';
import { ActivationLayer } from './activation-layer.js';
import type { LayerArgs } from './layer-args.js';

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
export class SiLULayer extends ActivationLayer {
  /** The class name under which tfjs saves and loads it. */
  static className = 'GradStabSiLU';

  constructor(args?: LayerArgs) {
    super(FN, args, []);
  }

  /** Applies the activation. */
  protected activate(x: tf.Tensor): tf.Tensor {
    return activate(x);
  }
}

brandClass(SiLULayer, 'SiLULayer');
registerClassOnce(SiLULayer);

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
