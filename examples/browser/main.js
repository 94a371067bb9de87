// The import-map page's entry (index.html): gradstab's ESM build and tfjs's ESM bundles, loaded by the browser
// itself. renderGradientHealthSvg imports 'vega' and 'vega-lite' when first called; the import map sends them to
// vendor/, which wraps their UMD builds.
import { renderGradientHealthSvg } from 'gradstab';
import { start } from './app.js';

start({
  variant: 'import map',
  drawChart: async (history, container) => {
    container.innerHTML = await renderGradientHealthSvg(history, { title: 'Gradient health (webgl, import map)' });
  },
});
