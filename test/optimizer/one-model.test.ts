import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  accumulateGradients,
  autoClip,
  clipByGlobalNorm,
  GradStabError,
  globalNorm,
  gradientPipeline,
  withTransforms,
  zClip,
} from '../../src/index.js';
import { useCpu, values } from '../helpers/tf.js';

beforeAll(useCpu);
afterEach(() => tf.disposeVariables());

const model = (name: string) =>
  tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [2], name, kernelInitializer: 'ones' })] });
const data = () => ({ x: tf.ones([4, 2]), y: tf.zeros([4, 1]) });

describe('state kept across steps belongs to one model', () => {
  it.each([
    ['accumulateGradients', () => accumulateGradients({ steps: 2 })],
    ['autoClip', () => autoClip()],
    ['zClip', () => zClip()],
  ])('one %s wrapper compiled into two models: the second one is refused, not mixed in', async (kind, make) => {
    const optimizer = withTransforms(tf.train.sgd(0.1), make());
    const a = model(`${kind}_a`);
    const b = model(`${kind}_b`);
    a.compile({ optimizer, loss: 'meanSquaredError' });
    b.compile({ optimizer, loss: 'meanSquaredError' });
    const { x, y } = data();
    await a.fit(x, y, { epochs: 2, batchSize: 4, verbose: 0 });
    const before = values(b.getWeights()[0] as tf.Tensor);
    const fit = b.fit(x, y, { epochs: 1, batchSize: 4, verbose: 0 });
    await expect(fit).rejects.toThrow(GradStabError);
    await expect(fit).rejects.toThrow(
      'a TransformedOptimizer with stateful transforms serves one model: its state belongs to the variables it has ' +
        `seen (${kind}_a/kernel, ${kind}_a/bias), and none of these gradients is for one of them; build one ` +
        `withTransforms(...) per model, got gradients for ${kind}_b/kernel, ${kind}_b/bias.`,
    );
    expect(values(b.getWeights()[0] as tf.Tensor)).toEqual(before);
  });

  it('a stateless wrapper serves any number of models', async () => {
    const optimizer = withTransforms(tf.train.sgd(0.1), clipByGlobalNorm(1));
    const { x, y } = data();
    for (const name of ['free_a', 'free_b']) {
      const m = model(name);
      m.compile({ optimizer, loss: 'meanSquaredError' });
      await m.fit(x, y, { epochs: 1, verbose: 0 });
    }
    expect(optimizer.iterations).toBe(2);
  });

  it('a layer frozen or unfrozen keeps the state: a step that shares any variable is the same model', () => {
    const optimizer = withTransforms(tf.train.sgd(0.1), autoClip());
    const k = tf.variable(tf.ones([2]), true, 'frozen/kernel');
    const b = tf.variable(tf.ones([1]), true, 'frozen/bias');
    optimizer.applyGradients({ 'frozen/kernel': tf.ones([2]), 'frozen/bias': tf.ones([1]) });
    optimizer.applyGradients({ 'frozen/bias': tf.ones([1]) });
    optimizer.applyGradients({ 'frozen/kernel': tf.ones([2]), 'frozen/bias': tf.ones([1]) });
    expect(optimizer.iterations).toBe(3);
    tf.dispose([k, b]);
  });

  it('a stateful gradient pipeline in a raw loop: the same rule', () => {
    const pipeline = gradientPipeline(zClip());
    pipeline.apply({ 'p/a': tf.ones([2]) });
    expect(() => pipeline.apply({ 'q/a': tf.ones([2]) })).toThrow(
      'gradientPipeline.apply: a gradient pipeline with stateful transforms serves one model',
    );
    expect(() => gradientPipeline(clipByGlobalNorm(1)).apply({ 'q/a': tf.ones([2]) })).not.toThrow();
  });
});

describe('gradient maps as users hold them', () => {
  it('globalNorm takes a Map', () => {
    const n = globalNorm(new Map([['a', tf.tensor1d([3, 4])]]));
    expect(values(n)).toEqual([5]);
  });

  it('a gradient whose name is __proto__ is not lost', () => {
    const grads = JSON.parse('{"__proto__": null, "w": null}') as Record<string, unknown>;
    Object.defineProperty(grads, '__proto__', { value: tf.tensor1d([10]), enumerable: true });
    grads.w = tf.tensor1d([0]);
    const out = gradientPipeline(clipByGlobalNorm(1)).apply(grads as tf.NamedTensorMap);
    expect(Object.keys(out.grads)).toEqual(['__proto__', 'w']);
    expect(values(Object.getOwnPropertyDescriptor(out.grads, '__proto__')?.value as tf.Tensor)[0]).toBeCloseTo(1, 5);
  });
});
