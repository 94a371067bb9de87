import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  clipByGlobalNorm,
  clipByValue,
  GradStabError,
  gradientPipeline,
  skipNonFinite,
  transformFromConfig,
  transformToConfig,
  withTransforms,
} from '../../src/index.js';
import { countBlockingReads, tensorsLeftBy, useCpu, values } from '../helpers/tf.js';

beforeAll(useCpu);

/** A tiny regression trained by `optimizer.minimize` on the given batches; returns weights and optimizer weights. */
async function train(optimizer: tf.Optimizer, batches: number[][], name: string) {
  const w = tf.variable(tf.tensor1d([0.5, -0.3]), true, `${name}/w`);
  for (const batch of batches) {
    const x = tf.tensor1d(batch);
    optimizer.minimize(() => tf.sum(tf.square(tf.sub(tf.mul(w, x), 1))) as tf.Scalar, false, [w]);
    x.dispose();
  }
  const slots = (await optimizer.getWeights()).filter((v) => !v.name.startsWith('__gradstab__'));
  const result = { w: values(w), slots: slots.map((s) => values(s.tensor)), iterations: optimizer.iterations };
  w.dispose();
  return result;
}

describe('skipNonFinite', () => {
  it('really skips: Adam weights, moments and iterations untouched; later steps equal a run without the bad batch', async () => {
    const good = [
      [1, 2],
      [0.5, -1],
      [2, 0.1],
    ];
    const bad = [Number.NaN, 1];
    const inf = [Number.POSITIVE_INFINITY, 1];
    const clean = await train(tf.train.adam(0.1), good, 'clean');
    const opt = withTransforms(tf.train.adam(0.1), skipNonFinite(), clipByGlobalNorm(10));
    const skipped = await train(opt, [good[0] as number[], bad, inf, ...good.slice(1)], 'skipped');
    expect(skipped.w).toEqual(clean.w);
    expect(skipped.slots).toEqual(clean.slots);
    expect(skipped.iterations).toBe(3);
    expect(opt.skippedSteps).toBe(2);
    expect(await opt.readState()).toEqual({ '0/consecutive': 0, '0/totalNonFinite': 2, '0/totalSkipped': 2 });
  });

  it('goes first: clipByValue before it would turn an Infinity into the limit and hide the bad step', () => {
    const inf = () => ({ g: tf.tensor1d([Number.POSITIVE_INFINITY, 0.5]) });
    const late = gradientPipeline(clipByValue(1), skipNonFinite()).apply(inf());
    expect(late.skip).toBe(false);
    expect(values(late.grads.g as tf.Tensor)).toEqual([1, 0.5]);
    expect(gradientPipeline(skipNonFinite(), clipByValue(1)).apply(inf()).skip).toBe(true);
  });

  it('zeroing is not skipping: the same bad batch with zeroed gradients moves Adam (why a real skip matters)', async () => {
    const zeroing = {
      kind: 'testZeroNonFinite',
      config: {},
      init: () => ({}),
      update: (g: tf.NamedTensorMap, state: Record<string, tf.Tensor>) => ({
        grads: Object.fromEntries(Object.entries(g).map(([k, t]) => [k, tf.where(tf.isFinite(t), t, tf.zerosLike(t))])),
        state,
      }),
    };
    const a = await train(
      withTransforms(tf.train.adam(0.1), zeroing),
      [
        [1, 2],
        [Number.NaN, Number.NaN],
      ],
      'zero',
    );
    const b = await train(tf.train.adam(0.1), [[1, 2]], 'ref');
    expect(a.w).not.toEqual(b.w);
  });

  it('applies a non-finite step after maxConsecutive skipped ones in a row, as optax apply_if_finite', () => {
    const pipeline = gradientPipeline(skipNonFinite({ maxConsecutive: 2 }));
    const nan = { g: tf.tensor1d([Number.NaN]) };
    const ok = { g: tf.tensor1d([1]) };
    const skips = [nan, nan, nan, nan, ok, nan].map((g) => pipeline.apply(g).skip);
    expect(skips).toEqual([true, true, false, false, false, true]);
    const state = Object.fromEntries(Object.entries(pipeline.state).map(([k, t]) => [k, values(t)[0]]));
    expect(state).toEqual({ '0/consecutive': 1, '0/totalNonFinite': 5, '0/totalSkipped': 3 });
    pipeline.dispose();
  });

  it('reads exactly one scalar per step, and leaks nothing', async () => {
    const pipeline = gradientPipeline(skipNonFinite());
    const g = { a: tf.randomNormal([4, 4]), b: tf.tensor1d([1, Number.NaN]) };
    pipeline.apply(g);
    expect(await countBlockingReads(() => pipeline.apply(g))).toBe(1);
    expect(await tensorsLeftBy(() => pipeline.apply(g))).toBe(0);
  });

  it('keeps maxConsecutive = Infinity through a JSON round trip', () => {
    const config = JSON.parse(JSON.stringify(transformToConfig(skipNonFinite())));
    expect(config).toEqual({ kind: 'skipNonFinite', config: { maxConsecutive: { $nonFinite: 'inf' } } });
    expect(transformFromConfig(config).config).toEqual({ maxConsecutive: Number.POSITIVE_INFINITY });
    expect(transformFromConfig(transformToConfig(skipNonFinite({ maxConsecutive: 3 }))).config).toEqual({
      maxConsecutive: 3,
    });
  });

  it('rejects bad options', () => {
    expect(() => skipNonFinite({ maxConsecutive: -1 })).toThrow(
      new GradStabError('skipNonFinite: maxConsecutive must be a whole number >= 0 or Infinity, got -1.'),
    );
    expect(() => skipNonFinite({ maxConsecutive: 1.5 })).toThrow('got 1.5.');
    expect(() => skipNonFinite(3 as never)).toThrow('skipNonFinite: options must be a plain object, got 3.');
  });
});
