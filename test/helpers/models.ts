import * as tf from '@tensorflow/tfjs';

/** A tiny seeded MLP: deterministic weights so two builds can be compared. */
export function tinyModel(seed = 1): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.dense({
        units: 6,
        inputShape: [3],
        activation: 'tanh',
        kernelInitializer: tf.initializers.glorotUniform({ seed }),
      }),
      tf.layers.dense({ units: 2, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }),
    ],
  });
}

/** Fixed batches with outliers, so that clipping engages. */
export function tinyData(n = 16, seed = 7): { x: tf.Tensor2D; y: tf.Tensor2D } {
  return tf.tidy(() => {
    const x = tf.randomNormal([n, 3], 0, 1, 'float32', seed) as tf.Tensor2D;
    const y = tf.concat([tf.sum(x, 1, true), tf.mul(tf.slice(x, [0, 0], [n, 1]), 20)], 1) as tf.Tensor2D;
    return { x, y };
  });
}

export function weightsOf(model: tf.LayersModel): number[][] {
  return model.getWeights().map((w) => Array.from(w.dataSync()));
}

/** Saves with the optimizer and loads back through JSON, as a file round trip would. */
export async function saveAndLoad(model: tf.LayersModel): Promise<tf.LayersModel> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
    { includeOptimizer: true },
  );
  const a = saved as tf.io.ModelArtifacts;
  const json = JSON.parse(
    JSON.stringify({ modelTopology: a.modelTopology, trainingConfig: a.trainingConfig, weightSpecs: a.weightSpecs }),
  );
  return tf.loadLayersModel(tf.io.fromMemory({ ...json, weightData: a.weightData }));
}
