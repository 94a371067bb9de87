// The ES-module and the CommonJS build of gradstab loaded in one process (an app imports one, a dependency requires
// the other): classes register once, instanceof holds across the builds, a wrapper from one build is taken apart by
// the other's withTransforms (the double-wrap path), and saved models load. Prints what it found as JSON.
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import * as esm from 'gradstab';

const cjs = createRequire(import.meta.url)('gradstab');
tf.env().set('IS_TEST', true);
await tf.setBackend('cpu');

const registry = tf.serialization.SerializationMap.getMap().classNameMap;
const out = {};
out.twoBuilds = esm.TransformedOptimizer !== cjs.TransformedOptimizer;
const registered = (name) => registry[name]?.[0];
out.registeredIsFirstBuild =
  registered('GradStabTransformedOptimizer') === esm.TransformedOptimizer &&
  registered('GradStabBatchNormalization') === esm.BatchNormalizationLayer &&
  registered('GradStabReLU') === esm.ReLULayer &&
  registered('GradStabVarianceScaling') === esm.VarianceScaling;

const fromEsm = esm.withTransforms(tf.train.adam(0.01), esm.clipByGlobalNorm(1));
out.instanceofAcross = fromEsm instanceof cjs.TransformedOptimizer && cjs.layers.reLU() instanceof esm.ReLULayer;
out.notEveryOptimizer = !(tf.train.sgd(0.1) instanceof cjs.TransformedOptimizer);
const rewrapped = cjs.withTransforms(fromEsm, cjs.skipNonFinite());
out.rewrapped = rewrapped.transforms.map((t) => t.kind);
try {
  fromEsm.applyGradients({});
  out.spent = 'no error';
} catch (e) {
  out.spent = e instanceof esm.GradStabError && e instanceof cjs.GradStabError ? 'GradStabError' : String(e);
}
try {
  cjs.clipByGlobalNorm(-1);
} catch (e) {
  out.errorAcross = e instanceof esm.GradStabError;
}

// A custom transform registered through one build loads through the other.
esm.registerTransform('dualScale', (config) => ({
  kind: 'dualScale',
  config,
  init: () => ({}),
  update: (grads, state) => ({ grads, state }),
}));
out.customAcross = cjs.transformFromConfig({ kind: 'dualScale', config: { k: 1 } }).kind;

// A model mixing both builds' layers trains, saves and loads.
const model = tf.sequential({
  layers: [
    tf.layers.dense({ units: 4, inputShape: [3], kernelInitializer: cjs.heNormal({ seed: 1 }) }),
    esm.layers.batchNormalization(),
    cjs.layers.leakyReLU({ alpha: 0.1 }),
    tf.layers.dense({ units: 1 }),
  ],
});
model.compile({ optimizer: rewrapped, loss: 'meanSquaredError' });
await model.fit(tf.randomNormal([16, 3]), tf.randomNormal([16, 1]), { epochs: 2, batchSize: 8, verbose: 0 });
let saved;
await model.save(
  tf.io.withSaveHandler(async (a) => {
    saved = a;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }),
  { includeOptimizer: true },
);
const loaded = await tf.loadLayersModel(tf.io.fromMemory(saved));
out.loaded = {
  optimizerBothBuilds:
    loaded.optimizer instanceof esm.TransformedOptimizer && loaded.optimizer instanceof cjs.TransformedOptimizer,
  transforms: loaded.optimizer.transforms.map((t) => t.kind),
  iterations: loaded.optimizer.iterations,
  bnBothBuilds:
    loaded.layers[1] instanceof esm.BatchNormalizationLayer && loaded.layers[1] instanceof cjs.BatchNormalizationLayer,
};
console.log(JSON.stringify(out));
