import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { clipByGlobalNorm, clipByValue, globalNorm, gradientPipeline } from '../../src/index.js';
import { clippingFixtures } from '../helpers/fixtures.js';
import { maxViolation, useCpu, values } from '../helpers/tf.js';

beforeAll(useCpu);
const fixtures = clippingFixtures();

const toGrads = (grads: { shape: number[]; values: number[] }[]) =>
  Object.fromEntries(grads.map((g, i) => [`g${i}`, tf.tensor(g.values, g.shape)]));

describe(`clipByGlobalNorm matches torch ${fixtures.torch} clip_grad_norm_`, () => {
  it.each(fixtures.clipGradNorm.map((c) => [c.name, c] as const))('%s', (_, c) => {
    const grads = toGrads(c.grads);
    const norm = globalNorm(grads, { normType: c.normType });
    expect(maxViolation(values(norm), [c.totalNorm], 0, 1e-5)).toBe(0);
    const pipeline = gradientPipeline(clipByGlobalNorm(c.maxNorm, { normType: c.normType }));
    const out = pipeline.apply(grads);
    c.clipped.forEach((expected, i) => {
      expect(maxViolation(values(out.grads[`g${i}`] as tf.Tensor), expected, 1e-7, 1e-5)).toBe(0);
    });
    tf.dispose([grads, norm, out.grads]);
  });
});

describe(`clipByValue matches torch ${fixtures.torch} clip_grad_value_`, () => {
  it.each(fixtures.clipGradValue.map((c) => [c.name, c] as const))('%s', (_, c) => {
    const grads = toGrads(c.grads);
    const out = gradientPipeline(clipByValue(c.clipValue)).apply(grads);
    const actual = c.clipped.map((_, i) => values(out.grads[`g${i}`] as tf.Tensor));
    expect(actual).toEqual(c.clipped.map((expected) => expected.map(Math.fround)));
    tf.dispose([grads, out.grads]);
  });
});
