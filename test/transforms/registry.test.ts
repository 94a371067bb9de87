import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type GradientTransform,
  GradStabError,
  isGradientTransform,
  registerTransform,
  type TransformedOptimizer,
  transformFromConfig,
  withTransforms,
} from '../../src/index.js';
import { saveAndLoad, tinyData, tinyModel } from '../helpers/models.js';
import { useCpu, values } from '../helpers/tf.js';

beforeAll(useCpu);

function scaleGradients(factor: number): GradientTransform {
  return {
    kind: 'testScaleGradients',
    config: { factor },
    init: () => ({}),
    update: (grads, state) => ({
      grads: Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, tf.mul(g, factor)])),
      state,
    }),
  };
}

describe('custom transforms', () => {
  it('a registered custom transform is saved and loaded with the optimizer', async () => {
    registerTransform('testScaleGradients', (c) => scaleGradients(c.factor as number));
    const model = tinyModel();
    model.compile({ optimizer: withTransforms(tf.train.sgd(0.1), scaleGradients(0.25)), loss: 'meanSquaredError' });
    const { x, y } = tinyData(4);
    await model.trainOnBatch(x, y);
    const loaded = await saveAndLoad(model);
    const opt = loaded.optimizer as TransformedOptimizer;
    expect(opt.transforms[0]?.kind).toBe('testScaleGradients');
    expect(opt.transforms[0]?.config).toEqual({ factor: 0.25 });
    const out = opt.transforms[0]?.update({ g: tf.ones([1]) }, {}, {}).grads.g as tf.Tensor;
    expect(values(out)).toEqual([0.25]);
  });

  it('a custom config survives tfjs’s save/load unchanged: Infinity, NaN, underscores in strings and keys', async () => {
    const config = {
      mode: 'fan_in',
      limit: Number.POSITIVE_INFINITY,
      floor: Number.NaN,
      nested: { snake_key: ['a_b', Number.NEGATIVE_INFINITY, true, null] },
      pct: '100%5F',
    };
    const configured = (c: Record<string, unknown>): GradientTransform => ({
      ...scaleGradients(1),
      kind: 'test_configured',
      config: c,
    });
    registerTransform('test_configured', configured);
    const model = tinyModel();
    model.compile({ optimizer: withTransforms(tf.train.sgd(0.1), configured(config)), loss: 'meanSquaredError' });
    const loaded = await saveAndLoad(model);
    const t = (loaded.optimizer as TransformedOptimizer).transforms[0] as GradientTransform;
    expect(t.kind).toBe('test_configured');
    expect(t.config).toEqual(config);
  });

  it('loading an unregistered kind says how to fix it', () => {
    expect(() => transformFromConfig({ kind: 'nobodyRegisteredThis', config: {} })).toThrow(
      new GradStabError(
        'transformFromConfig: kind must be registered with registerTransform(kind, factory) before loading, got "nobodyRegisteredThis".',
      ),
    );
    expect(() => transformFromConfig(7)).toThrow(
      'transformFromConfig: a transform description must be an object {kind, config}, got 7.',
    );
  });

  it('isGradientTransform tells transforms from other objects', () => {
    expect(isGradientTransform(scaleGradients(1))).toBe(true);
    expect(isGradientTransform({ kind: 'x', init: () => ({}) })).toBe(false);
    expect(isGradientTransform(null)).toBe(false);
  });

  it('registerTransform checks its arguments', () => {
    expect(() => registerTransform('', () => scaleGradients(1))).toThrow(
      'registerTransform: kind must be a non-empty string, got "".',
    );
    expect(() => registerTransform('x', 5 as never)).toThrow('registerTransform: factory must be a function, got 5.');
    expect(() => registerTransform('clipByGlobalNorm', () => scaleGradients(1))).toThrow(
      'registerTransform: kind must not be one of gradstab’s built-in kinds, got "clipByGlobalNorm".',
    );
  });
});
