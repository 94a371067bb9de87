// 'vega-lite' for the import map: its UMD build reads globalThis.vega (so vega first) and sets globalThis.vegaLite.
import './vega.js';
import '../../../node_modules/vega-lite/build/vega-lite.min.js';

export default globalThis.vegaLite;
