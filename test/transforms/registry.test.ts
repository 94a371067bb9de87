import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type GradientTransform,
  GradStabError,
  isGradientTransform,
  registerTransform,
  type TransformedOptimizer,
  transformFromConfig,
  transformToConfig,
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

describe('loading a corrupt saved transform is a GradStabError naming the function called (issue 13)', () => {
  const agc = (exclude: unknown) => ({ kind: 'adaptiveGradClip', config: { clipping: 0.01, eps: 0.001, exclude } });
  it.each([
    [
      { kind: 'chain', config: { transforms: [null] } },
      'a transform description must be an object {kind, config}, got null.',
    ],
    [{ kind: 'chain', config: { transforms: 'x' } }, 'chain: config.transforms must be an array, got "x".'],
    [
      agc({ source: '(', flags: '' }),
      'adaptiveGradClip: exclude must be a valid regular expression (Invalid regular expression: /(/: Unterminated group), got /(/.',
    ],
    [
      agc({ source: 'head', flags: 'zz' }),
      "adaptiveGradClip: exclude must be a valid regular expression (Invalid flags supplied to RegExp constructor 'zz'), got /head/zz.",
    ],
    // Both loaded as /undefined/ (and trained) before.
    [agc('head'), 'adaptiveGradClip: exclude must be a saved RegExp {source, flags} (two strings), got "head".'],
    [agc({}), 'adaptiveGradClip: exclude must be a saved RegExp {source, flags} (two strings), got {}.'],
    [
      { kind: 'autoClip', config: { percentile: 10, window: 1e12 } },
      'autoClip: window must be at most 1000000, got 1000000000000.',
    ],
    [
      { kind: 'clipByNorm', config: { maxNorm: 1, typo: 2 } },
      'clipByNorm: unknown option "typo" (known: maxNorm), got {"maxNorm":1,"typo":2}.',
    ],
    [
      { kind: 'clipByNorm', config: [1] },
      'the config of a "clipByNorm" transform must be an object, got an array of length 1.',
    ],
    [
      { kind: 'zClip', config: { maxNorm: { $nonFinite: 'bogus' } } },
      "a {$nonFinite} marker must hold 'inf', '-inf' or 'nan', got \"bogus\".",
    ],
    [
      { kind: 'constructor', config: {} },
      'kind must be registered with registerTransform(kind, factory) before loading, got "constructor".',
    ],
  ])('%o', (description, message) => {
    expect(() => transformFromConfig(description)).toThrow(new GradStabError(`transformFromConfig: ${message}`));
  });

  it('a config that contains itself is a GradStabError both ways, not a stack overflow', () => {
    const config: Record<string, unknown> = { a: 1 };
    config.self = config;
    const transform = { kind: 'test_self', config, init: () => ({}), update: () => ({ grads: {}, state: {} }) };
    expect(() => transformToConfig(transform)).toThrow(
      new GradStabError('transformToConfig: a config must not contain itself, got an object that contains itself.'),
    );
    expect(() => transformFromConfig({ kind: 'clipByNorm', config })).toThrow(
      new GradStabError('transformFromConfig: a config must not contain itself, got an object that contains itself.'),
    );
    expect(() => transformToConfig(null as never)).toThrow(
      new GradStabError(
        'transformToConfig: transform must be a gradient transform (an object with kind, config, init and update), got null.',
      ),
    );
  });

  it('a registered factory must return a transform', () => {
    registerTransform('test_junk_factory', () => 5 as never);
    expect(() => transformFromConfig({ kind: 'test_junk_factory', config: {} })).toThrow(
      new GradStabError(
        'transformFromConfig: the factory registered for "test_junk_factory" must return a gradient transform, got 5.',
      ),
    );
  });

  it('null values in a saved built-in config are taken as missing (tfjs writes them so)', () => {
    const t = transformFromConfig({ kind: 'adaptiveGradClip', config: { clipping: null, eps: 0.01, exclude: null } });
    expect(t.config).toEqual({ clipping: 0.01, eps: 0.01 });
  });
});
