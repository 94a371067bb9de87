import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { clipOptimizer, GradStabError, TransformedOptimizer } from '../../src/index.js';
import { useCpu, values } from '../helpers/tf.js';

beforeAll(useCpu);

/** One SGD step (lr 1) on loss = sum(c * w) from w = 0, so the new w is minus the clipped gradient c. */
function clippedGradient(options: Parameters<typeof clipOptimizer>[1], a: number[], b: number[]): number[][] {
  const opt = clipOptimizer(tf.train.sgd(1), options);
  const wa = tf.variable(tf.zeros([a.length]));
  const wb = tf.variable(tf.zeros([b.length]));
  opt.minimize(() => tf.add(tf.sum(tf.mul(wa, a)), tf.sum(tf.mul(wb, b))) as tf.Scalar, false, [wa, wb]);
  const out = [values(wa).map((v) => -v), values(wb).map((v) => -v)];
  tf.dispose([wa, wb]);
  opt.dispose();
  return out;
}

describe('clipOptimizer (Keras clipvalue / clipnorm / global_clipnorm)', () => {
  it('clipValue clips each entry', () => {
    expect(clippedGradient({ clipValue: 1 }, [3, -0.5], [-4])).toEqual([[1, -0.5], [-1]]);
  });

  it('clipNorm clips each tensor on its own', () => {
    const [a, b] = clippedGradient({ clipNorm: 1 }, [3, 4], [0.5]);
    expect(a?.[0]).toBeCloseTo(0.6, 6);
    expect(a?.[1]).toBeCloseTo(0.8, 6);
    expect(b).toEqual([0.5]);
  });

  it('globalClipNorm clips all tensors together', () => {
    const [a, b] = clippedGradient({ globalClipNorm: 1 }, [3], [4]);
    expect(a?.[0]).toBeCloseTo(0.6, 5);
    expect(b?.[0]).toBeCloseTo(0.8, 5);
  });

  it('returns a TransformedOptimizer', () => {
    expect(clipOptimizer(tf.train.adam(), { clipNorm: 1 })).toBeInstanceOf(TransformedOptimizer);
  });

  it.each([
    [{}, 'clipOptimizer: set exactly one of clipValue, clipNorm and globalClipNorm, as Keras does, got {}.'],
    [{ clipValue: 1, clipNorm: 1 }, 'set exactly one of clipValue, clipNorm and globalClipNorm'],
    [{ clipNorm: 0 }, 'clipOptimizer: clipNorm must be a finite number > 0, got 0.'],
    [
      { globalClipNorm: Number.POSITIVE_INFINITY },
      'clipOptimizer: globalClipNorm must be a finite number > 0, got Infinity.',
    ],
    [{ clipvalue: 1 }, 'clipOptimizer: unknown option "clipvalue" (known: clipValue, clipNorm, globalClipNorm)'],
  ])('rejects %o', (options, message) => {
    expect(() => clipOptimizer(tf.train.sgd(0.1), options as never)).toThrow(GradStabError);
    expect(() => clipOptimizer(tf.train.sgd(0.1), options as never)).toThrow(message);
  });
});

describe('clipOptimizer: bad input names clipOptimizer, not the wrapper it builds (issue 13)', () => {
  it('refuses a missing optimizer, a limit that is 0 in float32, null and a spent wrapper', () => {
    expect(() => clipOptimizer(null as never, { clipNorm: 1 })).toThrow(
      new GradStabError('clipOptimizer: optimizer must be a tf.Optimizer, such as tf.train.adam(), got null.'),
    );
    expect(() => clipOptimizer(tf.train.sgd(0.1), { clipValue: 1e-46 })).toThrow(
      new GradStabError('clipOptimizer: clipValue must be > 0 in float32 (at least 1.401298464324817e-45), got 1e-46.'),
    );
    expect(() => clipOptimizer(tf.train.sgd(0.1), { clipNorm: null } as never)).toThrow(
      new GradStabError(
        'clipOptimizer: clipNorm must not be null (leave the key out or pass undefined instead), got null.',
      ),
    );
    const first = clipOptimizer(tf.train.sgd(0.1), { clipNorm: 1 });
    const second = clipOptimizer(first, { clipValue: 1 });
    expect(() => clipOptimizer(first, { clipValue: 1 })).toThrow(
      /^clipOptimizer: this TransformedOptimizer was wrapped again/,
    );
    second.dispose();
  });
});
