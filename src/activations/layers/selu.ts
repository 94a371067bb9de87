import type * as tf from '@tensorflow/tfjs-core';
import { brandClass, registerClassOnce } from '../../internal/identity.js';
import { selu as activate } from '../selu.js';
import { ActivationLayer } from './activation-layer.js';
import type { LayerArgs } from './layer-args.js';

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
export class SELULayer extends ActivationLayer {
  /** The class name under which tfjs saves and loads it. */
  static className = 'GradStabSELU';

  constructor(args?: LayerArgs) {
    super(FN, args, []);
  }

  /** Applies the activation. */
  protected activate(x: tf.Tensor): tf.Tensor {
    return activate(x);
  }
}

brandClass(SELULayer, 'SELULayer');
registerClassOnce(SELULayer);

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
