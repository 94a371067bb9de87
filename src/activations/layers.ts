import { elu } from './layers/elu.js';
import { gelu } from './layers/gelu.js';
import { leakyReLU } from './layers/leaky-relu.js';
import { reLU } from './layers/relu.js';
import { selu } from './layers/selu.js';
import { silu } from './layers/silu.js';

export { ELULayer, type ELULayerArgs } from './layers/elu.js';
export { GELULayer, type GELULayerArgs } from './layers/gelu.js';
export type { LayerArgs } from './layers/layer-args.js';
export { LeakyReLULayer, type LeakyReLULayerArgs } from './layers/leaky-relu.js';
export { ReLULayer } from './layers/relu.js';
export { SELULayer } from './layers/selu.js';
export { SiLULayer } from './layers/silu.js';

/**
 * gradstab's tf.layers layers, named like `tf.layers`' factories: `reLU`, `leakyReLU({alpha})`, `elu({alpha})`,
 * `selu`, `gelu({approximate})` and `silu`. Each is a real `tf.layers.Layer` with a class name of its own
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
} as const;
