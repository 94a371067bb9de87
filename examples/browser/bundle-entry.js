// The bundle page's entry (bundle.html), bundled with gradstab, tfjs, vega and vega-lite by esbuild:
//   npx esbuild examples/browser/bundle-entry.js --bundle --format=esm --platform=browser \
//     --outfile=examples/browser/build/bundle.js
// A bundler does not follow renderGradientHealthSvg's run-time import('vega') (so that apps that never draw do not
// ship vega), so a bundled app imports the two modules itself and hands them over as `modules`.
import { renderGradientHealthSvg } from 'gradstab';
import * as vega from 'vega';
import * as vegaLite from 'vega-lite';
import { start } from './app.js';

start({
  variant: 'esbuild bundle',
  drawChart: async (history, container) => {
    container.innerHTML = await renderGradientHealthSvg(history, {
      title: 'Gradient health (webgl, esbuild bundle)',
      modules: { vega, vegaLite },
    });
  },
});
