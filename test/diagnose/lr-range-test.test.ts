import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { steepestIndex } from '../../src/diagnose/lr-range-test.js';
import { clipOptimizer, GradStabError, lrRangeTest } from '../../src/index.js';
import { countBlockingReads, tensorsLeftBy, useBackend, useCpu } from '../helpers/tf.js';

/** y = 2 x0 - x1 + 0.5 on 64 points, a linear model from zeros: its loss falls until the rate passes ~2 / lambda_max. */
function linearProblem() {
  const x = tf.randomNormal([64, 2], 0, 1, 'float32', 3);
  const y = tf.tidy(() => tf.add(tf.matMul(x, tf.tensor2d([[2], [-1]])), 0.5));
  const model = () =>
    tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [2], kernelInitializer: 'zeros' })] });
  return { x, y, model };
}

/** A 3-layer ReLU MLP on spirals-like data, compiled with `optimizer`. */
function mlp(optimizer: tf.Optimizer) {
  const model = tf.sequential({
    layers: [
      tf.layers.dense({
        units: 16,
        inputShape: [2],
        activation: 'relu',
        kernelInitializer: tf.initializers.heNormal({ seed: 1 }),
      }),
      tf.layers.dense({ units: 16, activation: 'relu', kernelInitializer: tf.initializers.heNormal({ seed: 2 }) }),
      tf.layers.dense({
        units: 1,
        activation: 'sigmoid',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }),
      }),
    ],
  });
  model.compile({ optimizer, loss: 'binaryCrossentropy' });
  return model;
}

const snapshot = (model: tf.LayersModel) => model.getWeights().map((w) => Array.from(w.dataSync()));

describe('lrRangeTest', () => {
  beforeAll(useCpu);

  it('finds where the loss falls fastest and where it diverges, on a problem whose answer is known', async () => {
    const { x, y, model } = linearProblem();
    const m = model();
    m.compile({ optimizer: tf.train.sgd(0.1), loss: 'meanSquaredError' });
    const found = await lrRangeTest(m, { x, y }, { minLearningRate: 1e-4, maxLearningRate: 100, steps: 60 });
    // The rates grow exponentially from min to max.
    expect(found.learningRates[0]).toBeCloseTo(1e-4, 10);
    const r = (found.learningRates[1] as number) / (found.learningRates[0] as number);
    expect(r).toBeCloseTo((100 / 1e-4) ** (1 / 59), 8);
    // SGD on this MSE problem (input covariance ~ I, Hessian ~ 2I) is stable below a rate of about 1 and diverges
    // above it: the test must stop there, and the steepest fall must be below it.
    expect(found.divergedAt).not.toBeNull();
    expect(found.divergedAt as number).toBeGreaterThan(0.3);
    expect(found.divergedAt as number).toBeLessThan(20);
    expect(found.steepest).not.toBeNull();
    expect(found.steepest as number).toBeGreaterThan(1e-3);
    expect(found.steepest as number).toBeLessThan(found.divergedAt as number);
    expect(found.losses.length).toBe(found.learningRates.length);
    expect(found.losses.length).toBeLessThan(60); // stopped early
    // Smoothing is the debiased EMA with beta 0.98: the first smoothed value is the first loss.
    expect(found.smoothedLosses[0]).toBeCloseTo(found.losses[0] as number, 5);
    tf.dispose([x, y]);
    m.dispose();
  });

  it('leaves the model, its weights and its optimizer untouched, leaks nothing and reads nothing blocking', async () => {
    const { x, y } = linearProblem();
    const optimizer = tf.train.adam(0.01);
    const model = mlp(optimizer);
    await model.fit(x, tf.cast(tf.greater(tf.sum(x, 1, true), 0), 'float32'), { epochs: 1, batchSize: 32, verbose: 0 });
    const labels = tf.tidy(() => tf.cast(tf.greater(tf.sum(x, 1, true), 0), 'float32'));
    const before = snapshot(model);
    const iterations = optimizer.iterations;
    const names = model.weights.map((w) => w.name);
    await lrRangeTest(model, { x, y: labels }, { steps: 10 }); // first run: tfjs's lazy kernels and names
    const leaked = await tensorsLeftBy(() => lrRangeTest(model, { x, y: labels }, { steps: 20 }));
    expect(leaked).toBe(0);
    expect(await countBlockingReads(() => lrRangeTest(model, { x, y: labels }, { steps: 20 }))).toBe(0);
    expect(snapshot(model)).toEqual(before);
    expect(optimizer.iterations).toBe(iterations);
    expect(model.weights.map((w) => w.name)).toEqual(names);
    expect(tf.getBackend()).toBe('cpu');
    tf.dispose([x, y, labels]);
    model.dispose();
  });

  it('sets the rate of every tfjs optimizer, and of the inner one of a clipping wrapper', async () => {
    const { x, y } = linearProblem();
    const labels = tf.tidy(() => tf.cast(tf.greater(tf.sum(x, 1, true), 0), 'float32'));
    const makers: [string, () => tf.Optimizer][] = [
      ['sgd', () => tf.train.sgd(0.1)],
      ['momentum', () => tf.train.momentum(0.1, 0.9)],
      ['adam', () => tf.train.adam(0.01)],
      ['adamax', () => tf.train.adamax(0.01)],
      ['adagrad', () => tf.train.adagrad(0.1)],
      ['adadelta', () => tf.train.adadelta(1)],
      ['rmsprop', () => tf.train.rmsprop(0.01)],
      ['clipOptimizer(adam)', () => clipOptimizer(tf.train.adam(0.01), { globalClipNorm: 1 })],
    ];
    for (const [name, make] of makers) {
      const model = mlp(make());
      const found = await lrRangeTest(
        model,
        { x, y: labels },
        { minLearningRate: 1e-5, maxLearningRate: 1e3, steps: 40 },
      );
      // At 1e-5 nothing moves; by 1e3 every one of them has moved the loss (down, or up to divergence).
      const first = found.smoothedLosses[0] as number;
      const spread = Math.max(...found.smoothedLosses.map((l) => (Number.isFinite(l) ? Math.abs(l - first) : 1)));
      expect(spread, name).toBeGreaterThan(0.01);
      expect(found.minimum, name).toBeGreaterThan(1e-5);
      model.dispose();
    }
    tf.dispose([x, y, labels]);
  });

  it('takes an uncompiled model with options.loss and options.optimizer, and a model of two inputs and outputs', async () => {
    const { x, y, model } = linearProblem();
    const m = model();
    const made: number[] = [];
    const found = await lrRangeTest(
      m,
      { x, y },
      {
        loss: 'meanSquaredError',
        optimizer: (lr) => {
          made.push(lr);
          return tf.train.sgd(lr);
        },
        steps: 12,
        minLearningRate: 1e-3,
        maxLearningRate: 1,
      },
    );
    expect(made).toEqual([1e-3]);
    expect(found.losses.length).toBe(12);
    m.dispose();

    const a = tf.input({ shape: [2] });
    const b = tf.input({ shape: [3] });
    const joined = tf.layers.concatenate().apply([a, b]) as tf.SymbolicTensor;
    const h = tf.layers.dense({ units: 4, activation: 'relu' }).apply(joined) as tf.SymbolicTensor;
    const o1 = tf.layers.dense({ units: 1 }).apply(h) as tf.SymbolicTensor;
    const o2 = tf.layers.dense({ units: 2 }).apply(h) as tf.SymbolicTensor;
    const two = tf.model({ inputs: [a, b], outputs: [o1, o2] });
    two.compile({ optimizer: tf.train.adam(0.01), loss: ['meanSquaredError', 'meanSquaredError'] });
    const xb = tf.randomNormal([20, 3], 0, 1, 'float32', 9);
    const y2 = tf.randomNormal([20, 2], 0, 1, 'float32', 10);
    const pair = await lrRangeTest(
      two,
      { x: [tf.slice(x, 0, 20), xb], y: [tf.slice(y, 0, 20), y2] },
      { steps: 15, batchSize: 8 },
    );
    expect(pair.losses.length).toBeGreaterThan(5);
    expect(pair.losses.every((l) => typeof l === 'number')).toBe(true);
    two.dispose();
    tf.dispose([x, y, xb, y2]);
  });

  it('reports progress, and stops on an AbortSignal with its reason, freeing everything', async () => {
    const { x, y, model } = linearProblem();
    const m = model();
    m.compile({ optimizer: tf.train.sgd(0.1), loss: 'meanSquaredError' });
    const seen: number[] = [];
    await lrRangeTest(m, { x, y }, { steps: 8, maxLearningRate: 0.1, onProgress: (p) => seen.push(p.step) });
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const controller = new AbortController();
    const start = tf.memory().numTensors;
    const aborted = lrRangeTest(
      m,
      { x, y },
      {
        steps: 50,
        onProgress: (p) => {
          if (p.step === 3) controller.abort(new Error('enough'));
        },
        signal: controller.signal,
      },
    );
    await expect(aborted).rejects.toThrow('enough');
    expect(tf.memory().numTensors).toBe(start);
    tf.dispose([x, y]);
    m.dispose();
  });

  it('finds the steepest fall as numpy.gradient().argmin() over the window', () => {
    // Central differences: index 3 falls by (1 - 9) / 2 = -4, the steepest.
    expect(steepestIndex([10, 10, 9.5, 9, 5, 1, 0.9, 0.8], 0, 8)).toBe(4);
    expect(steepestIndex([5, 4, 3], 0, 3)).toBe(0); // -1 everywhere: the first
    expect(steepestIndex([5, 4], 0, 2)).toBeNull();
    expect(steepestIndex([10, 1, 9, 8, 7.5], 2, 5)).toBe(2); // the window leaves out the early drop
  });

  it('rejects bad input with a GradStabError naming lrRangeTest, the rule and the value', async () => {
    const { x, y, model } = linearProblem();
    const m = model();
    m.compile({ optimizer: tf.train.sgd(0.1), loss: 'meanSquaredError' });
    const bad: [unknown, unknown, unknown, string][] = [
      [null, { x, y }, undefined, 'model must be a tf.LayersModel'],
      [m, null, undefined, 'data must be {x, y}'],
      [m, { x }, undefined, 'data must be {x, y}'],
      [m, { x: [x, x], y }, undefined, 'data.x must be a tensor'],
      [m, { x, y: tf.zeros([3, 1]) }, undefined, 'every tensor of data must hold 64 examples'],
      [m, { x: tf.zeros([0, 2]), y: tf.zeros([0, 1]) }, undefined, 'at least one example'],
      [m, { x, y }, { steps: 2 }, 'steps must be'],
      [m, { x, y }, { minLearningRate: 0 }, 'minLearningRate must be a finite number > 0'],
      [m, { x, y }, { minLearningRate: 1, maxLearningRate: 1 }, 'maxLearningRate must be above minLearningRate'],
      [m, { x, y }, { smoothing: 1 }, 'smoothing must be a number in [0, 1)'],
      [m, { x, y }, { divergeFactor: 1 }, 'divergeFactor must be a finite number > 1'],
      [m, { x, y }, { optimizer: 'adam' }, 'optimizer must be a function'],
      [m, { x, y }, { optimizer: () => 5 }, 'options.optimizer must return a tf.Optimizer'],
      [m, { x, y }, { loss: 5 }, 'loss must be a tf.layers loss name or a function'],
      [m, { x, y }, { signal: {} }, 'signal must be an AbortSignal'],
      [m, { x, y }, { signal: { aborted: false } }, 'signal must be an AbortSignal'],
      [m, { x, y }, { stepz: 5 }, 'stepz'],
      [m, { x: tf.zeros([64, 3]), y }, undefined, "data.x must have the model input's shape [null,2]"],
      [m, { x, y: tf.zeros([64, 5]) }, undefined, "data.y must fit the model's outputs and the loss"],
      [m, { x, y }, { loss: 'nope' }, 'loss must be a loss tf.layers knows'],
      [model(), { x, y }, undefined, 'the model must be compiled, or options.loss given'],
      [model(), { x, y }, { loss: 'meanSquaredError' }, 'the model must be compiled, or options.optimizer given'],
    ];
    for (const [mod, data, options, message] of bad) {
      const out = lrRangeTest(mod as tf.LayersModel, data as never, options as never);
      await expect(out, message).rejects.toThrow(GradStabError);
      await expect(out, message).rejects.toThrow(message);
      await expect(out, message).rejects.toThrow(/^lrRangeTest: /);
    }
    tf.dispose([x, y]);
    m.dispose();
  });

  it('gives the same steepest rate on wasm', async () => {
    const results: (number | null)[] = [];
    for (const backend of ['cpu', 'wasm'] as const) {
      await useBackend(backend);
      const { x, y, model } = linearProblem();
      const m = model();
      m.compile({ optimizer: tf.train.sgd(0.1), loss: 'meanSquaredError' });
      const found = await lrRangeTest(m, { x, y }, { minLearningRate: 1e-4, maxLearningRate: 100, steps: 60 });
      expect(await countBlockingReads(() => lrRangeTest(m, { x, y }, { steps: 10, maxLearningRate: 1 }))).toBe(0);
      results.push(found.steepest);
      tf.dispose([x, y]);
      m.dispose();
    }
    await useCpu();
    expect(results[1]).toBe(results[0]);
  });
});
