import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { GradStabError } from '../../src/errors.js';
import { layers } from '../../src/layers.js';
import { BatchNormalizationLayer } from '../../src/normalization/batch-norm-layer.js';
import { pytorchBatchNormArgs } from '../../src/normalization/batch-norm-options.js';
import { saveAndLoad } from '../helpers/models.js';
import { countBlockingReads, maxViolation, tensorsLeftBy, useCpu, values } from '../helpers/tf.js';
import { referenceMoments, referenceNormalize } from './reference.js';

beforeAll(useCpu);
afterEach(() => tf.disposeVariables());

/** A weight's name without the layer's scope (a layer built outside apply() has none). */
function shortName(w: tf.LayerVariable): string {
  return w.originalName.split('/').pop() as string;
}

/** The layer's weights by short name (gamma, beta, moving_mean, moving_variance). */
function weightsByName(layer: tf.layers.Layer): Record<string, number[]> {
  return Object.fromEntries(layer.weights.map((w) => [shortName(w), values(w.read())]));
}

/** Output and gradients (x, gamma, beta) of sum(y * w) for a built layer in training or inference mode. */
function forwardBackward(layer: tf.layers.Layer, x: tf.Tensor, w: tf.Tensor, training: boolean) {
  const xv = tf.variable(x);
  let y: tf.Tensor = tf.scalar(0);
  const { grads } = tf.variableGrads(() => {
    y = tf.keep(layer.apply(xv, { training }) as tf.Tensor);
    return tf.sum(tf.mul(y, w)) as tf.Scalar;
  });
  const gradOf = (suffix: string) => {
    const weight = layer.weights.find((v) => shortName(v) === suffix);
    return weight === undefined ? undefined : grads[(weight.read() as tf.Variable).name];
  };
  return { y, dx: grads[xv.name] as tf.Tensor, dGamma: gradOf('gamma'), dBeta: gradOf('beta') };
}

let unique = 0;

describe('layers.batchNormalization: the Keras/tfjs conventions', () => {
  it('reproduces the Keras vector: output and moving statistics after one step (SEMANTICS.md section 5)', () => {
    const bn = layers.batchNormalization();
    const y = bn.apply(tf.tensor2d([[1], [2], [3], [4]]), { training: true }) as tf.Tensor;
    expect(maxViolation(values(y), [-1.341105, -0.447035, 0.447035, 1.341105], 1e-6)).toBe(0);
    const w = weightsByName(bn);
    expect(w.moving_mean?.[0]).toBeCloseTo(0.025, 7);
    expect(w.moving_variance?.[0]).toBeCloseTo(1.0025, 6);
  });

  it("reproduces PyTorch's vector with pytorchBatchNormArgs: output and running statistics (0.25, 1.066667)", () => {
    const bn = layers.batchNormalization(pytorchBatchNormArgs());
    const y = bn.apply(tf.tensor2d([[1], [2], [3], [4]]), { training: true }) as tf.Tensor;
    expect(maxViolation(values(y), [-1.341635, -0.447212, 0.447212, 1.341635], 1e-6)).toBe(0);
    const w = weightsByName(bn);
    expect(w.moving_mean?.[0]).toBeCloseTo(0.25, 6);
    expect(w.moving_variance?.[0]).toBeCloseTo(1.066667, 6);
  });

  it('names and orders its weights as Keras and tfjs: gamma, beta, moving_mean, moving_variance', () => {
    const names = (args: Parameters<typeof layers.batchNormalization>[0]) => {
      const bn = layers.batchNormalization({ ...args, name: `bn_names_${unique++}` });
      bn.build([null, 3]);
      return bn.weights.map((w) => `${shortName(w)}:${w.trainable}`);
    };
    expect(names({})).toEqual(['gamma:true', 'beta:true', 'moving_mean:false', 'moving_variance:false']);
    expect(names({ scale: false })).toEqual(['beta:true', 'moving_mean:false', 'moving_variance:false']);
    expect(names({ center: false, scale: false })).toEqual(['moving_mean:false', 'moving_variance:false']);
    const theirs = tf.layers.batchNormalization({});
    theirs.build([null, 3]);
    expect(theirs.weights.map((w) => `${shortName(w)}:${w.trainable}`)).toEqual(names({}));
  });

  it('takes the weights of a trained tfjs BatchNormalization and gives its outputs (channels-last)', () => {
    const theirs = tf.layers.batchNormalization({ momentum: 0.5 });
    const x = tf.randomNormal([16, 5], 3, 2, 'float32', 1);
    theirs.build([null, 5]);
    const opt = tf.train.sgd(0.1);
    for (let i = 0; i < 3; i++)
      opt.minimize(() => tf.sum(tf.square(theirs.apply(x, { training: true }) as tf.Tensor)) as tf.Scalar);
    const ours = layers.batchNormalization({ momentum: 0.5 });
    ours.build([null, 5]);
    ours.setWeights(theirs.getWeights());
    const probe = tf.randomNormal([4, 5], 3, 2, 'float32', 2);
    expect(maxViolation(values(ours.apply(probe) as tf.Tensor), values(theirs.apply(probe) as tf.Tensor), 1e-5)).toBe(
      0,
    );
  });

  it('loads a tfjs model saved with tf.layers.batchNormalization once its class name is switched', async () => {
    const model = tf.sequential({
      layers: [tf.layers.dense({ units: 4, inputShape: [3] }), tf.layers.batchNormalization({})],
    });
    model.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
    await model.fit(tf.randomNormal([8, 3], 0, 1, 'float32', 3), tf.randomNormal([8, 4]), { epochs: 2, verbose: 0 });
    let artifacts: tf.io.ModelArtifacts | undefined;
    const saveHandler = async (a: tf.io.ModelArtifacts) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' as const } };
    };
    await model.save(tf.io.withSaveHandler(saveHandler));
    const a = artifacts as tf.io.ModelArtifacts;
    const topology = JSON.parse(
      JSON.stringify(a.modelTopology).replaceAll('"BatchNormalization"', '"GradStabBatchNormalization"'),
    );
    const loaded = await tf.loadLayersModel(
      tf.io.fromMemory({ modelTopology: topology, weightSpecs: a.weightSpecs, weightData: a.weightData }),
    );
    expect(loaded.layers[1]).toBeInstanceOf(BatchNormalizationLayer);
    const probe = tf.randomNormal([5, 3], 0, 1, 'float32', 4);
    expect(
      maxViolation(values(loaded.predict(probe) as tf.Tensor), values(model.predict(probe) as tf.Tensor), 1e-5),
    ).toBe(0);
  });
});

describe('layers.batchNormalization: correct on every axis and rank', () => {
  const cases: [number[], number][] = [
    [[6, 4], 1],
    [[6, 4], -1],
    [[4, 3, 5], 1],
    [[4, 3, 5], 2],
    [[3, 4, 3, 3], 1],
    [[3, 3, 4, 3], 2],
    [[3, 3, 3, 4], 3],
    [[2, 3, 2, 3, 2], 1],
    [[2, 2, 3, 2, 3], -1],
    [[2, 2, 3, 2, 2], 2],
  ];
  it.each(cases)(
    'shape %j, axis %i: training output, gradients and moving statistics, then inference',
    (shape, axis) => {
      const rank = shape.length;
      const channels = shape[axis < 0 ? axis + rank : axis] as number;
      const x = tf.randomNormal(shape, 1.5, 2, 'float32', 11);
      const w = tf.randomNormal(shape, 0, 1, 'float32', 12);
      const gamma = tf.randomUniform([channels], 0.5, 1.5, 'float32', 13);
      const beta = tf.randomNormal([channels], 0, 0.5, 'float32', 14);
      const bn = layers.batchNormalization({ axis, momentum: 0.8, epsilon: 1e-3 });
      bn.build(shape);
      bn.setWeights([gamma, beta, tf.zeros([channels]), tf.ones([channels])]);
      const got = forwardBackward(bn, x, w, true);
      const xv = tf.variable(x);
      const [g, b] = [tf.variable(gamma), tf.variable(beta)];
      const ref = tf.variableGrads(
        () => tf.sum(tf.mul(referenceNormalize(xv, g, b, axis, 1e-3), w)) as tf.Scalar,
        [xv, g, b],
      );
      expect(maxViolation(values(got.y), values(referenceNormalize(x, gamma, beta, axis, 1e-3)), 1e-5, 1e-5)).toBe(0);
      expect(maxViolation(values(got.dx), values(ref.grads[xv.name] as tf.Tensor), 1e-5, 1e-4)).toBe(0);
      expect(maxViolation(values(got.dGamma as tf.Tensor), values(ref.grads[g.name] as tf.Tensor), 1e-4, 1e-5)).toBe(0);
      expect(maxViolation(values(got.dBeta as tf.Tensor), values(ref.grads[b.name] as tf.Tensor), 1e-4, 1e-5)).toBe(0);
      const { mean, variance } = referenceMoments(x, axis);
      const stats = weightsByName(bn);
      expect(maxViolation(stats.moving_mean as number[], values(tf.mul(mean, 0.2)), 1e-6, 1e-5)).toBe(0);
      expect(
        maxViolation(stats.moving_variance as number[], values(tf.add(0.8, tf.mul(variance, 0.2))), 1e-6, 1e-5),
      ).toBe(0);
      // Inference uses the moving statistics, and its gradients are right too.
      const movingMean = tf.tensor1d(stats.moving_mean as number[]);
      const movingVariance = tf.tensor1d(stats.moving_variance as number[]);
      const inf = forwardBackward(bn, x, w, false);
      const refInf = tf.variableGrads(
        () =>
          tf.sum(
            tf.mul(referenceNormalize(xv, g, b, axis, 1e-3, { mean: movingMean, variance: movingVariance }), w),
          ) as tf.Scalar,
        [xv, g, b],
      );
      expect(
        maxViolation(
          values(inf.y),
          values(referenceNormalize(x, gamma, beta, axis, 1e-3, { mean: movingMean, variance: movingVariance })),
          1e-5,
          1e-5,
        ),
      ).toBe(0);
      expect(maxViolation(values(inf.dx), values(refInf.grads[xv.name] as tf.Tensor), 1e-5, 1e-4)).toBe(0);
      expect(maxViolation(values(inf.dGamma as tf.Tensor), values(refInf.grads[g.name] as tf.Tensor), 1e-4, 1e-5)).toBe(
        0,
      );
      expect(maxViolation(values(inf.dBeta as tf.Tensor), values(refInf.grads[b.name] as tf.Tensor), 1e-4, 1e-5)).toBe(
        0,
      );
      expect(weightsByName(bn).moving_mean).toEqual(stats.moving_mean); // inference left the statistics alone
    },
  );

  it("fixes tfjs's channels-first bug: tfjs's layer is off by more than 0.1 where ours matches the reference", () => {
    const x = tf.randomNormal([8, 4, 5, 5], 2, 3, 'float32', 21);
    const ref = values(referenceNormalize(x, null, null, 1, 1e-3));
    const ours = layers.batchNormalization({ axis: 1 }).apply(x, { training: true }) as tf.Tensor;
    const theirs = tf.layers.batchNormalization({ axis: 1 }).apply(x, { training: true }) as tf.Tensor;
    expect(maxViolation(values(ours), ref, 1e-5, 1e-5)).toBe(0);
    expect(maxViolation(values(theirs), ref, 0.1)).toBeGreaterThan(0);
  });
});

describe('layers.batchNormalization in fit, predict and custom loops', () => {
  /** A model whose first layer is the batch norm, so its input is the data itself. */
  function bnModel(args: Parameters<typeof layers.batchNormalization>[0] = {}) {
    const model = tf.sequential({
      layers: [
        layers.batchNormalization({ inputShape: [3], momentum: 0.9, ...args }),
        tf.layers.dense({ units: 1, kernelInitializer: tf.initializers.glorotUniform({ seed: 33 }) }),
      ],
    });
    model.compile({ optimizer: tf.train.sgd(0.01), loss: 'meanSquaredError' });
    return model;
  }
  const x = tf.randomNormal([12, 3], 2, 3, 'float32', 31);
  const y = tf.randomNormal([12, 1], 0, 1, 'float32', 32);

  /** The moving mean after one pass over x in batches of 4 (momentum 0.9). */
  function movingMeanAfterOneEpoch(): tf.Tensor {
    let expectedMean = tf.zeros([3]);
    for (let i = 0; i < 3; i++) {
      const { mean } = referenceMoments(tf.slice(x, [4 * i, 0], [4, 3]), -1);
      expectedMean = tf.add(tf.mul(expectedMean, 0.9), tf.mul(mean, 0.1));
    }
    return expectedMean;
  }

  it('fitDataset updates the moving statistics once per batch too', async () => {
    const model = bnModel();
    const ds = tf.data.zip({ xs: tf.data.array(tf.unstack(x)), ys: tf.data.array(tf.unstack(y)) }).batch(4);
    await model.fitDataset(ds, { epochs: 1, verbose: 0 });
    const bn = model.layers[0] as tf.layers.Layer;
    expect(maxViolation(weightsByName(bn).moving_mean as number[], values(movingMeanAfterOneEpoch()), 1e-6, 1e-5)).toBe(
      0,
    );
  });

  it('model.apply(x, {training: true}) inside minimize trains the batch norms of a model, once per call', () => {
    const model = bnModel();
    const opt = tf.train.sgd(0);
    for (let i = 0; i < 3; i++) {
      const batch = tf.slice(x, [4 * i, 0], [4, 3]);
      opt.minimize(() => tf.sum(model.apply(batch, { training: true }) as tf.Tensor) as tf.Scalar);
    }
    const bn = model.layers[0] as tf.layers.Layer;
    expect(maxViolation(weightsByName(bn).moving_mean as number[], values(movingMeanAfterOneEpoch()), 1e-6, 1e-5)).toBe(
      0,
    );
  });

  it('fit updates the moving statistics once per batch; predict and evaluate leave them alone', async () => {
    const model = bnModel();
    await model.fit(x, y, { batchSize: 4, epochs: 1, shuffle: false, verbose: 0 });
    let expectedMean = tf.zeros([3]);
    for (let i = 0; i < 3; i++) {
      const { mean } = referenceMoments(tf.slice(x, [4 * i, 0], [4, 3]), -1);
      expectedMean = tf.add(tf.mul(expectedMean, 0.9), tf.mul(mean, 0.1));
    }
    const bn = model.layers[0] as tf.layers.Layer;
    expect(maxViolation(weightsByName(bn).moving_mean as number[], values(expectedMean), 1e-6, 1e-5)).toBe(0);
    const before = weightsByName(bn);
    model.predict(x);
    model.evaluate(x, y);
    expect(weightsByName(bn)).toEqual(before);
  });

  it('inside optimizer.minimize and tf.variableGrads, apply(x, {training: true}) updates the statistics exactly once per call', () => {
    const bn = layers.batchNormalization({ momentum: 0.5 });
    bn.build([null, 1]);
    const xs = tf.tensor2d([[1], [2], [3], [4]]);
    const opt = tf.train.sgd(0);
    opt.minimize(() => tf.sum(bn.apply(xs, { training: true }) as tf.Tensor) as tf.Scalar);
    expect(weightsByName(bn).moving_mean?.[0]).toBeCloseTo(1.25, 6); // 0.5 * 0 + 0.5 * 2.5
    tf.variableGrads(() => tf.sum(bn.apply(xs, { training: true }) as tf.Tensor) as tf.Scalar);
    expect(weightsByName(bn).moving_mean?.[0]).toBeCloseTo(1.875, 6); // 0.5 * 1.25 + 0.5 * 2.5
    expect(weightsByName(bn).moving_variance?.[0]).toBeCloseTo(1.1875, 6); // 1 -> 1.125 -> 1.1875
  });

  it('a frozen layer (trainable = false) runs in inference mode in fit: statistics unchanged, output = predict', async () => {
    const model = bnModel();
    await model.fit(x, y, { batchSize: 4, epochs: 1, verbose: 0 });
    const bn = model.layers[0] as tf.layers.Layer;
    bn.trainable = false;
    model.compile({ optimizer: tf.train.sgd(0.01), loss: 'meanSquaredError' });
    const before = weightsByName(bn);
    await model.fit(x, y, { batchSize: 4, epochs: 2, verbose: 0 });
    expect(weightsByName(bn)).toEqual(before);
    const training = bn.apply(x, { training: true }) as tf.Tensor;
    expect(values(training)).toEqual(values(bn.apply(x) as tf.Tensor));
  });

  it("model.trainable = false freezes its batch norms too (tfjs flips the weights' flags, not the layers')", () => {
    const model = tf.sequential({
      layers: [tf.layers.dense({ units: 3, inputShape: [3] }), layers.batchNormalization()],
    });
    model.trainable = false;
    const bn = model.layers[1] as tf.layers.Layer;
    expect(bn.trainable).toBe(true); // tfjs leaves the layer's own flag alone
    const before = weightsByName(bn);
    const y = model.apply(x, { training: true }) as tf.Tensor;
    expect(weightsByName(bn)).toEqual(before);
    expect(values(y)).toEqual(values(model.apply(x) as tf.Tensor));
  });

  it.each([[{ scale: false }], [{ center: false }], [{ scale: false, center: false }]])(
    'trains with %j (where tfjs crashes), and its loss goes down',
    async (args) => {
      const model = bnModel(args);
      const history = await model.fit(x, y, { batchSize: 4, epochs: 10, shuffle: false, verbose: 0 });
      const losses = history.history.loss as number[];
      expect(losses.every(Number.isFinite)).toBe(true);
      expect(losses.at(-1) as number).toBeLessThan(losses[0] as number);
      expect(() => tf.layers.batchNormalization(args).apply(x, { training: true })).toThrow();
    },
  );

  it.each([[{ scale: false }], [{ center: false }], [{ scale: false, center: false }]])(
    'a frozen layer with %j trains in fit (channels-last, gradients through inference mode) and keeps its statistics',
    async (args) => {
      const model = tf.sequential({
        layers: [
          tf.layers.dense({ units: 3, inputShape: [3] }),
          layers.batchNormalization(args),
          tf.layers.dense({ units: 1 }),
        ],
      });
      const bn = model.layers[1] as tf.layers.Layer;
      bn.trainable = false;
      model.compile({ optimizer: tf.train.sgd(0.01), loss: 'meanSquaredError' });
      const before = weightsByName(bn);
      const history = await model.fit(x, y, { batchSize: 4, epochs: 2, verbose: 0 });
      expect((history.history.loss as number[]).every(Number.isFinite)).toBe(true);
      expect(weightsByName(bn)).toEqual(before);
    },
  );

  it('adds its regularizers to the loss and keeps its constraints on the weights, as tfjs does', () => {
    const bn = layers.batchNormalization({ betaConstraint: 'nonNeg', gammaRegularizer: tf.regularizers.l2({ l2: 1 }) });
    bn.build([null, 3]);
    expect(bn.losses.length).toBe(1);
    bn.setWeights([tf.fill([3], 2), tf.zeros([3]), tf.zeros([3]), tf.ones([3])]);
    expect(values(bn.losses[0]?.() as tf.Tensor)[0]).toBeCloseTo(12, 5); // l2 * sum(gamma^2)
    const beta = bn.weights.find((w) => shortName(w) === 'beta') as tf.LayerVariable;
    beta.write(tf.tensor1d([-1, 2, -3]));
    expect(values(beta.read())).toEqual([0, 2, 0]);
  });

  it('leaks no tensors and reads nothing back in fit, fitDataset and a minimize loop', async () => {
    const model = bnModel();
    const oneEpoch = () => model.fit(x, y, { batchSize: 4, epochs: 1, verbose: 0 });
    await oneEpoch();
    expect(await tensorsLeftBy(oneEpoch)).toBe(0);
    const ds = tf.data.zip({ xs: tf.data.array(tf.unstack(x)), ys: tf.data.array(tf.unstack(y)) }).batch(4);
    const fitDataset = () => model.fitDataset(ds, { epochs: 1, verbose: 0 });
    await fitDataset();
    expect(await tensorsLeftBy(fitDataset)).toBe(0);
    const bn = layers.batchNormalization({ axis: 1 });
    bn.build([null, 3, 2, 2]);
    const x4 = tf.randomNormal([4, 3, 2, 2]);
    const opt = tf.train.adam(0.01);
    const step = () =>
      opt.minimize(() => tf.sum(tf.square(bn.apply(x4, { training: true }) as tf.Tensor)) as tf.Scalar);
    step();
    expect(await tensorsLeftBy(() => Array.from({ length: 5 }, step))).toBe(0);
    expect(await countBlockingReads(() => Array.from({ length: 5 }, step))).toBe(0);
  });
});

describe('layers.batchNormalization: numerics', () => {
  it('a channel with zero variance gives finite outputs (beta) and finite gradients', () => {
    const bn = layers.batchNormalization();
    bn.build([null, 2]);
    const x = tf.concat([tf.fill([6, 1], 5), tf.randomNormal([6, 1], 0, 1, 'float32', 41)], 1);
    const w = tf.randomNormal([6, 2], 0, 1, 'float32', 42);
    const { y, dx, dGamma, dBeta } = forwardBackward(bn, x, w, true);
    for (const t of [y, dx, dGamma, dBeta]) expect(values(t as tf.Tensor).every(Number.isFinite)).toBe(true);
    expect(values(tf.slice(y, [0, 0], [6, 1]))).toEqual(Array(6).fill(0));
    const xv = tf.variable(x);
    const ref = tf.variableGrads(
      () => tf.sum(tf.mul(referenceNormalize(xv, null, null, -1, 1e-3), w)) as tf.Scalar,
      [xv],
    );
    expect(maxViolation(values(dx), values(ref.grads[xv.name] as tf.Tensor), 1e-4, 1e-4)).toBe(0);
  });

  it('never uses an epsilon below the backend float precision (float16 backends)', () => {
    const x = tf.tensor2d([[1], [1], [1], [1.001]]);
    const bn = layers.batchNormalization({ epsilon: 1e-9 });
    const eps = vi.spyOn(tf.backend(), 'epsilon').mockReturnValue(1e-4);
    try {
      const y = values(bn.apply(x, { training: true }) as tf.Tensor);
      expect(maxViolation(y, values(referenceNormalize(x, null, null, -1, 1e-4)), 1e-5, 1e-4)).toBe(0);
    } finally {
      eps.mockRestore();
    }
  });
});

describe('layers.batchNormalization: saving and loading', () => {
  it('round-trips its config through toJSON / modelFromJSON', async () => {
    const model = tf.sequential({
      layers: [
        layers.batchNormalization({
          inputShape: [3, 4],
          axis: 1,
          momentum: 0.7,
          epsilon: 1e-5,
          center: false,
          unbiasedMovingVariance: true,
          gammaInitializer: 'randomNormal',
          gammaRegularizer: 'l1l2',
        }),
      ],
    });
    const loaded = await tf.models.modelFromJSON(
      model.toJSON(null, false) as tf.io.ModelJSON['modelTopology'] as never,
    );
    const bn = loaded.layers[0] as BatchNormalizationLayer;
    expect(bn).toBeInstanceOf(BatchNormalizationLayer);
    expect([bn.axis, bn.momentum, bn.epsilon, bn.center, bn.scale, bn.unbiasedMovingVariance]).toEqual([
      1,
      0.7,
      1e-5,
      false,
      true,
      true,
    ]);
    const config = bn.getConfig();
    expect((config.gammaInitializer as { className: string }).className).toBe('RandomNormal');
    expect((config.gammaRegularizer as { className: string }).className).toBe('L1L2');
  });

  it('saves and loads with its weights: same predictions, and training resumes the same', async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.dense({ units: 4, inputShape: [3] }),
        layers.batchNormalization({ momentum: 0.5 }),
        tf.layers.dense({ units: 1 }),
      ],
    });
    model.compile({ optimizer: 'adam', loss: 'meanSquaredError' });
    const x = tf.randomNormal([8, 3], 0, 1, 'float32', 51);
    const y = tf.randomNormal([8, 1], 0, 1, 'float32', 52);
    await model.fit(x, y, { epochs: 3, verbose: 0 });
    const loaded = await saveAndLoad(model);
    expect(values(loaded.predict(x) as tf.Tensor)).toEqual(values(model.predict(x) as tf.Tensor));
    expect(loaded.getWeights().map((w) => values(w))).toEqual(model.getWeights().map((w) => values(w)));
    await model.fit(x, y, { epochs: 2, shuffle: false, verbose: 0 });
    await loaded.fit(x, y, { epochs: 2, shuffle: false, verbose: 0 });
    const resumed = loaded.getWeights().map((w) => values(w));
    model.getWeights().forEach((w, i) => {
      expect(maxViolation(resumed[i] as number[], values(w), 1e-6, 1e-5)).toBe(0);
    });
  });
});

describe('layers.batchNormalization on axis 0, the batch axis, as Keras and tfjs accept it', () => {
  it("normalizes per batch position over all other axes, with tfjs's weight shapes; trains, saves and loads", async () => {
    const x = tf.randomNormal([4, 3, 2], 0, 1, 'float32', 1);
    const model = tf.sequential({
      layers: [layers.batchNormalization({ axis: 0, batchInputShape: [4, 3, 2], name: 'bn_batch_axis' })],
    });
    const tfjs = tf.layers.batchNormalization({ axis: 0, batchInputShape: [4, 3, 2] });
    tfjs.apply(x);
    const bn = model.layers[0] as tf.layers.Layer;
    expect(bn.weights.map((w) => w.shape)).toEqual(tfjs.weights.map((w) => w.shape)); // [4] each: one per position
    const y = bn.apply(x, { training: true }) as tf.Tensor;
    const expected = referenceNormalize(x, null, null, 0, 1e-3);
    expect(maxViolation(values(y), values(expected), 1e-6, 1e-6)).toBe(0);
    model.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
    await model.fit(x, tf.zeros([4, 3, 2]), { batchSize: 4, epochs: 2, verbose: 0 });
    const loaded = await saveAndLoad(model);
    expect(values(loaded.predict(x) as tf.Tensor)).toEqual(values(model.predict(x) as tf.Tensor));
  });

  it('says that it needs a fixed batch size', () => {
    expect(() => layers.batchNormalization({ axis: 0, name: 'bn_no_batch' }).apply(tf.input({ shape: [3] }))).toThrow(
      'layers.batchNormalization (layer "bn_no_batch"): the channel axis 0 must have a known size (axis 0 normalizes per batch position: give the layer a fixed batchInputShape), got shape [,3].',
    );
  });
});

describe('layers.batchNormalization: bad input is a GradStabError naming the layer, the rule and the value', () => {
  it.each([
    [{ momentum: 1 }, 'momentum must be a number in [0, 1)', 'got 1.'],
    [{ momentum: -0.1 }, 'momentum must be a number in [0, 1)', 'got -0.1.'],
    [{ momentum: Number.NaN }, 'momentum must be a number in [0, 1)', 'got NaN.'],
    [{ epsilon: 0 }, 'epsilon must be a finite number > 0', 'got 0.'],
    [{ epsilon: -1e-3 }, 'epsilon must be a finite number > 0', 'got -0.001.'],
    [{ axis: 1.5 }, 'axis must be an integer', 'got 1.5.'],
    [{ center: 'yes' }, 'center must be a boolean', 'got "yes".'],
    [{ unbiasedMovingVariance: 1 }, 'unbiasedMovingVariance must be a boolean', 'got 1.'],
    [{ foo: 1 }, 'unknown option "foo"', '"foo":1'],
  ])('%j', (args, rule, got) => {
    const make = () => layers.batchNormalization({ name: 'bn_bad', ...args } as never);
    expect(make).toThrow(GradStabError);
    expect(make).toThrow(rule);
    expect(make).toThrow(got);
    if (!('foo' in args)) expect(make).toThrow('layers.batchNormalization (layer "bn_bad")');
    else expect(make).toThrow('layers.batchNormalization: unknown option "foo"');
  });

  it('rejects an axis that does not fit the input rank, at build', () => {
    const bn = layers.batchNormalization({ axis: 3, name: 'bn_axis' });
    expect(() => bn.apply(tf.ones([2, 3]))).toThrow(
      'layers.batchNormalization (layer "bn_axis"): axis 3 must name an axis of the rank-2 input (0 to 1, or negative), got shape [2,3].',
    );
    expect(() => layers.batchNormalization({ axis: -2 }).apply(tf.ones([2, 3, 4]))).not.toThrow();
    expect(() => layers.batchNormalization({ axis: -4 }).apply(tf.ones([2, 3, 4]))).toThrow(GradStabError);
    expect(() => layers.batchNormalization().apply(tf.ones([3]))).toThrow('the input must have rank 2 or more');
  });

  it('rejects an input whose rank changed after build', () => {
    const bn = layers.batchNormalization({ name: 'bn_rank' });
    bn.apply(tf.ones([2, 3, 3, 5]));
    expect(() => bn.apply(tf.ones([2, 5]))).toThrow(
      'layers.batchNormalization (layer "bn_rank"): the input must have rank 4 (the rank the layer was built with), got shape [2,5].',
    );
  });

  it('rejects an input whose channel count changed after build, eagerly and in a model', () => {
    const bn = layers.batchNormalization({ name: 'bn_channels' });
    bn.apply(tf.ones([2, 3]));
    expect(() => bn.apply(tf.ones([2, 4]), { training: true })).toThrow(
      'layers.batchNormalization (layer "bn_channels"): the input\'s channel axis 1 must have size 3 (the channel count the layer was built with), got shape [2,4].',
    );
    expect(() => bn.apply(tf.input({ shape: [5] }))).toThrow(GradStabError);
  });

  it('rejects non-float input, and unbiasedMovingVariance with one value per channel in training', () => {
    expect(() => layers.batchNormalization({ name: 'bn_int' }).apply(tf.ones([2, 3], 'int32'))).toThrow(
      'layers.batchNormalization (layer "bn_int"): the input must be float32',
    );
    const bn = layers.batchNormalization({ unbiasedMovingVariance: true });
    expect(() => bn.apply(tf.ones([1, 3]), { training: true })).toThrow('needs more than 1 value per channel');
    expect(() => bn.apply(tf.ones([1, 3]))).not.toThrow();
  });
});

describe('layers.batchNormalization: initializers, regularizers and constraints tfjs cannot resolve (issue 13)', () => {
  it.each([
    [
      { betaInitializer: 'nope' },
      'betaInitializer must be an initializer identifier (such as \'zeros\') or a tfjs initializer object that tfjs knows (Unknown initializer: nope), got "nope".',
    ],
    [
      { betaInitializer: 5 },
      "betaInitializer must be an initializer identifier (such as 'zeros') or a tfjs initializer object, got 5.",
    ],
    [
      { gammaRegularizer: 'nope' },
      'gammaRegularizer must be a regularizer identifier (such as \'l1l2\') or a tfjs regularizer object that tfjs knows (Unknown regularizer: nope), got "nope".',
    ],
    [
      { betaConstraint: {} },
      "betaConstraint must be a constraint identifier (such as 'nonNeg') or a tfjs constraint object that tfjs knows (constraint: Improper config format: {}), got {}.",
    ],
    [{ scale: 'no' }, 'scale must be a boolean, got "no".'],
    [
      { betaInitializer: null },
      'betaInitializer must not be null (leave the key out or pass undefined instead), got null.',
    ],
  ])('%o', (args, message) => {
    expect(() => layers.batchNormalization(args as never)).toThrow(
      new GradStabError(`layers.batchNormalization: ${message}`),
    );
  });

  it('takes what tfjs resolves: identifiers and initializer objects', () => {
    const bn = layers.batchNormalization({
      betaInitializer: 'zeros',
      gammaInitializer: tf.initializers.ones(),
      gammaConstraint: 'nonNeg',
    });
    expect((bn.apply(tf.ones([2, 3])) as tf.Tensor).shape).toEqual([2, 3]);
  });
});
