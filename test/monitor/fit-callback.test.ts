import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GradientHealthMonitor, GradStabError, withTransforms } from '../../src/index.js';
import { countAsyncReads, useCpu } from '../helpers/tf.js';

beforeAll(useCpu);
afterEach(() => tf.disposeVariables());

const x = tf.randomNormal([16, 3], 0, 1, 'float32', 1);
const y = tf.randomNormal([16, 1], 0, 1, 'float32', 2);
/** The third batch of four holds a NaN. */
const xNaN = tf.concat([tf.slice(x, 0, 8), tf.fill([4, 3], Number.NaN), tf.slice(x, 12, 4)]);

function compiled(monitor: GradientHealthMonitor): tf.Sequential {
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ units: 4, inputShape: [3], name: 'h', kernelInitializer: tf.initializers.ones() }),
      tf.layers.dense({ units: 1, name: 'out', kernelInitializer: tf.initializers.ones() }),
    ],
  });
  model.compile({ optimizer: withTransforms(tf.train.sgd(0.01), monitor.tap), loss: 'meanSquaredError' });
  return model;
}

type Callbacks = tf.ModelFitArgs['callbacks'];

/** A plain callback object, as tfjs-examples and tfjs-vis's fitCallbacks pass them, counting its calls. */
function plain() {
  const seen = { epochs: 0, batches: 0 };
  return {
    seen,
    callback: { onEpochEnd: async () => void seen.epochs++, onBatchEnd: async () => void seen.batches++ },
  };
}

/** A tfjs callback object counting its calls. */
function tfCallback() {
  const seen = { epochs: 0, batches: 0 };
  const callback = new tf.CustomCallback({
    onEpochEnd: async () => void seen.epochs++,
    onBatchEnd: async () => void seen.batches++,
  });
  return { seen, callback };
}

type Form = (cb: tf.Callback) => { callbacks: Callbacks; seen?: object };

const stopping: [string, Form][] = [
  ['alone, not in an array', (cb) => ({ callbacks: cb })],
  ['alone in an array', (cb) => ({ callbacks: [cb] })],
  [
    'first, before a tf.CustomCallback',
    (cb) => {
      const t = tfCallback();
      return { callbacks: [cb, t.callback], seen: t.seen };
    },
  ],
  [
    'after a tf.CustomCallback',
    (cb) => {
      const t = tfCallback();
      return { callbacks: [t.callback, cb], seen: t.seen };
    },
  ],
  ['after tf.callbacks.earlyStopping', (cb) => ({ callbacks: [tf.callbacks.earlyStopping({ patience: 50 }), cb] })],
  ['before tf.callbacks.earlyStopping', (cb) => ({ callbacks: [cb, tf.callbacks.earlyStopping({ patience: 50 })] })],
];
const afterPlain: [string, Form] = [
  'after a plain object (tfjs wraps both)',
  (cb) => {
    const p = plain();
    return { callbacks: [p.callback, cb], seen: p.seen };
  },
];

describe('monitor.callback() in the forms tfjs accepts', () => {
  it.each([...stopping, afterPlain])('%s: epoch logs get the figures, the other callbacks run', async (_, form) => {
    const monitor = new GradientHealthMonitor();
    const model = compiled(monitor);
    const { callbacks, seen } = form(monitor.callback());
    const history = await model.fit(x, y, { batchSize: 4, epochs: 2, shuffle: false, verbose: 0, callbacks });
    expect(history.history.nonFiniteSteps).toEqual([0, 0]);
    expect(history.history.gradNorm).toHaveLength(2);
    expect(history.history.gradNormMax?.every((n) => typeof n === 'number' && n > 0)).toBe(true);
    if (seen) expect(seen).toEqual({ epochs: 2, batches: 8 });
  });

  it.each(stopping)('%s: stopOnNonFinite stops fit within two steps of the NaN batch', async (_, form) => {
    const monitor = new GradientHealthMonitor();
    const model = compiled(monitor);
    const { callbacks } = form(monitor.callback({ stopOnNonFinite: true }));
    await model.fit(xNaN, y, { batchSize: 4, epochs: 5, shuffle: false, verbose: 0, callbacks });
    await monitor.flush();
    expect(monitor.steps).toBeGreaterThanOrEqual(3);
    expect(monitor.steps).toBeLessThanOrEqual(5);
  });

  it('after a plain object, stopOnNonFinite (which needs the model tfjs withholds there) says so when fit starts', async () => {
    const monitor = new GradientHealthMonitor();
    const model = compiled(monitor);
    const callbacks = afterPlain[1](monitor.callback({ stopOnNonFinite: true })).callbacks;
    await expect(model.fit(x, y, { batchSize: 4, epochs: 1, verbose: 0, callbacks })).rejects.toThrow(
      new GradStabError(
        'GradientHealthMonitor.callback: stopOnNonFinite needs the model, which tfjs hands only to callback objects ' +
          'in an array whose first item is one, got monitor.callback() after a plain callback object. Put ' +
          'monitor.callback() first and pass plain objects as new tf.CustomCallback({ ... }).',
      ),
    );
    expect(monitor.steps).toBe(0);
  });

  it('acts only during its own fit: a later fit with a callback that does not stop runs to the end', async () => {
    const monitor = new GradientHealthMonitor();
    const model = compiled(monitor);
    await model.fit(x, y, {
      batchSize: 4,
      epochs: 1,
      verbose: 0,
      callbacks: monitor.callback({ stopOnNonFinite: true }),
    });
    for (let i = 0; i < 21; i++) monitor.callback({ stopOnNonFinite: true }); // made, never used
    const before = monitor.steps;
    await model.fit(xNaN, y, { batchSize: 4, epochs: 2, shuffle: false, verbose: 0, callbacks: [monitor.callback()] });
    expect(monitor.steps - before).toBe(8);
  });

  it('a fit that failed no longer listens: its stop handler leaves with that run', async () => {
    const monitor = new GradientHealthMonitor();
    const model = compiled(monitor);
    const failing = new tf.CustomCallback({
      onEpochEnd: async () => Promise.reject(new Error('user callback failed')),
    });
    await expect(
      model.fit(x, y, {
        batchSize: 4,
        epochs: 2,
        verbose: 0,
        callbacks: [monitor.callback({ stopOnNonFinite: true }), failing],
      }),
    ).rejects.toThrow('user callback failed');
    const before = monitor.steps;
    await model.fit(xNaN, y, { batchSize: 4, epochs: 2, shuffle: false, verbose: 0 });
    await monitor.flush();
    expect(monitor.steps - before).toBe(8);
    expect(model.stopTraining).toBe(false);
  });

  it('reads no batch loss back when tfjs wraps it (one read per epoch: the flush)', async () => {
    const reads = async (withMonitor: boolean) => {
      const monitor = new GradientHealthMonitor({ every: 1000 });
      const model = compiled(monitor);
      const epochOnly = { onEpochEnd: async () => {} };
      const callbacks = withMonitor ? [epochOnly, monitor.callback()] : [epochOnly];
      const fit = () => model.fit(x, y, { batchSize: 4, epochs: 2, shuffle: false, verbose: 0, callbacks });
      const count = await countAsyncReads(fit);
      monitor.dispose();
      return count;
    };
    expect(await reads(true)).toBe((await reads(false)) + 2);
  });

  it('rejects a stopOnNonFinite that is not a boolean', () => {
    expect(() => new GradientHealthMonitor().callback({ stopOnNonFinite: 'yes' as never })).toThrow(
      new GradStabError('GradientHealthMonitor.callback: stopOnNonFinite must be a boolean, got "yes".'),
    );
  });
});
