// 'vega' for the import map: vega's UMD build, run as a module, finds no CommonJS or AMD loader and sets
// globalThis.vega. gradstab's renderGradientHealthSvg takes the default export.
import '../../../node_modules/vega/build/vega.min.js';

export default globalThis.vega;
