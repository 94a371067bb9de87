import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { activations } from '../../src/activations/index.js';
import { ELULayer, GELULayer, LeakyReLULayer, ReLULayer, SELULayer, SiLULayer } from '../../src/activations/layers.js';
import { GradStabError } from '../../src/errors.js';
import { layers } from '../../src/layers.js';
import { saveAndLoad } from '../helpers/models.js';
import { maxViolation, tensorsLeftBy, useCpu, values } from '../helpers/tf.js';

beforeAll(useCpu);
afterEach(() => tf.disposeVariables());

interface LayerCase {
  /** The factory in `layers`. */
  factory: keyof typeof layers;
  make: () => tf.layers.Layer;
  cls: abstract new (...args: never[]) => tf.layers.Layer;
  className: string;
  /** The function the layer must compute. */
  fn: (x: tf.Tensor) => tf.Tensor;
  /** The layer's own config keys, with non-default values. */
  own: Record<string, number | boolean>;
}

const CASES: LayerCase[] = [
  {
    factory: 'reLU',
    make: () => layers.reLU(),
    cls: ReLULayer,
    className: 'GradStabReLU',
    fn: activations.relu,
    own: {},
  },
  {
    factory: 'leakyReLU',
    make: () => layers.leakyReLU({ alpha: 0.2 }),
    cls: LeakyReLULayer,
    className: 'GradStabLeakyReLU',
    fn: (x) => activations.leakyRelu(x, { alpha: 0.2 }),
    own: { alpha: 0.2 },
  },
  {
    factory: 'elu',
    make: () => layers.elu({ alpha: 0.5 }),
    cls: ELULayer,
    className: 'GradStabELU',
    fn: (x) => activations.elu(x, { alpha: 0.5 }),
    own: { alpha: 0.5 },
  },
  {
    factory: 'selu',
    make: () => layers.selu(),
    cls: SELULayer,
    className: 'GradStabSELU',
    fn: activations.selu,
    own: {},
  },
  {
    factory: 'gelu',
    make: () => layers.gelu({ approximate: true }),
    cls: GELULayer,
    className: 'GradStabGELU',
    fn: (x) => activations.gelu(x, { approximate: true }),
    own: { approximate: true },
  },
  {
    factory: 'silu',
    make: () => layers.silu(),
    cls: SiLULayer,
    className: 'GradStabSiLU',
    fn: activations.silu,
    own: {},
  },
];
const each = CASES.map((c) => [c.className, c] as const);

/** dense(8) -> the layer -> dense(2), seeded, compiled with SGD. */
function modelWith(layer: tf.layers.Layer): tf.Sequential {
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ units: 8, inputShape: [3], kernelInitializer: tf.initializers.glorotNormal({ seed: 1 }) }),
      layer,
      tf.layers.dense({ units: 2, kernelInitializer: tf.initializers.glorotNormal({ seed: 2 }) }),
    ],
  });
  model.compile({ optimizer: tf.train.sgd(0.05), loss: 'meanSquaredError' });
  return model;
}

const X = () => tf.randomNormal([16, 3], 0, 2, 'float32', 5);
const Y = () => tf.randomNormal([16, 2], 0, 1, 'float32', 6);

function ownConfig(layer: tf.layers.Layer, keys: string[]): Record<string, unknown> {
  const config = layer.getConfig();
  return Object.fromEntries(keys.map((k) => [k, config[k]]));
}

describe('layers (the namespace)', () => {
  it('holds the activation and normalization factories, named like tf.layers', () => {
    expect(Object.keys(layers).sort()).toEqual([
      'batchNormalization',
      'elu',
      'gelu',
      'leakyReLU',
      'reLU',
      'selu',
      'silu',
    ]);
  });

  it("registers unique GradStab class names and leaves tfjs's own ReLU, LeakyReLU and ELU alone", () => {
    const registry = tf.serialization.SerializationMap.getMap().classNameMap;
    expect(new Set(CASES.map((c) => c.className)).size).toBe(CASES.length);
    for (const c of CASES) {
      expect(c.className.startsWith('GradStab')).toBe(true);
      expect(registry[c.className]?.[0]).toBe(c.cls);
    }
    expect(registry.LeakyReLU?.[0]).toBe(tf.layers.leakyReLU().constructor);
    expect(registry.ELU?.[0]).toBe(tf.layers.elu().constructor);
    expect(registry.ReLU?.[0]).toBe(tf.layers.reLU().constructor);
  });
});

describe.each(each)('%s', (_, c) => {
  it('is a tf.layers.Layer built by its factory, and computes its function', () => {
    const layer = c.make();
    expect(layer).toBeInstanceOf(tf.layers.Layer);
    expect(layer).toBeInstanceOf(c.cls);
    expect(layer.getClassName()).toBe(c.className);
    const x = X();
    expect(values(layer.apply(x) as tf.Tensor)).toEqual(values(c.fn(x)));
    expect(ownConfig(layer, Object.keys(c.own))).toEqual(c.own);
  });

  it('keeps the shape, symbolically and on tensors of any rank', () => {
    const layer = c.make();
    expect(layer.computeOutputShape([null, 4, 5])).toEqual([null, 4, 5]);
    const symbolic = layer.apply(tf.input({ shape: [4, 5] })) as tf.SymbolicTensor;
    expect(symbolic.shape).toEqual([null, 4, 5]);
    expect((c.make().apply(tf.ones([2, 3, 4, 5])) as tf.Tensor).shape).toEqual([2, 3, 4, 5]);
  });

  it('trains in tf.sequential with fit: the loss goes down and stays finite', async () => {
    const model = modelWith(c.make());
    const history = await model.fit(X(), Y(), { epochs: 5, batchSize: 8, verbose: 0 });
    const losses = history.history.loss as number[];
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[4]).toBeLessThan(losses[0] as number);
  });

  it('survives toJSON -> tf.models.modelFromJSON with its parameters', async () => {
    const model = modelWith(c.make());
    const json = JSON.parse(model.toJSON(undefined, true) as string);
    expect(JSON.stringify(json)).toContain(`"class_name":"${c.className}"`);
    const loaded = await tf.models.modelFromJSON({ modelTopology: json });
    const layer = loaded.layers[1] as tf.layers.Layer;
    expect(layer).toBeInstanceOf(c.cls);
    expect(ownConfig(layer, Object.keys(c.own))).toEqual(c.own);
    loaded.setWeights(model.getWeights());
    const x = X();
    expect(values(loaded.predict(x) as tf.Tensor)).toEqual(values(model.predict(x) as tf.Tensor));
  });

  it('survives model.save -> tf.loadLayersModel (with the optimizer) with its parameters and weights', async () => {
    const model = modelWith(c.make());
    await model.fit(X(), Y(), { epochs: 1, verbose: 0 });
    const loaded = await saveAndLoad(model);
    const layer = loaded.layers[1] as tf.layers.Layer;
    expect(layer.getClassName()).toBe(c.className);
    expect(ownConfig(layer, Object.keys(c.own))).toEqual(c.own);
    const x = X();
    expect(maxViolation(values(loaded.predict(x) as tf.Tensor), values(model.predict(x) as tf.Tensor), 0)).toBe(0);
  });

  it('works in the functional API', () => {
    const input = tf.input({ shape: [3] });
    const hidden = c.make().apply(tf.layers.dense({ units: 4 }).apply(input)) as tf.SymbolicTensor;
    const model = tf.model({
      inputs: input,
      outputs: tf.layers.dense({ units: 1 }).apply(hidden) as tf.SymbolicTensor,
    });
    expect((model.predict(tf.ones([2, 3])) as tf.Tensor).shape).toEqual([2, 1]);
  });

  it('leaves no tensors behind in predict and in fit', async () => {
    const model = modelWith(c.make());
    const x = X();
    const y = Y();
    const predict = () => tf.dispose(model.predict(x));
    const trainOneEpoch = () => model.fit(x, y, { epochs: 1, batchSize: 8, verbose: 0 });
    predict();
    await trainOneEpoch();
    expect(await tensorsLeftBy(predict)).toBe(0);
    expect(await tensorsLeftBy(trainOneEpoch)).toBe(0);
  });

  it('rejects unknown arguments and more than one input with a GradStabError', () => {
    const factory = layers[c.factory] as (args?: unknown) => tf.layers.Layer;
    expect(() => factory({ foo: 1 })).toThrow(GradStabError);
    expect(() => factory({ foo: 1 })).toThrow(`layers.${c.factory}: unknown option "foo"`);
    expect(() => factory('x')).toThrow(`layers.${c.factory}: options must be a plain object, got "x".`);
    expect(() => factory({ name: 'ok', inputShape: [3], trainable: false })).not.toThrow();
    expect(() => c.make().apply([tf.ones([1]), tf.ones([1])])).toThrow(
      `layers.${c.factory}: expects exactly one input tensor, got an array of length 2.`,
    );
  });
});

describe('defaults and parameter checks', () => {
  it('leakyReLU defaults to alpha 0.01 (PyTorch), elu to alpha 1, gelu to the exact form', () => {
    expect(layers.leakyReLU().alpha).toBe(0.01);
    expect(layers.elu().alpha).toBe(1);
    expect(layers.gelu().approximate).toBe(false);
    expect(layers.leakyReLU().getConfig().alpha).toBe(0.01);
  });

  it('any alpha: elu with alpha 3 (tf.layers.elu throws for alpha != 1), leakyReLU with alpha 1.5', () => {
    expect(() => tf.layers.elu({ alpha: 3 }).apply(tf.ones([1]))).toThrow();
    const x = tf.tensor1d([-1, 2]);
    expect(values(layers.elu({ alpha: 3 }).apply(x) as tf.Tensor)).toEqual(values(activations.elu(x, { alpha: 3 })));
    expect(values(layers.leakyReLU({ alpha: 1.5 }).apply(x) as tf.Tensor)).toEqual([-1.5, 2]);
  });

  it('loads a config without its own keys (an older save) with the defaults', () => {
    const config = { name: 'l', trainable: true, customObjects: {} };
    const leaky = LeakyReLULayer.fromConfig(LeakyReLULayer, config) as LeakyReLULayer;
    expect(leaky.alpha).toBe(0.01);
    expect(leaky.name).toBe('l');
    expect((GELULayer.fromConfig(GELULayer, { approximate: null }) as GELULayer).approximate).toBe(false);
  });

  it.each([
    [
      'leakyReLU NaN',
      () => layers.leakyReLU({ alpha: Number.NaN }),
      'layers.leakyReLU: alpha must be a finite number, got NaN.',
    ],
    [
      'leakyReLU string',
      () => layers.leakyReLU({ alpha: '0.2' as unknown as number }),
      'layers.leakyReLU: alpha must be a finite number, got "0.2".',
    ],
    ['elu 0', () => layers.elu({ alpha: 0 }), 'layers.elu: alpha must be a finite number > 0, got 0.'],
    ['elu negative', () => layers.elu({ alpha: -0.5 }), 'layers.elu: alpha must be a finite number > 0, got -0.5.'],
    [
      'ELULayer Infinity',
      () => new ELULayer({ alpha: Number.POSITIVE_INFINITY }),
      'layers.elu: alpha must be a finite number > 0, got Infinity.',
    ],
    [
      'gelu string',
      () => layers.gelu({ approximate: 'tanh' as unknown as boolean }),
      'layers.gelu: approximate must be true or false, got "tanh".',
    ],
    ['selu with alpha', () => layers.selu({ alpha: 1 } as object), 'layers.selu: unknown option "alpha"'],
  ])('rejects bad parameters: %s', (_, make, message) => {
    expect(make).toThrow(GradStabError);
    expect(make).toThrow(message);
  });
});

describe('the common tf.layers arguments are checked by type (issue 13)', () => {
  it.each([
    [{ name: 5 }, 'name must be a string of letters, digits and - _ . / that starts with a letter or digit, got 5.'],
    [
      { name: ' :' },
      'name must be a string of letters, digits and - _ . / that starts with a letter or digit, got " :".',
    ],
    [{ dtype: 'int33' }, 'dtype must be \'float32\', got "int33".'],
    [{ inputDType: 'int32' }, 'inputDType must be \'float32\', got "int32".'],
    [{ trainable: 'yes' }, 'trainable must be true or false, got "yes".'],
    [{ batchSize: -4 }, 'batchSize must be a whole number >= 1, got -4.'],
    [{ inputShape: [3, -1] }, 'inputShape must be an array of whole numbers >= 1 or null, got [3,-1].'],
    [{ batchInputShape: 'x' }, 'batchInputShape must be an array of whole numbers >= 1 or null, got "x".'],
    [
      { inputShape: [3], batchInputShape: [null, 3] },
      'give inputShape or batchInputShape, not both, got {"inputShape":[3],"batchInputShape":[null,3]}.',
    ],
    [{ name: null }, 'name must not be null (leave the key out or pass undefined instead), got null.'],
  ])('layers.reLU(%o)', (args, message) => {
    expect(() => layers.reLU(args as never)).toThrow(new GradStabError(`layers.reLU: ${message}`));
  });

  it('the reported case names its first bad argument', () => {
    expect(() => layers.reLU({ name: 5, dtype: 'int33', trainable: 'yes', batchSize: -4 } as never)).toThrow(
      new GradStabError(
        'layers.reLU: name must be a string of letters, digits and - _ . / that starts with a letter or digit, got 5.',
      ),
    );
  });

  it('fromConfig refuses a config that is not an object, and takes null values as missing', () => {
    expect(() => ELULayer.fromConfig(ELULayer, null as never)).toThrow(
      new GradStabError('layers.elu: options must be a plain object, got null.'),
    );
    const layer = LeakyReLULayer.fromConfig(LeakyReLULayer, { alpha: null, name: 'l', batchInputShape: null } as never);
    expect((layer as LeakyReLULayer).alpha).toBe(0.01);
  });

  it('alphas that are 0 or Infinity in float32 are refused', () => {
    expect(() => layers.elu({ alpha: 1e-46 })).toThrow(
      new GradStabError('layers.elu: alpha must be > 0 in float32 (at least 1.401298464324817e-45), got 1e-46.'),
    );
    expect(() => layers.leakyReLU({ alpha: -1e39 })).toThrow(
      new GradStabError(
        'layers.leakyReLU: alpha must be finite in float32 (|alpha| <= 3.4028234663852886e+38), got -1e+39.',
      ),
    );
  });
});
