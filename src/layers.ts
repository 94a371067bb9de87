import { elu } from './activations/layers/elu.js';
import { gelu } from './activations/layers/gelu.js';
import { leakyReLU } from './activations/layers/leaky-relu.js';
import { reLU } from './activations/layers/relu.js';
import { selu } from './activations/layers/selu.js';
import { silu } from './activations/layers/silu.js';
import { batchNormalization } from './normalization/batch-norm-layer.js';

/**
 * gradstab's tf.layers layers, named like `tf.layers`' factories: `reLU`, `leakyReLU({alpha})`, `elu({alpha})`,
 * `selu`, `gelu({approximate})`, `silu` and `batchNormalization(args)`. Each is a real `tf.layers.Layer` with a class name of its own
 * (`GradStab...`), usable in `tf.sequential` and the functional API, and saved and loaded with its parameters by
 * `model.save` / `tf.loadLayersModel` and `model.toJSON` / `tf.models.modelFromJSON`.
 *
 * @namespace
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { layers } from 'gradstab';
 * const model = tf.sequential({
 *   layers: [
 *     tf.layers.dense({ units: 16, inputShape: [4] }),
 *     layers.leakyReLU({ alpha: 0.2 }),
 *     tf.layers.dense({ units: 1 }),
 *   ],
 * });
 * console.log(model.layers[1]?.getClassName()); // GradStabLeakyReLU (the name it is saved under)
 * ```
 */
export const layers = {
  /** A {@link ReLULayer}. */
  reLU,
  /** A {@link LeakyReLULayer}, slope 0.01 by default (PyTorch). */
  leakyReLU,
  /** An {@link ELULayer}, any alpha > 0 (default 1). */
  elu,
  /** A {@link SELULayer}. */
  selu,
  /** A {@link GELULayer}, exact or `{approximate: true}` (tanh form). */
  gelu,
  /** A {@link SiLULayer}. */
  silu,
  /** A {@link BatchNormalizationLayer}: correct on any axis and rank, with scale/center off, and when frozen. */
  batchNormalization,
} as const;
