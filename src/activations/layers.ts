export { ELULayer, type ELULayerArgs } from './layers/elu.js';
export { GELULayer, type GELULayerArgs } from './layers/gelu.js';
export type { LayerArgs } from './layers/layer-args.js';
export { LeakyReLULayer, type LeakyReLULayerArgs } from './layers/leaky-relu.js';
export { ReLULayer } from './layers/relu.js';
export { SELULayer } from './layers/selu.js';
export { SiLULayer } from './layers/silu.js';
