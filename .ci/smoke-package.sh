#!/usr/bin/env bash
# Installs the packed tarball into an empty project with @tensorflow/tfjs and uses it from ESM and from CommonJS:
# what a user gets from `npm install gradstab`, not what the repository's own sources do.
set -euo pipefail
tarball=$(realpath "$1")
tfjs_version=$(node -p "require('./node_modules/@tensorflow/tfjs/package.json').version")
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir"
npm init -y >/dev/null
npm install --no-audit --no-fund --loglevel=error "$tarball" "@tensorflow/tfjs@$tfjs_version" >/dev/null

cat > esm.mjs <<'JS'
import * as tf from '@tensorflow/tfjs';
import { clipByGlobalNorm, skipNonFinite, withTransforms, TransformedOptimizer } from 'gradstab';
tf.enableProdMode();
await tf.setBackend('cpu');
const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [2] })] });
const optimizer = withTransforms(tf.train.adam(0.01), clipByGlobalNorm(1), skipNonFinite());
model.compile({ optimizer, loss: 'meanSquaredError' });
await model.fit(tf.ones([4, 2]), tf.ones([4, 1]), { epochs: 2, verbose: 0 });
let saved;
await model.save(tf.io.withSaveHandler(async (a) => { saved = a; return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }; }), { includeOptimizer: true });
const loaded = await tf.loadLayersModel(tf.io.fromMemory(saved));
if (!(loaded.optimizer instanceof TransformedOptimizer) || loaded.optimizer.iterations !== 2) {
  throw new Error('ESM: optimizer did not survive save/load');
}
console.log('ESM ok: trained, saved and loaded a TransformedOptimizer');

// The batch-norm layer extends tfjs's own class, found through the user's tfjs registry: check it there.
const { layers: gsLayers } = await import('gradstab');
const bnModel = tf.sequential({ layers: [gsLayers.batchNormalization({ axis: 1, inputShape: [3, 2] })] });
bnModel.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
await bnModel.fit(tf.randomNormal([8, 3, 2]), tf.zeros([8, 3, 2]), { epochs: 1, verbose: 0 });
let bnSaved;
await bnModel.save(tf.io.withSaveHandler(async (a) => { bnSaved = a; return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }; }));
const bnLoaded = await tf.loadLayersModel(tf.io.fromMemory(bnSaved));
if (bnLoaded.layers[0].getClassName() !== 'GradStabBatchNormalization') throw new Error('ESM: batch norm did not load');
console.log('ESM ok: trained, saved and loaded a GradStabBatchNormalization');
JS

cat > cjs.cjs <<'JS'
const tf = require('@tensorflow/tfjs');
const { clipOptimizer, globalNorm, GradStabError } = require('gradstab');
tf.enableProdMode();
tf.setBackend('cpu').then(() => {
  const n = globalNorm({ a: tf.tensor1d([3]), b: tf.tensor1d([4]) }).dataSync()[0];
  if (Math.abs(n - 5) > 1e-6) throw new Error(`CJS: globalNorm gave ${n}`);
  try { clipOptimizer(tf.train.sgd(0.1), {}); throw new Error('CJS: no error'); }
  catch (e) { if (!(e instanceof GradStabError)) throw e; }
  const { layers } = require('gradstab');
  const y = layers.batchNormalization().apply(tf.tensor2d([[1], [2], [3], [4]]), { training: true });
  if (Math.abs(y.dataSync()[3] - 1.341105) > 1e-5) throw new Error(`CJS: batch norm gave ${y.dataSync()}`);
  console.log('CJS ok: globalNorm, GradStabError and batch norm');
});
JS

node esm.mjs
node cjs.cjs

# A bundler that tree-shakes must keep the optimizer's class registration: an app that only loads a saved model
# imports gradstab for its side effect alone, then loads a model whose training config names
# GradStabTransformedOptimizer.
npm install --no-audit --no-fund --loglevel=error esbuild@0.25 >/dev/null
cat > bundled.mjs <<'JS'
import * as tf from '@tensorflow/tfjs';
import 'gradstab';
tf.enableProdMode();
await tf.setBackend('cpu');
const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [2] })] });
const trainingConfig = {
  loss: 'mean_squared_error',
  metrics: [],
  optimizer_config: {
    class_name: 'GradStabTransformedOptimizer',
    config: {
      optimizer: { className: 'SGD', config: { learningRate: 0.1 } },
      transforms: [{ kind: 'clipByValue', config: { min: -1, max: 1 } }],
    },
  },
};
const loaded = await tf.loadLayersModel(
  tf.io.fromMemory({ modelTopology: model.toJSON(null, false), trainingConfig }),
);
if (loaded.optimizer.getClassName() !== 'GradStabTransformedOptimizer') throw new Error('bundle: class not registered');
console.log('bundle ok: a tree-shaken bundle with a bare `import \'gradstab\'` loads a TransformedOptimizer');
JS
npx --no-install esbuild bundled.mjs --bundle --format=esm --platform=node --tree-shaking=true \
  --external:@tensorflow/* --outfile=out.mjs --log-level=warning
node out.mjs
