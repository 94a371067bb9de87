import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  clipByGlobalNorm,
  GradientHealthMonitor,
  GradStabError,
  heNormal,
  type MonitorEvent,
  type MonitorEventName,
  type TransformedOptimizer,
  withTransforms,
} from '../../src/index.js';
import { saveAndLoad } from '../helpers/models.js';
import { countAsyncReads, countBlockingReads, tensorsLeftBy, useCpu } from '../helpers/tf.js';

beforeAll(useCpu);
afterEach(() => tf.disposeVariables());

/** depth x Dense(16), then Dense(1); seeded. */
function mlp(depth: number, activation: 'sigmoid' | 'relu', kernel?: (i: number) => ReturnType<typeof heNormal>) {
  const model = tf.sequential();
  for (let i = 0; i < depth; i++) {
    model.add(
      tf.layers.dense({
        units: 16,
        activation,
        name: `d${i}`,
        kernelInitializer: kernel ? kernel(i) : tf.initializers.glorotUniform({ seed: i + 1 }),
        ...(i === 0 ? { inputShape: [8] } : {}),
      }),
    );
  }
  model.add(tf.layers.dense({ units: 1, name: 'out', kernelInitializer: tf.initializers.glorotUniform({ seed: 99 }) }));
  return model;
}
const x = tf.randomNormal([64, 8], 0, 1, 'float32', 1);
const y = tf.randomNormal([64, 1], 0, 1, 'float32', 2);

/** Records every event the monitor emits. */
function collect(monitor: GradientHealthMonitor): MonitorEvent[] {
  const events: MonitorEvent[] = [];
  for (const kind of ['vanishing', 'exploding', 'nonFinite', 'spike'] as MonitorEventName[]) {
    monitor.on(kind, (e) => events.push(e));
  }
  return events;
}

async function train(model: tf.Sequential, monitor: GradientHealthMonitor, epochs: number, lr = 0.01) {
  model.compile({ optimizer: withTransforms(tf.train.sgd(lr), monitor.tap), loss: 'meanSquaredError' });
  return model.fit(x, y, { epochs, batchSize: 16, shuffle: false, callbacks: [monitor.callback()], verbose: 0 });
}

describe('GradientHealthMonitor on known cases', () => {
  it("20-layer sigmoid MLP with tfjs's default init: 'vanishing' within 20 steps, naming the first layers", async () => {
    const monitor = new GradientHealthMonitor();
    const events = collect(monitor);
    await train(mlp(20, 'sigmoid'), monitor, 5);
    const vanishing = events.filter((e) => e.kind === 'vanishing');
    expect(vanishing.length).toBeGreaterThan(0);
    expect(vanishing[0]?.step).toBeLessThanOrEqual(20);
    expect(vanishing[0]?.layers.slice(0, 3)).toEqual(['d0', 'd1', 'd2']);
    expect(vanishing[0]?.figures.depthRatio).toBeLessThan(1e-3);
    expect(monitor.report().counts.vanishing).toBe(monitor.steps); // it held on every step
  });

  it("the same depth with ReLU + He init: no 'vanishing' (and no 'exploding')", async () => {
    const monitor = new GradientHealthMonitor();
    const events = collect(monitor);
    await train(
      mlp(20, 'relu', (i) => heNormal({ seed: i + 1 })),
      monitor,
      5,
    );
    expect(monitor.steps).toBe(20);
    expect(events.filter((e) => e.kind === 'vanishing' || e.kind === 'exploding')).toEqual([]);
  });

  it("a ReLU MLP whose weights are scaled up layer by layer: 'exploding', naming the first layers", async () => {
    const monitor = new GradientHealthMonitor();
    const events = collect(monitor);
    await train(
      mlp(10, 'relu', (i) => heNormal({ seed: i + 1, gain: 4 * Math.SQRT2 })),
      monitor,
      1,
      1e-6,
    );
    const exploding = events.filter((e) => e.kind === 'exploding');
    expect(exploding.length).toBeGreaterThan(0);
    expect(exploding[0]?.step).toBe(1);
    expect(exploding[0]?.layers[0]).toBe('d0');
  });

  it("NaN in a batch: 'nonFinite' within 2 steps naming the layers; stopOnNonFinite stops fit", async () => {
    const model = mlp(3, 'relu', (i) => heNormal({ seed: i + 1 }));
    const monitor = new GradientHealthMonitor();
    const events = collect(monitor);
    model.compile({ optimizer: withTransforms(tf.train.sgd(0.01), monitor.tap), loss: 'meanSquaredError' });
    const bad = tf.concat([tf.slice(x, 0, 32), tf.fill([16, 8], Number.NaN), tf.slice(x, 48, 16)]);
    let batchesRun = 0;
    await model.fit(bad, y, {
      batchSize: 16,
      epochs: 3,
      shuffle: false,
      verbose: 0,
      callbacks: [
        monitor.callback({ stopOnNonFinite: true }),
        new tf.CustomCallback({ onBatchEnd: async () => void batchesRun++ }),
      ],
    });
    const nonFinite = events.find((e) => e.kind === 'nonFinite');
    expect(nonFinite?.step).toBe(3); // the third batch holds the NaNs
    expect(nonFinite?.layers).toEqual(['d0', 'd1', 'd2', 'out']);
    expect(batchesRun).toBeLessThanOrEqual(3 + 2); // reported within 2 steps, then fit stopped
    expect(batchesRun).toBeLessThan(12);
  });

  it("a spike of the global norm after the warm-up: 'spike', with its z-score", async () => {
    const monitor = new GradientHealthMonitor({ thresholds: { spikeWarmup: 10 } });
    const events = collect(monitor);
    for (let i = 0; i < 30; i++) monitor.observe({ w: tf.fill([4], 1 + 0.05 * Math.sin(i)) });
    monitor.observe({ w: tf.fill([4], 50) });
    await monitor.flush();
    const spikes = events.filter((e) => e.kind === 'spike');
    expect(spikes.map((e) => e.step)).toEqual([31]);
    expect(spikes[0]?.figures.z).toBeGreaterThan(2.5);
  });
});

describe('GradientHealthMonitor figures', () => {
  it('per layer: norm, max |g|, non-finite count; weight norm and the real update ratio on sampled steps', async () => {
    const w = tf.variable(
      tf.tensor2d([
        [3, 0],
        [0, 4],
      ]),
      true,
      'lay/w',
    );
    const b = tf.variable(tf.tensor1d([0, 0]), true, 'lay/b');
    const v = tf.variable(tf.tensor1d([1]), true, 'other');
    const monitor = new GradientHealthMonitor({ sampleEvery: 2 });
    const sgd = tf.train.sgd(0.1);
    for (let step = 0; step < 4; step++) {
      const grads = {
        'lay/w': tf.tensor2d([
          [1, -2],
          [0, 2],
        ]),
        'lay/b': tf.tensor1d([0, 0]),
        other: tf.tensor1d([Number.NaN]),
      };
      monitor.observe(grads, { 'lay/w': w, 'lay/b': b, other: v });
      sgd.applyGradients({ 'lay/w': grads['lay/w'], 'lay/b': grads['lay/b'] });
    }
    await monitor.flush();
    const [s1, s2, s3, s4] = monitor.history;
    const lay = (r: typeof s1) => r?.layers.find((l) => l.layer === 'lay');
    // Weights measured on step 1, then every 2 steps (3, 5...): step 1 has no step before it to compare with.
    expect(lay(s1)).toMatchObject({ norm: 3, maxAbs: 2, nonFinite: 0, weightNorm: 5 });
    expect(lay(s1)?.updateRatio).toBeUndefined();
    expect(lay(s2)?.weightNorm).toBeUndefined();
    // Step 3 sees the update step 2 applied: 0.1 * ||g|| = 0.3, over its weight norm (two updates after 5).
    const w3 = Math.hypot(3 - 0.2, 0.4, 4 - 0.4);
    expect(lay(s3)?.weightNorm).toBeCloseTo(w3, 5);
    expect(lay(s3)?.updateRatio).toBeCloseTo(0.3 / w3, 5);
    expect(lay(s4)?.weightNorm).toBeUndefined();
    expect(s4?.layers.find((l) => l.layer === 'other')?.nonFinite).toBe(1);
  });

  it('keeps a bounded history and reports it as text, JSON and CSV', async () => {
    const monitor = new GradientHealthMonitor({ historySize: 5 });
    for (let i = 1; i <= 12; i++) monitor.observe({ 'a/k': tf.fill([2], i), 'b/k': tf.fill([2], 2 * i) });
    await monitor.flush();
    expect(monitor.history.map((r) => r.step)).toEqual([8, 9, 10, 11, 12]);
    const report = monitor.report();
    expect(report.steps).toBe(12);
    expect(report.layers.map((l) => l.layer)).toEqual(['a', 'b']);
    expect(report.layers[0]?.lastNorm).toBeCloseTo(12 * Math.SQRT2, 4);
    expect(report.layers[0]?.depthRatio).toBeCloseTo(0.5, 4); // 2 layers: the output end is b alone
    expect(monitor.summary()).toMatch(/gradient health after 12 steps \(5 recorded\)/);
    expect(monitor.summary()).toMatch(/verdicts: none/);
    const csv = monitor.toCSV().trim().split('\n');
    expect(csv[0]).toBe('step,layer,norm,maxAbs,nonFinite,weightNorm,updateRatio');
    expect(csv).toHaveLength(1 + 5 * 3);
    expect(csv[2]).toMatch(/^8,a,11\.31\d*,8,0,,$/);
    const json = monitor.toJSON();
    expect(json.history).toHaveLength(5);
    expect(JSON.parse(JSON.stringify(json)).report.steps).toBe(12);
  });
});

describe('GradientHealthMonitor costs nothing it should not', () => {
  it('reads asynchronously at most once per interval, and never synchronously', async () => {
    const monitor = new GradientHealthMonitor({ every: 10 });
    const step = () => monitor.observe({ 'a/k': tf.ones([3]), 'b/k': tf.ones([2]) });
    let blocking = -1;
    const reads = await countAsyncReads(async () => {
      blocking = await countBlockingReads(() => Array.from({ length: 30 }, step));
    });
    expect(blocking).toBe(0);
    expect(reads).toBe(3);
    await monitor.flush();
    expect(monitor.history.map((r) => r.step)).toEqual([10, 20, 30]); // one recorded step per interval
  });

  it('leaks nothing over 100 steps in fit, fitDataset, minimize and a raw loop; no blocking reads', async () => {
    const model = mlp(2, 'relu', (i) => heNormal({ seed: i + 1 }));
    // sampleEvery 2 and even step counts: every run ends without a weight snapshot held for the next step.
    const monitor = new GradientHealthMonitor({ sampleEvery: 2 });
    model.compile({ optimizer: withTransforms(tf.train.adam(1e-3), monitor.tap), loss: 'meanSquaredError' });
    const callbacks = [monitor.callback()];
    const oneEpoch = () => model.fit(x, y, { batchSize: 2, epochs: 1, verbose: 0, callbacks }); // 32 steps
    const ds = tf.data.zip({ xs: tf.data.array(x.unstack()), ys: tf.data.array(y.unstack()) }).batch(2);
    const fitDataset = () => model.fitDataset(ds as never, { epochs: 1, verbose: 0, callbacks });
    const bareReads = await (async () => {
      const bare = mlp(2, 'relu', (i) => heNormal({ seed: i + 1 }));
      bare.compile({ optimizer: tf.train.adam(1e-3), loss: 'meanSquaredError' });
      return countBlockingReads(() => bare.fit(x, y, { batchSize: 2, epochs: 1, verbose: 0 }));
    })();
    await oneEpoch();
    expect(await tensorsLeftBy(oneEpoch)).toBe(0);
    expect(await countBlockingReads(oneEpoch)).toBe(bareReads); // fit's own reads only
    await fitDataset();
    expect(await tensorsLeftBy(fitDataset)).toBe(0);
    const opt = model.optimizer as TransformedOptimizer;
    const minimize = () => opt.minimize(() => tf.losses.meanSquaredError(y, model.apply(x) as tf.Tensor) as tf.Scalar);
    const raw = () => {
      const { value, grads } = tf.variableGrads(
        () => tf.losses.meanSquaredError(y, model.apply(x) as tf.Tensor) as tf.Scalar,
      );
      monitor.observe(
        grads,
        Object.fromEntries(model.trainableWeights.map((w) => [(w.read() as tf.Variable).name, w.read()])),
      );
      tf.dispose([value, grads]);
    };
    for (const step of [minimize, raw]) {
      const hundred = async () => {
        for (let i = 0; i < 100; i++) step();
        await monitor.flush();
      };
      await hundred();
      expect(await tensorsLeftBy(hundred)).toBe(0);
      expect(await countBlockingReads(hundred)).toBe(0);
    }
  });

  it('keeps tf.memory().numTensors identical after every step, as tfjs-examples assert per batch', async () => {
    const model = mlp(3, 'relu', (i) => heNormal({ seed: i + 1 }));
    for (const options of [{}, { every: 10 }, { every: 3, sampleEvery: 1 }]) {
      const monitor = new GradientHealthMonitor(options);
      const opt = withTransforms(tf.train.adam(1e-3), monitor.tap, clipByGlobalNorm(1));
      const step = () => opt.minimize(() => tf.losses.meanSquaredError(y, model.apply(x) as tf.Tensor) as tf.Scalar);
      step(); // the optimizer's slots and the monitor's snapshot variables are made on the first step
      await monitor.flush();
      const counts: number[] = [];
      for (let i = 0; i < 25; i++) {
        step();
        counts.push(tf.memory().numTensors);
        await new Promise((resolve) => setTimeout(resolve, 0)); // a training loop yields between batches
      }
      await monitor.flush();
      counts.push(tf.memory().numTensors);
      expect(new Set(counts), JSON.stringify(options)).toEqual(new Set([counts[0]]));
      opt.dispose();
      monitor.dispose();
    }
  });
});

describe('GradientHealthMonitor API', () => {
  it('the tap composes with clipping and passes gradients through unchanged', async () => {
    const monitor = new GradientHealthMonitor();
    const w = tf.variable(tf.tensor1d([1, 1]), true, 'tap/w');
    const opt = withTransforms(tf.train.sgd(1), monitor.tap, clipByGlobalNorm(1));
    opt.applyGradients({ 'tap/w': tf.tensor1d([30, 40]) });
    await monitor.flush();
    expect(monitor.history[0]?.globalNorm).toBe(50); // seen before clipping
    expect(Array.from(w.dataSync()).map((v) => Number(v.toFixed(6)))).toEqual([0.4, 0.2]);
  });

  it('a saved optimizer with a tap loads with an inert one', async () => {
    const model = mlp(1, 'relu');
    const monitor = new GradientHealthMonitor();
    model.compile({ optimizer: withTransforms(tf.train.sgd(0.01), monitor.tap), loss: 'meanSquaredError' });
    await model.fit(x, y, { epochs: 1, verbose: 0 });
    const loaded = await saveAndLoad(model);
    await loaded.fit(x, y, { epochs: 1, verbose: 0 });
    await monitor.flush();
    expect(monitor.steps).toBe(2); // the loaded model's tap does not feed the old monitor
  });

  it('rejects bad options and event names with GradStabErrors', () => {
    expect(() => new GradientHealthMonitor({ every: 0 })).toThrow(
      'GradientHealthMonitor: every must be a whole number >= 1, got 0.',
    );
    expect(() => new GradientHealthMonitor({ thresholds: { spikeZ: -1 } })).toThrow(
      'GradientHealthMonitor: thresholds.spikeZ must be a number > 0 (Infinity turns spike reports off), got -1.',
    );
    expect(() => new GradientHealthMonitor({ thresholds: { nope: 1 } as never })).toThrow(GradStabError);
    expect(() => new GradientHealthMonitor().on('explode' as never, () => {})).toThrow(
      'GradientHealthMonitor.on: the event must be one of vanishing, exploding, nonFinite, spike, got "explode".',
    );
  });
});

describe('GradientHealthMonitor: bad input is a GradStabError naming the method called (issue 13)', () => {
  it.each([
    [{ spikeAlpha: 1 }, 'thresholds.spikeAlpha must be a number in (0, 1), got 1.'],
    [{ spikeAlpha: 0 }, 'thresholds.spikeAlpha must be a number in (0, 1), got 0.'],
    [{ spikeWarmup: 2.5 }, 'thresholds.spikeWarmup must be a whole number >= 1 or Infinity, got 2.5.'],
    [{ spikeWarmup: 0 }, 'thresholds.spikeWarmup must be a whole number >= 1 or Infinity, got 0.'],
    [{ vanishingRatio: Number.NaN }, 'thresholds.vanishingRatio must be a finite number >= 0, got NaN.'],
    [{ vanishingFloor: -1 }, 'thresholds.vanishingFloor must be a finite number >= 0, got -1.'],
    [{ explodingNorm: 0 }, 'thresholds.explodingNorm must be a number > 0 (Infinity turns the test off), got 0.'],
    [
      { vanishingRatio: 2, explodingRatio: 2 },
      'thresholds.vanishingRatio must be below thresholds.explodingRatio (2): no layer can be both, got 2.',
    ],
    [
      { vanishingRatio: 5000 },
      'thresholds.vanishingRatio must be below thresholds.explodingRatio (1000): no layer can be both, got 5000.',
    ],
    [{ spikeZ: null }, 'spikeZ must not be null (leave the key out or pass undefined instead), got null.'],
  ])('thresholds out of range: %o', (thresholds, message) => {
    expect(() => new GradientHealthMonitor({ thresholds: thresholds as never })).toThrow(
      new GradStabError(`GradientHealthMonitor: ${message}`),
    );
  });

  it('accepts the documented extremes: Infinity turns a test off', () => {
    const t = { explodingRatio: Infinity, explodingNorm: Infinity, spikeZ: Infinity, spikeWarmup: Infinity };
    expect(
      () => new GradientHealthMonitor({ thresholds: { ...t, vanishingRatio: 0, vanishingFloor: 0 } }),
    ).not.toThrow();
  });

  it('observe, on and off check their arguments', () => {
    const monitor = new GradientHealthMonitor();
    expect(() => monitor.observe(null as never)).toThrow(
      new GradStabError(
        'GradientHealthMonitor.observe: gradients must be a map {name: tensor} (as from tf.variableGrads) or a list of {name, tensor}, got null.',
      ),
    );
    expect(() => monitor.observe({ w: tf.zeros([2]) }, { w: 5 } as never)).toThrow(
      new GradStabError('GradientHealthMonitor.observe: params["w"] must be a tf.Tensor, got 5.'),
    );
    expect(() => monitor.off('bogus' as never, 5 as never)).toThrow(
      new GradStabError(
        'GradientHealthMonitor.off: the event must be one of vanishing, exploding, nonFinite, spike, got "bogus".',
      ),
    );
    expect(() => monitor.off('spike', 5 as never)).toThrow(
      new GradStabError('GradientHealthMonitor.off: the handler must be a function, got 5.'),
    );
    monitor.dispose();
  });

  it('a layerOf that returns no string is named when it is used', () => {
    const monitor = new GradientHealthMonitor({ layerOf: (() => 5) as never });
    expect(() => monitor.observe({ 'd/kernel': tf.zeros([2]) })).toThrow(
      new GradStabError(
        'GradientHealthMonitor.observe: GradientHealthMonitor: layerOf must return a layer name (a string) for "d/kernel", got 5.',
      ),
    );
    monitor.dispose();
  });

  it('after dispose() it keeps its history but observes no more', async () => {
    const monitor = new GradientHealthMonitor();
    monitor.observe({ 'd/kernel': tf.ones([2]) });
    await monitor.flush();
    monitor.dispose();
    expect(monitor.history).toHaveLength(1);
    expect(() => monitor.observe({ 'd/kernel': tf.ones([2]) })).toThrow(
      new GradStabError(
        'GradientHealthMonitor.observe: this monitor was disposed: make a new GradientHealthMonitor to keep watching, got a disposed monitor.',
      ),
    );
  });
});
