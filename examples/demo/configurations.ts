import * as tf from '@tensorflow/tfjs';
import { clipByGlobalNorm, heNormal, layers, xavierNormal } from '../../src/index.js';

/** One way to build and train the demo's network. */
export interface Configuration {
  /** Short id: the report's anchors and the command line's `--only`. */
  readonly id: string;
  /** What the table shows. */
  readonly title: string;
  /** Hidden activation. */
  readonly activation: 'sigmoid' | 'relu';
  /** Hidden kernels' initializer: tfjs's default (Glorot uniform), Xavier normal or He normal. */
  readonly init: 'tfjs default' | 'xavier' | 'he';
  /** gradstab's batch normalization after each hidden dense layer, before its activation. */
  readonly batchNorm: boolean;
  /** Multiplies the demo's learning rate. */
  readonly learningRateScale: number;
  /** Clip the global gradient norm to this (gradstab's clipByGlobalNorm), or not at all. */
  readonly clipNorm?: number;
  /** What the configuration is there to show. */
  readonly story: string;
}

/** The exploding pair's learning-rate multiplier and clipping threshold (SGD + momentum: a step is up to 10x lr x norm). */
const HIGH_LR_SCALE = 60;
const CLIP_NORM = 0.1;

export const CONFIGURATIONS: readonly Configuration[] = [
  {
    id: 'sigmoid-default',
    title: 'sigmoid, tfjs default init',
    activation: 'sigmoid',
    init: 'tfjs default',
    batchNorm: false,
    learningRateScale: 1,
    story: "sigmoid' <= 1/4 at every layer: the first layers' gradients vanish and the network does not learn.",
  },
  {
    id: 'relu-xavier',
    title: 'ReLU, Xavier init',
    activation: 'relu',
    init: 'xavier',
    batchNorm: false,
    learningRateScale: 1,
    story: 'Xavier halves the signal variance at every ReLU layer: at this depth it stalls (He et al. 2015, Fig. 3).',
  },
  {
    id: 'relu-he',
    title: 'ReLU, He init',
    activation: 'relu',
    init: 'he',
    batchNorm: false,
    learningRateScale: 1,
    story: 'He init keeps the variance through every ReLU layer: the same network learns.',
  },
  {
    id: 'sigmoid-batchnorm',
    title: 'sigmoid + batch norm',
    activation: 'sigmoid',
    init: 'tfjs default',
    batchNorm: true,
    learningRateScale: 1,
    story: 'layers.batchNormalization() before each sigmoid keeps it out of saturation: the sigmoid network learns.',
  },
  {
    id: 'relu-he-high-lr',
    title: `ReLU, He init, learning rate x${HIGH_LR_SCALE}`,
    activation: 'relu',
    init: 'he',
    batchNorm: false,
    learningRateScale: HIGH_LR_SCALE,
    story: `${HIGH_LR_SCALE} times the learning rate: steps overshoot, the gradients explode and turn NaN; the monitor stops fit.`,
  },
  {
    id: 'relu-he-high-lr-clipped',
    title: `ReLU, He init, learning rate x${HIGH_LR_SCALE} + clipByGlobalNorm(${CLIP_NORM})`,
    activation: 'relu',
    init: 'he',
    batchNorm: false,
    learningRateScale: HIGH_LR_SCALE,
    clipNorm: CLIP_NORM,
    story: `The same run with the global gradient norm clipped to ${CLIP_NORM}: every step is bounded and it trains.`,
  },
];

/** The hidden kernels' initializer, seeded per layer so that every configuration starts from the same draw. */
function kernelInitializer(init: Configuration['init'], seed: number) {
  if (init === 'he') return heNormal({ seed });
  if (init === 'xavier') return xavierNormal({ seed });
  return tf.initializers.glorotUniform({ seed });
}

/**
 * `depth` hidden layers of `width` units (dense, [batch norm], activation), then one linear unit: the logit (the loss
 * takes logits, so its gradient never saturates and a blow-up shows as one).
 */
export function buildModel(config: Configuration, depth: number, width: number): tf.Sequential {
  const model = tf.sequential();
  for (let i = 0; i < depth; i++) {
    model.add(
      tf.layers.dense({
        units: width,
        activation: config.batchNorm ? 'linear' : config.activation,
        useBias: !config.batchNorm, // batch norm's beta is the bias
        kernelInitializer: kernelInitializer(config.init, 1000 + i),
        name: `h${String(i + 1).padStart(2, '0')}`,
        ...(i === 0 ? { inputShape: [2] } : {}),
      }),
    );
    if (config.batchNorm) {
      model.add(layers.batchNormalization({ momentum: 0.9, name: `bn${String(i + 1).padStart(2, '0')}` }));
      model.add(tf.layers.activation({ activation: config.activation }));
    }
  }
  model.add(
    tf.layers.dense({
      units: 1,
      kernelInitializer: tf.initializers.glorotUniform({ seed: 999 }),
      name: 'out',
    }),
  );
  return model;
}

/** The clipping transform of a configuration, if it has one. */
export function clipping(config: Configuration) {
  return config.clipNorm === undefined ? [] : [clipByGlobalNorm(config.clipNorm)];
}
