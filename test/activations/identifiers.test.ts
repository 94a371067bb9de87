import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { activationIdentifiers } from '../../src/activations/identifiers.js';
import { activations } from '../../src/activations/index.js';
import { GradStabError } from '../../src/errors.js';
import { saveAndLoad } from '../helpers/models.js';
import { maxViolation, tensorsLeftBy, useCpu, values } from '../helpers/tf.js';

beforeAll(useCpu);
afterEach(() => tf.disposeVariables());

/** Each identifier and the function (with default parameters) it must compute. */
const EXPECTED: Record<keyof typeof activationIdentifiers, [string, (x: tf.Tensor) => tf.Tensor]> = {
  relu: ['gradstabRelu', activations.relu],
  leakyRelu: ['gradstabLeakyRelu', (x) => activations.leakyRelu(x)],
  elu: ['gradstabElu', (x) => activations.elu(x)],
  selu: ['gradstabSelu', activations.selu],
  gelu: ['gradstabGelu', (x) => activations.gelu(x)],
  geluTanh: ['gradstabGeluTanh', (x) => activations.gelu(x, { approximate: true })],
  silu: ['gradstabSilu', activations.silu],
};
const each = Object.entries(EXPECTED).map(
  ([key, [name, fn]]) => [key as keyof typeof activationIdentifiers, name, fn] as const,
);

function denseModel(activation: (typeof activationIdentifiers)[keyof typeof activationIdentifiers]): tf.Sequential {
  const model = tf.sequential({
    layers: [
      // No cast: the identifiers are typed as tf.layers' ActivationIdentifier.
      tf.layers.dense({
        units: 6,
        inputShape: [3],
        activation,
        kernelInitializer: tf.initializers.glorotNormal({ seed: 3 }),
      }),
      tf.layers.dense({ units: 1, kernelInitializer: tf.initializers.glorotNormal({ seed: 4 }) }),
    ],
  });
  model.compile({ optimizer: tf.train.adam(0.01), loss: 'meanSquaredError' });
  return model;
}

const X = () => tf.randomNormal([16, 3], 0, 2, 'float32', 8);
const Y = () => tf.randomNormal([16, 1], 0, 1, 'float32', 9);

describe('activationIdentifiers: gradstab activations as the `activation` string of tf.layers layers', () => {
  it('are registered, lowerCamelCase strings that do not collide with tfjs names', () => {
    const registry = tf.serialization.SerializationMap.getMap().classNameMap;
    for (const [key, name] of each) {
      expect(activationIdentifiers[key]).toBe(name);
      expect(registry[name]).toBeDefined();
    }
    expect(Object.keys(activationIdentifiers).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(each)('%s (%s) in a dense layer computes the function with its default parameters', (key, _, fn) => {
    const kernelInitializer = tf.initializers.glorotNormal({ seed: 7 });
    const withActivation = tf.layers.dense({ units: 5, activation: activationIdentifiers[key], kernelInitializer });
    const linear = tf.layers.dense({ units: 5, kernelInitializer: tf.initializers.glorotNormal({ seed: 7 }) });
    const x = X();
    const expected = values(fn(linear.apply(x) as tf.Tensor));
    expect(maxViolation(values(withActivation.apply(x) as tf.Tensor), expected, 0)).toBe(0);
    expect(withActivation.getConfig().activation).toBe(activationIdentifiers[key]);
  });

  it.each(each)('%s (%s): fit, then save/load and toJSON/modelFromJSON keep it', async (key, name) => {
    const model = denseModel(activationIdentifiers[key]);
    const history = await model.fit(X(), Y(), { epochs: 3, verbose: 0 });
    expect((history.history.loss as number[]).every(Number.isFinite)).toBe(true);

    const json = model.toJSON(undefined, true) as string;
    // tfjs snake_cases string values on save and camelCases them on load: the name must survive both.
    expect(json).toContain(`"activation":"${name.replace(/([A-Z])/g, (m) => `_${m.toLowerCase()}`)}"`);
    const fromJson = await tf.models.modelFromJSON({ modelTopology: JSON.parse(json) });
    expect(fromJson.layers[0]?.getConfig().activation).toBe(name);

    const loaded = await saveAndLoad(model);
    expect(loaded.layers[0]?.getConfig().activation).toBe(name);
    const x = X();
    expect(maxViolation(values(loaded.predict(x) as tf.Tensor), values(model.predict(x) as tf.Tensor), 0)).toBe(0);
  });

  it('work in conv2d, lstm and the activation layer too', () => {
    const conv = tf.layers.conv2d({ filters: 2, kernelSize: 3, activation: activationIdentifiers.gelu });
    expect((conv.apply(tf.ones([1, 5, 5, 1])) as tf.Tensor).shape).toEqual([1, 3, 3, 2]);
    const lstm = tf.layers.lstm({ units: 3, activation: activationIdentifiers.elu, recurrentActivation: 'sigmoid' });
    expect((lstm.apply(tf.ones([2, 4, 3])) as tf.Tensor).shape).toEqual([2, 3]);
    const act = tf.layers.activation({ activation: activationIdentifiers.leakyRelu });
    expect(values(act.apply(tf.tensor1d([-1, 1])) as tf.Tensor)).toEqual([-0.01, 1].map(Math.fround));
  });

  it('leave no tensors behind in predict and fit', async () => {
    const model = denseModel(activationIdentifiers.geluTanh);
    const x = X();
    const y = Y();
    const predict = () => tf.dispose(model.predict(x));
    const trainOneEpoch = () => model.fit(x, y, { epochs: 1, verbose: 0 });
    predict();
    await trainOneEpoch();
    expect(await tensorsLeftBy(predict)).toBe(0);
    expect(await tensorsLeftBy(trainOneEpoch)).toBe(0);
  });

  it('refuse integer tensors with a GradStabError naming the activation', () => {
    const act = tf.layers.activation({ activation: activationIdentifiers.silu, dtype: 'int32' });
    expect(() => act.apply(tf.tensor1d([1, 2], 'int32'))).toThrow(GradStabError);
  });

  it("are needed: tfjs's own 'gelu_new' does not survive a save/load round trip (it loads as 'geluNew')", async () => {
    const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [2], activation: 'gelu_new' })] });
    const topology = JSON.parse(model.toJSON(undefined, true) as string);
    await expect(tf.models.modelFromJSON({ modelTopology: topology })).rejects.toThrow('Unknown activation: geluNew');
  });
});
