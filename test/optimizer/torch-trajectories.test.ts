import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  clipByGlobalNorm,
  clipByValue,
  type GradientTransform,
  gradientPipeline,
  withTransforms,
} from '../../src/index.js';
import { type ClippingFixtures, clippingFixtures } from '../helpers/fixtures.js';
import { maxViolation, useCpu, values } from '../helpers/tf.js';

beforeAll(useCpu);
afterEach(() => tf.disposeVariables());

type Trajectory = ClippingFixtures['trajectories'][number];
const fixtures = clippingFixtures();

function makeOptimizer(t: Trajectory): tf.Optimizer {
  const o = t.optimizer;
  return o.type === 'sgd' ? tf.train.sgd(o.lr) : tf.train.adam(o.lr, o.beta1, o.beta2, o.eps);
}

function makeClip(t: Trajectory): GradientTransform {
  return t.clip.kind === 'norm' ? clipByGlobalNorm(t.clip.maxNorm) : clipByValue(t.clip.clipValue);
}

function makeModel(t: Trajectory): tf.Sequential {
  const model = tf.sequential();
  t.layers.forEach((l, i) => {
    model.add(
      tf.layers.dense({ units: l.units, activation: l.activation, ...(i === 0 ? { inputShape: [t.inputDim] } : {}) }),
    );
  });
  model.setWeights(t.initialWeights.map((w) => tf.tensor(w.values, w.shape)));
  return model;
}

const batch = (t: Trajectory, k: number) => {
  const b = t.batches[k] as Trajectory['batches'][number];
  return {
    x: tf.tensor2d(b.x.values, b.x.shape as [number, number]),
    y: tf.tensor2d(b.y.values, b.y.shape as [number, number]),
  };
};

/** Each loop trains one step on batch k and returns the loss before the update. */
const loops: Record<string, (t: Trajectory) => { step: (k: number) => Promise<number>; weights: () => number[][] }> = {
  'model.fit': (t) => {
    const model = makeModel(t);
    model.compile({ optimizer: withTransforms(makeOptimizer(t), makeClip(t)), loss: 'meanSquaredError' });
    return {
      step: async (k) => {
        const { x, y } = batch(t, k);
        const h = await model.fit(x, y, { batchSize: x.shape[0], epochs: 1, shuffle: false, verbose: 0 });
        return h.history.loss?.[0] as number;
      },
      weights: () => model.getWeights().map(values),
    };
  },
  'optimizer.minimize': (t) => {
    const model = makeModel(t);
    const optimizer = withTransforms(makeOptimizer(t), makeClip(t));
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    return {
      step: async (k) => {
        const { x, y } = batch(t, k);
        const loss = optimizer.minimize(
          () => tf.losses.meanSquaredError(y, model.predict(x) as tf.Tensor) as tf.Scalar,
          true,
          vars,
        ) as tf.Scalar;
        return values(loss)[0] as number;
      },
      weights: () => model.getWeights().map(values),
    };
  },
  'raw variableGrads loop': (t) => {
    const weights = t.initialWeights.map((w) => tf.variable(tf.tensor(w.values, w.shape)));
    const optimizer = makeOptimizer(t);
    const pipeline = gradientPipeline(makeClip(t));
    const forward = (x: tf.Tensor) =>
      t.layers.reduce((h, l, i) => {
        const z = tf.add(tf.matMul(h as tf.Tensor2D, weights[2 * i] as tf.Tensor2D), weights[2 * i + 1] as tf.Tensor);
        return l.activation === 'tanh' ? tf.tanh(z) : z;
      }, x);
    return {
      step: async (k) => {
        const { x, y } = batch(t, k);
        const { value, grads } = tf.variableGrads(() => tf.losses.meanSquaredError(y, forward(x)) as tf.Scalar);
        const out = pipeline.apply(grads);
        if (!out.skip) optimizer.applyGradients(out.grads);
        const loss = values(value)[0] as number;
        tf.dispose([value, grads, out.grads, x, y]);
        return loss;
      },
      weights: () => weights.map(values),
    };
  },
};

describe(`8-step training with clipping matches torch ${fixtures.torch} (weights within 1e-5)`, () => {
  for (const t of fixtures.trajectories) {
    it.each(Object.keys(loops))(`${t.name} via %s`, async (loopName) => {
      const loop = (loops[loopName] as (typeof loops)[string])(t);
      for (let k = 0; k < t.batches.length; k++) {
        const loss = await loop.step(k);
        expect(maxViolation([loss], [t.losses[k] as number], 0, 1e-5)).toBe(0);
        const expected = t.weightsAfter[k] as number[][];
        const worst = loop.weights().map((w, i) => maxViolation(w, expected[i] as number[], 1e-5));
        expect(Math.max(...worst)).toBe(0);
      }
    });
  }
});
