// A short training run through what a user installs: gradstab's initializers, batch normalization and activation
// layers in tf.sequential, clipOptimizer wrapped again with a monitor's tap, fit with the monitor's callback, then
// save with the optimizer and load back. Shared by train.mjs (ES module) and train.cjs (CommonJS).
async function train(tf, gs) {
  tf.env().set('IS_TEST', true); // no "install tfjs-node" banner on stdout
  await tf.setBackend('cpu');
  const monitor = new gs.GradientHealthMonitor();
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ units: 8, inputShape: [4], kernelInitializer: gs.heNormal({ seed: 1 }), name: 'hidden' }),
      gs.layers.batchNormalization({ name: 'bn' }),
      gs.layers.reLU({ name: 'relu' }),
      tf.layers.dense({ units: 1, kernelInitializer: gs.xavierUniform({ seed: 2 }), name: 'out' }),
    ],
  });
  const optimizer = gs.withTransforms(gs.clipOptimizer(tf.train.adam(0.02), { globalClipNorm: 1 }), monitor.tap);
  model.compile({ optimizer, loss: 'meanSquaredError' });
  const x = tf.randomNormal([64, 4], 0, 1, 'float32', 3);
  const y = tf.sum(x, 1, true);
  const history = await model.fit(x, y, {
    epochs: 10,
    batchSize: 16,
    shuffle: false,
    verbose: 0,
    callbacks: [monitor.callback({ stopOnNonFinite: true })],
  });
  let saved;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
    { includeOptimizer: true },
  );
  const loaded = await tf.loadLayersModel(tf.io.fromMemory(saved));
  const losses = history.history.loss;
  return {
    tfjs: tf.version.tfjs,
    core: tf.version_core,
    layers: tf.version_layers,
    firstLoss: losses[0],
    lastLoss: losses[losses.length - 1],
    steps: monitor.steps,
    monitoredLayers: monitor.report().layers.map((l) => l.layer),
    optimizer: loaded.optimizer.getClassName(),
    transforms: loaded.optimizer.transforms.map((t) => t.kind),
    iterations: loaded.optimizer.iterations,
    layerClasses: loaded.layers.map((l) => l.getClassName()),
    kernelInitializer: loaded.layers[0].getConfig().kernelInitializer.className,
    bnIsLayer: loaded.layers[1] instanceof tf.layers.Layer,
  };
}

module.exports = { train };
