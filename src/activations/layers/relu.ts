import type * as tf from '@tensorflow/tfjs-core';
import { brandClass, registerClassOnce } from '../../internal/identity.js';
import { relu as activate } from '../relu.js';
import { ActivationLayer } from './activation-layer.js';
import type { LayerArgs } from './layer-args.js';

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
export class ReLULayer extends ActivationLayer {
  /** The class name under which tfjs saves and loads it. */
  static className = 'GradStabReLU';

  constructor(args?: LayerArgs) {
    super(FN, args, []);
  }

  /** Applies the activation. */
  protected activate(x: tf.Tensor): tf.Tensor {
    return activate(x);
  }
}

brandClass(ReLULayer, 'ReLULayer');
registerClassOnce(ReLULayer);

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
