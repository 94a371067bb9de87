// The bundle page's entry (bundle.html), bundled with gradstab, tfjs, vega and vega-lite by esbuild:
//   npx esbuild examples/browser/bundle-entry.js --bundle --format=esm --platform=browser \
//     --outfile=examples/browser/build/bundle.js
// A bundler cannot see renderGradientHealthSvg's run-time import('vega'), so a bundled app draws the chart from
// gradientHealthSpec with vega's View: a live SVG chart, with tooltips.
import { gradientHealthSpec } from 'gradstab';
import { parse, View } from 'vega';
import { compile } from 'vega-lite';
import { start } from './app.js';

start({
  variant: 'esbuild bundle',
  drawChart: async (history, container) => {
    const spec = gradientHealthSpec(history, { title: 'Gradient health (webgl, esbuild bundle)' });
    const view = new View(parse(compile(spec).spec), { renderer: 'svg', container, hover: true });
    await view.runAsync();
  },
});
