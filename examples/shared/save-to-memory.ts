import * as tf from '@tensorflow/tfjs';

/**
 * Saves `model` to memory and returns the artifacts, for `tf.loadLayersModel(tf.io.fromMemory(artifacts))`: the
 * round trip a file or IndexedDB makes, without touching either.
 */
export async function saveToMemory(model: tf.LayersModel, config?: tf.io.SaveConfig): Promise<tf.io.ModelArtifacts> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
    config,
  );
  return saved as tf.io.ModelArtifacts;
}
