// An app that only loads a saved model imports gradstab for its side effect alone. A bundler that tree-shakes must
// keep the class registration, so that a model whose training config names GradStabTransformedOptimizer loads.
import * as tf from '@tensorflow/tfjs';
import 'gradstab';

tf.env().set('IS_TEST', true);
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
const loaded = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: model.toJSON(null, false), trainingConfig }));
console.log(JSON.stringify({ optimizer: loaded.optimizer.getClassName() }));
