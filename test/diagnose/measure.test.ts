import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { findingsOf } from '../../src/diagnose/findings.js';
import { measureBaseline } from '../../src/diagnose/measure.js';
import { splitExamples } from '../../src/diagnose/trial.js';
import { heNormal } from '../../src/index.js';
import { tensorsLeftBy, useCpu } from '../helpers/tf.js';

function data() {
  const x = tf.randomNormal([160, 2], 0, 1, 'float32', 11);
  const y = tf.tidy(() => tf.cast(tf.greater(tf.sum(x, 1, true), 0), 'float32'));
  const all = { x: [x], y: [y], count: 160 };
  const { train, heldOut } = splitExamples(all, 32);
  return { train, heldOut, dispose: () => tf.dispose([x, y, ...train.x, ...train.y, ...heldOut.x, ...heldOut.y]) };
}

function mlp(
  depth: number,
  activation: 'sigmoid' | 'relu',
  init: (i: number) => ReturnType<typeof heNormal> | ReturnType<typeof tf.initializers.glorotUniform>,
) {
  return tf.sequential({
    layers: [
      ...Array.from({ length: depth }, (_, i) =>
        tf.layers.dense({
          name: `h${String(i + 1).padStart(2, '0')}`,
          units: 16,
          activation,
          kernelInitializer: init(i),
          ...(i === 0 ? { inputShape: [2] } : {}),
        }),
      ),
      tf.layers.dense({
        name: 'out',
        units: 1,
        activation: 'sigmoid',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 99 }),
      }),
    ],
  });
}

const settings = { steps: 40, batchSize: 32, rangeSteps: 30 };

describe('measureBaseline', () => {
  beforeAll(useCpu);

  it('finds the vanishing gradients of a deep sigmoid MLP, and leaves the model as it was', async () => {
    const d = data();
    const model = mlp(12, 'sigmoid', (i) => tf.initializers.glorotUniform({ seed: i + 1 }));
    const before = model.getWeights().map((w) => Array.from(w.dataSync()));
    const m = await measureBaseline(
      'test',
      model,
      d.train,
      d.heldOut,
      (lr) => tf.train.sgd(lr ?? 0.1),
      'binaryCrossentropy',
      settings,
    );
    expect(m.losses.length).toBe(40);
    expect(m.learningRate).toBe(0.1);
    expect(m.report.steps).toBe(40);
    expect(m.globalNorms.length).toBe(40);
    expect(m.lrRange?.learningRates.length).toBeGreaterThan(5);
    expect(Number.isFinite(m.heldOutBefore) && Number.isFinite(m.heldOutAfter)).toBe(true);
    const found = findingsOf(m);
    const vanishing = found.find((f) => f.kind === 'vanishing');
    expect(vanishing, JSON.stringify(found.map((f) => f.description))).toBeDefined();
    expect(vanishing?.layers[0]).toBe('h01'); // the input end
    expect(model.getWeights().map((w) => Array.from(w.dataSync()))).toEqual(before);
    model.dispose();
    d.dispose();
  });

  it('finds nothing that stops learning in a shallow He-initialized ReLU MLP, and leaks nothing', async () => {
    const d = data();
    const model = mlp(3, 'relu', (i) => heNormal({ seed: i + 1 }));
    const run = () =>
      measureBaseline(
        'test',
        model,
        d.train,
        d.heldOut,
        (lr) => tf.train.adam(lr ?? 0.01),
        'binaryCrossentropy',
        settings,
      );
    const m = await run();
    const found = findingsOf(m);
    expect(
      found.filter((f) => f.severity === 'high'),
      JSON.stringify(found.map((f) => f.description)),
    ).toEqual([]);
    expect(found.map((f) => f.kind)).not.toContain('vanishing');
    expect(found.map((f) => f.kind)).not.toContain('exploding');
    expect(m.heldOutAfter).toBeLessThan(m.heldOutBefore); // it learns
    expect(await tensorsLeftBy(run)).toBe(0);
    model.dispose();
    d.dispose();
  });

  it('ends the trial at the first non-finite loss and reports a learning rate far too high', async () => {
    const d = data();
    const model = mlp(3, 'relu', (i) => heNormal({ seed: i + 1 }));
    const m = await measureBaseline(
      'test',
      model,
      d.train,
      d.heldOut,
      (lr) => tf.train.sgd(lr ?? 1e4),
      'binaryCrossentropy',
      {
        ...settings,
        rangeSteps: 0,
      },
    );
    expect(m.lrRange).toBeNull();
    const kinds = findingsOf(m).map((f) => f.kind);
    expect(kinds).toContain('learningRateTooHigh');
    model.dispose();
    d.dispose();
  });
});
