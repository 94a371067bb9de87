import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  batchNormBeforeActivations,
  matchInitializers,
  rebuildModel,
  replaceRelu,
} from '../../src/diagnose/model-edits.js';
import { useCpu } from '../helpers/tf.js';

function deep(activation: 'relu' | 'sigmoid' | 'tanh', layers = 3) {
  return tf.sequential({
    layers: [
      ...Array.from({ length: layers }, (_, i) =>
        tf.layers.dense({ name: `h${i + 1}`, units: 8, activation, ...(i === 0 ? { inputShape: [4] } : {}) }),
      ),
      tf.layers.dense({ name: 'out', units: 1 }),
    ],
  });
}

const classNames = (m: tf.LayersModel) => m.layers.map((l) => l.getClassName());
const initializerOf = (m: tf.LayersModel, name: string) =>
  m.getLayer(name).getConfig().kernelInitializer as { className: string; config: Record<string, unknown> };

describe('model edits for diagnose prescriptions', () => {
  beforeAll(useCpu);

  it('gives every kernel the initializer its activation calls for, seeded, in a new model', () => {
    const model = deep('relu');
    const before = model.getWeights().map((w) => Array.from(w.dataSync()));
    const init = matchInitializers('all', 10);
    const fixed = rebuildModel('test', model, init.edit);
    expect(init.changed()).toEqual(['h1', 'h2', 'h3', 'out']);
    expect(initializerOf(fixed, 'h1').className).toBe('GradStabVarianceScaling');
    expect(initializerOf(fixed, 'h1').config.gain).toBeCloseTo(Math.SQRT2, 12); // He for ReLU
    expect(initializerOf(fixed, 'h1').config.seed).toBe(10);
    expect(initializerOf(fixed, 'h2').config.seed).toBe(11);
    expect(initializerOf(fixed, 'out').config.gain).toBe(1); // LeCun for the linear head
    // The original is untouched, and the same seeds give the same new weights.
    expect(model.getWeights().map((w) => Array.from(w.dataSync()))).toEqual(before);
    const again = rebuildModel('test', model, matchInitializers('all', 10).edit);
    expect(again.getWeights().map((w) => Array.from(w.dataSync()))).toEqual(
      fixed.getWeights().map((w) => Array.from(w.dataSync())),
    );
    for (const m of [model, fixed, again]) m.dispose();
  });

  it('changes only the named layers', () => {
    const model = deep('tanh');
    const init = matchInitializers(['h2'], 1);
    const fixed = rebuildModel('test', model, init.edit);
    expect(init.changed()).toEqual(['h2']);
    expect(initializerOf(fixed, 'h2').config.gain).toBeCloseTo(5 / 3, 12); // Xavier with the tanh gain
    expect(initializerOf(fixed, 'h1').className).toBe('VarianceScaling'); // tfjs's default, kept
    model.dispose();
    fixed.dispose();
  });

  it('replaces ReLU by leaky ReLU or ELU in the named layers, with a matched initializer, and the model trains', async () => {
    const model = deep('relu');
    const leaky = replaceRelu(['h1', 'h3'], 'leakyRelu', 3);
    const fixed = rebuildModel('test', model, leaky.edit);
    expect(leaky.changed()).toEqual(['h1', 'h3']);
    expect(fixed.getLayer('h1').getConfig().activation).toBe('gradstabLeakyRelu');
    expect(fixed.getLayer('h2').getConfig().activation).toBe('relu');
    // A leaky ReLU passes negative values where ReLU outputs 0.
    const x = tf.randomNormal([32, 4], 0, 1, 'float32', 4);
    const h1 = (m: tf.LayersModel) =>
      tf.model({ inputs: m.inputs, outputs: m.getLayer('h1').output as tf.SymbolicTensor }).predict(x) as tf.Tensor;
    expect(tf.min(h1(model)).dataSync()[0]).toBeGreaterThanOrEqual(0);
    expect(tf.min(h1(fixed)).dataSync()[0]).toBeLessThan(0);
    fixed.compile({ optimizer: tf.train.sgd(0.01), loss: 'meanSquaredError' });
    const h = await fixed.fit(x, tf.randomNormal([32, 1], 0, 1, 'float32', 2), { epochs: 1, verbose: 0 });
    expect(Number.isFinite(h.history.loss?.[0] as number)).toBe(true);
    const elu = rebuildModel('test', model, replaceRelu(['h2'], 'elu', 3).edit);
    expect(elu.getLayer('h2').getConfig().activation).toBe('gradstabElu');
    tf.dispose(x);
    for (const m of [model, fixed, elu]) m.dispose();
  });

  it('puts batch normalization before each saturating activation of a sequential model', async () => {
    const model = deep('sigmoid', 2);
    const bn = batchNormBeforeActivations('all');
    const fixed = rebuildModel('test', model, bn.edit);
    expect(bn.changed()).toEqual(['h1', 'h2']);
    expect(classNames(fixed)).toEqual([
      'Dense',
      'GradStabBatchNormalization',
      'Activation',
      'Dense',
      'GradStabBatchNormalization',
      'Activation',
      'Dense',
    ]);
    expect(fixed.getLayer('h1').getConfig().activation).toBe('linear');
    expect(fixed.getLayer('h1_sigmoid').getConfig().activation).toBe('sigmoid');
    fixed.compile({ optimizer: tf.train.sgd(0.1), loss: 'meanSquaredError' });
    const h = await fixed.fit(
      tf.randomNormal([16, 4], 0, 1, 'float32', 1),
      tf.randomNormal([16, 1], 0, 1, 'float32', 2),
      { epochs: 2, verbose: 0 },
    );
    expect((h.history.loss ?? []).every((l) => Number.isFinite(l as number))).toBe(true);
    // A separate Activation layer gets the normalization in front of it; a ReLU model is left alone.
    const separate = tf.sequential({
      layers: [
        tf.layers.dense({ name: 'd', units: 4, inputShape: [2] }),
        tf.layers.activation({ name: 'act', activation: 'tanh' }),
      ],
    });
    const edited = rebuildModel('test', separate, batchNormBeforeActivations('all').edit);
    expect(classNames(edited)).toEqual(['Dense', 'GradStabBatchNormalization', 'Activation']);
    const relu = deep('relu');
    const none = batchNormBeforeActivations('all');
    const same = rebuildModel('test', relu, none.edit);
    expect(none.changed()).toEqual([]);
    expect(classNames(same)).toEqual(classNames(relu));
    for (const m of [model, fixed, separate, edited, relu, same]) m.dispose();
  });
});
