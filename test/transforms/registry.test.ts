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

  it('loading an unregistered kind says how to fix it', () => {
    expect(() => transformFromConfig({ kind: 'nobodyRegisteredThis', config: {} })).toThrow(
      new GradStabError(
        'transformFromConfig: unknown transform kind "nobodyRegisteredThis"; register custom transforms with registerTransform(kind, factory) before loading.',
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
  });
});
