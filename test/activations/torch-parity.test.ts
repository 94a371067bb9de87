import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { activations } from '../../src/activations/index.js';
import { maxViolation, useCpu, values } from '../helpers/tf.js';
import { activationFixtures } from './fixtures.js';

beforeAll(useCpu);

const fixtures = activationFixtures();
/** The fixtures are float32 numbers written as short decimals: round them back before comparing. */
const f32 = (xs: number[]) => xs.map(Math.fround);

/**
 * 1e-6 absolute plus 1e-6 relative. The largest differences seen are ~5e-7 absolute (GELU and SiLU near x = 5,
 * where the two libraries' float32 exp/erf round differently; tfjs's erf is a polynomial with error up to 1.5e-7)
 * and ~1e-5 relative only where torch itself loses digits (ELU at x = -1e-3: torch computes exp(x) - 1 in float32,
 * gradstab expm1(x); gradstab is the one closer to the float64 value).
 */
const ATOL = 1e-6;
const RTOL = 1e-6;

function apply(name: (typeof fixtures.cases)[number]['fn'], options: object) {
  const fn = activations[name] as (x: tf.Tensor, o?: object) => tf.Tensor;
  return (x: tf.Tensor) => fn(x, options);
}

describe('values and gradients equal PyTorch 1.13 (test/fixtures/activations.json)', () => {
  it('covers every function, the kinks, the tails and |x| = 100', () => {
    expect(new Set(fixtures.cases.map((c) => c.fn))).toEqual(new Set(Object.keys(activations)));
    expect(fixtures.x).toEqual(expect.arrayContaining([-100, -20, -3, -1, -0.5, -1e-3, 0, 1e-3, 0.5, 1, 3, 20, 100]));
  });

  it.each(fixtures.cases.map((c) => [c.name, c] as const))('%s', (_, c) => {
    const f = apply(c.fn, c.options);
    const x = tf.tensor1d(fixtures.x);
    const y = f(x);
    const dx = tf.grad(f)(x);
    expect(maxViolation(values(y), f32(c.values), ATOL, RTOL)).toBe(0);
    expect(maxViolation(values(dx), f32(c.grads), ATOL, RTOL)).toBe(0);
    tf.dispose([x, y, dx]);
  });

  it('matches PyTorch exactly where the function is piecewise linear (ReLU and leaky ReLU gradients)', () => {
    for (const c of fixtures.cases.filter((k) => k.fn === 'relu' || k.fn === 'leakyRelu')) {
      const x = tf.tensor1d(fixtures.x);
      expect(values(tf.grad(apply(c.fn, c.options))(x))).toEqual(f32(c.grads));
    }
  });
});

describe('the reference vectors of SEMANTICS.md', () => {
  it('elu(-1) = -0.6321206 and selu(-1) = -1.1113307', () => {
    // The vectors have 7 decimals: 5e-8 of rounding plus a float32 ulp.
    expect(maxViolation(values(activations.elu(tf.scalar(-1))), [-0.6321206], 1e-7)).toBe(0);
    expect(maxViolation(values(activations.selu(tf.scalar(-1))), [-1.1113307], 1e-7)).toBe(0);
  });

  it('the ELU(alpha = 0.5) gradient at (-2, 0, 0.5, 100) is (0.0676676, 0.5, 1, 1), as torch (alpha at 0)', () => {
    const dx = tf.grad((x: tf.Tensor) => activations.elu(x, { alpha: 0.5 }))(tf.tensor1d([-2, 0, 0.5, 100]));
    expect(maxViolation(values(dx), [0.0676676, 0.5, 1, 1], 1e-7)).toBe(0);
  });
});
