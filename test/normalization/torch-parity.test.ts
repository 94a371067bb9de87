import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { batchNorm, batchNormVariables, layers, pytorchBatchNormArgs } from '../../src/index.js';
import {
  type BatchNormCase,
  type BatchNormPass,
  type BatchNormStep,
  batchNormFixtures,
  type TensorFixture,
} from '../helpers/fixtures.js';
import { maxViolation, useCpu, values } from '../helpers/tf.js';

beforeAll(useCpu);
afterEach(() => tf.disposeVariables());

const fixtures = batchNormFixtures();

/**
 * 1e-5 absolute plus 1e-6 relative: ten times tighter than the 1e-4 (the largest difference measured is
 * 1.9e-6). The relative part matters for the zero-variance channel, whose dx is gamma / sqrt(eps) * (...) ~ 300
 * to 700. That case gets 1e-4 absolute: there PyTorch's own output is 4.8e-5 away from the exact beta (it computes
 * x * a + b with a ~ 292 and b ~ -1458, which cancel where one float32 step is 1.2e-4), while gradstab's is exact.
 */
const ATOL = 1e-5;
const RTOL = 1e-6;
const ATOL_CONSTANT_CHANNEL = 1e-4;

/** A case by its position in the fixture (1-based, as the generator lists them). */
function fixtureCase(n: number): BatchNormCase {
  const c = fixtures.cases[n - 1];
  if (c === undefined) throw new Error(`no case ${n} in batchnorm.json`);
  return c;
}

/**
 * How the fixture's channels-first tensors are laid out for gradstab: `perm` takes a channels-first tensor to this
 * layout (tf.transpose), and `axis` is where the channels land.
 */
interface Layout {
  readonly perm: (rank: number) => number[];
  readonly axis: number;
}

const channelsFirst: Layout = { perm: (r) => [...Array(r).keys()], axis: 1 };
const channelsLast: Layout = {
  perm: (r) => [0, ...Array.from({ length: r - 2 }, (_, i) => i + 2), 1],
  axis: -1,
};
/** [N, C, H, W] -> [N, H, C, W], channels on axis 2. */
const middleAxis: Layout = { perm: () => [0, 2, 1, 3], axis: 2 };

/** A fixture tensor in the given layout. */
function laidOut(t: TensorFixture, layout: Layout): tf.Tensor {
  return tf.tidy(() => tf.transpose(tf.tensor(t.values, t.shape), layout.perm(t.shape.length)));
}

/** What one pass gave: output and gradients (null where the case has no gamma or beta), and the moving stats. */
interface Pass {
  y: tf.Tensor;
  dx: tf.Tensor;
  dgamma: tf.Tensor | null;
  dbeta: tf.Tensor | null;
  movingMean: tf.Tensor;
  movingVariance: tf.Tensor;
}

/** Disposes a pass's output and gradients (the moving statistics may be live state of the runner). */
function disposePass(p: Pass): void {
  tf.dispose([p.y, p.dx, ...(p.dgamma === null ? [] : [p.dgamma]), ...(p.dbeta === null ? [] : [p.dbeta])]);
}

/** One implementation under test: a pass for loss = sum(y * w), in training or inference mode. */
type Runner = (x: tf.Tensor, w: tf.Tensor, training: boolean) => Pass;
type Variance = 'unbiased (PyTorch)' | 'biased (Keras)';

function settings(c: BatchNormCase, layout: Layout, variance: Variance) {
  return {
    ...pytorchBatchNormArgs({ momentum: c.momentum, eps: c.eps }),
    axis: layout.axis,
    unbiasedMovingVariance: variance === 'unbiased (PyTorch)',
  };
}

function expectClose(what: string, actual: tf.Tensor | number[], expected: number[], atol = ATOL): void {
  const a = Array.isArray(actual) ? actual : values(actual);
  const e = expected.map(Math.fround);
  expect(a.every(Number.isFinite), `${what}: non-finite values`).toBe(true);
  const abs = Math.max(0, ...a.map((v, i) => Math.abs(v - (e[i] as number))));
  expect(maxViolation(a, e, atol, RTOL), `${what}: max abs error ${abs}`).toBe(0);
}

/** Compares a pass with the reference (the reference's channels-first tensors permuted to the layout). */
function expectPass(label: string, got: Pass, ref: BatchNormPass, layout: Layout, atol = ATOL): void {
  const permuted = (t: TensorFixture) => {
    const p = laidOut(t, layout);
    const v = values(p);
    p.dispose();
    return v;
  };
  expectClose(`y ${label}`, got.y, permuted(ref.y), atol);
  expectClose(`dx ${label}`, got.dx, permuted(ref.dx), atol);
  expect(got.dgamma === null, `${label}: dgamma present`).toBe(ref.dgamma === null);
  expect(got.dbeta === null, `${label}: dbeta present`).toBe(ref.dbeta === null);
  if (got.dgamma !== null && ref.dgamma !== null) expectClose(`dgamma ${label}`, got.dgamma, ref.dgamma, atol);
  if (got.dbeta !== null && ref.dbeta !== null) expectClose(`dbeta ${label}`, got.dbeta, ref.dbeta, atol);
}

/** Runs the 3 training steps and the eval pass of a case, checking everything after each. */
function expectParity(c: BatchNormCase, layout: Layout, variance: Variance, runner: Runner): void {
  const refVariance = (s: BatchNormStep) => (variance === 'unbiased (PyTorch)' ? s.runningVar : s.movingVarianceBiased);
  const atol = c.constantChannel === null ? ATOL : ATOL_CONSTANT_CHANNEL;
  c.steps.forEach((step, k) => {
    const x = laidOut(step.x, layout);
    const w = laidOut(step.w, layout);
    const got = runner(x, w, true);
    expectPass(`step ${k + 1}`, got, step, layout, atol);
    expectClose(`movingMean after step ${k + 1}`, got.movingMean, step.runningMean);
    expectClose(`movingVariance after step ${k + 1}`, got.movingVariance, refVariance(step));
    disposePass(got);
    tf.dispose([x, w]);
  });
  const last = c.steps[c.steps.length - 1] as BatchNormStep;
  const x = laidOut(c.eval.x, layout);
  const w = laidOut(c.eval.w, layout);
  const got = runner(x, w, false);
  // Only the PyTorch convention has a reference for the eval pass (it normalizes with the moving statistics).
  if (variance === 'unbiased (PyTorch)') expectPass('eval', got, c.eval, layout, atol);
  expectClose('movingMean after eval (unchanged)', got.movingMean, last.runningMean);
  expectClose('movingVariance after eval (unchanged)', got.movingVariance, refVariance(last));
  disposePass(got);
  tf.dispose([x, w]);
}

/** gradstab's layer with PyTorch's settings (axis and variance convention per the arguments), gamma and beta set. */
function makeLayer(c: BatchNormCase, layout: Layout, variance: Variance) {
  const layer = layers.batchNormalization({ ...settings(c, layout, variance), center: c.affine, scale: c.affine });
  const channels = c.shape[1] as number;
  layer.build(layout.perm(c.shape.length).map((i) => c.shape[i] as number));
  layer.setWeights([
    ...(c.gamma === null ? [] : [tf.tensor1d(c.gamma)]),
    ...(c.beta === null ? [] : [tf.tensor1d(c.beta)]),
    tf.zeros([channels]),
    tf.ones([channels]),
  ]);
  return layer;
}

/** Passes through the layer, `apply(x, {training})` inside tf.variableGrads. */
function layerRunner(layer: ReturnType<typeof makeLayer>, c: BatchNormCase): Runner {
  const params = layer.trainableWeights.map((v) => v.read() as tf.Variable);
  expect(params.length).toBe(c.affine ? 2 : 0);
  return (x, w, training) => {
    const xv = tf.variable(x);
    let y: tf.Tensor | undefined;
    const { value, grads } = tf.variableGrads(() => {
      y = tf.keep(layer.apply(xv, { training }) as tf.Tensor);
      return tf.sum(tf.mul(y, w));
    }, [xv, ...params]);
    const [gammaVar, betaVar] = params;
    // getWeights gives the layer's variables themselves: compare them before the next step, never dispose them.
    const [movingMean, movingVariance] = layer.getWeights().slice(-2) as [tf.Tensor, tf.Tensor];
    const pass: Pass = {
      y: y as tf.Tensor,
      dx: grads[xv.name] as tf.Tensor,
      dgamma: gammaVar === undefined ? null : (grads[gammaVar.name] as tf.Tensor),
      dbeta: betaVar === undefined ? null : (grads[betaVar.name] as tf.Tensor),
      movingMean,
      movingVariance,
    };
    value.dispose();
    xv.dispose();
    return pass;
  };
}

/** gradstab's batchNorm on plain tensors, gradients by tf.grads, the returned state chained from step to step. */
function functionalRunner(c: BatchNormCase, layout: Layout, variance: Variance): Runner {
  const channels = c.shape[1] as number;
  const gamma = c.gamma === null ? null : tf.tensor1d(c.gamma);
  const beta = c.beta === null ? null : tf.tensor1d(c.beta);
  let state = { movingMean: tf.zeros([channels]), movingVariance: tf.ones([channels]) };
  const options = settings(c, layout, variance);
  return (x, w, training) => {
    const inputs = [x, ...(gamma === null ? [] : [gamma]), ...(beta === null ? [] : [beta])];
    let y: tf.Tensor | undefined;
    let next = state;
    const grads = tf.grads((...args: tf.Tensor[]) => {
      const [xi, ...p] = args as [tf.Tensor, ...tf.Tensor[]];
      const params = { gamma: gamma === null ? null : p[0], beta: beta === null ? null : p[p.length - 1] };
      const out = batchNorm(xi, params, state, { ...options, training });
      y = tf.keep(out.y);
      next = { movingMean: tf.keep(out.state.movingMean), movingVariance: tf.keep(out.state.movingVariance) };
      return tf.sum(tf.mul(out.y, w));
    })(inputs);
    if (!training) {
      // Inference hands back the very tensors it was given.
      expect(next.movingMean).toBe(state.movingMean);
      expect(next.movingVariance).toBe(state.movingVariance);
    }
    state = next;
    const [dx, ...dp] = grads as [tf.Tensor, ...tf.Tensor[]];
    return {
      y: y as tf.Tensor,
      dx,
      dgamma: gamma === null ? null : (dp[0] as tf.Tensor),
      dbeta: beta === null ? null : (dp[dp.length - 1] as tf.Tensor),
      movingMean: state.movingMean,
      movingVariance: state.movingVariance,
    };
  };
}

/**
 * gradstab's batchNorm with batchNormVariables, as its documentation shows: the new state assigned to the
 * variables inside the function given to tf.variableGrads.
 */
function functionalVariablesRunner(c: BatchNormCase, layout: Layout, variance: Variance): Runner {
  const channels = c.shape[1] as number;
  const bn = batchNormVariables(channels, { scale: c.affine, center: c.affine });
  if (c.gamma !== null) bn.params.gamma?.assign(tf.tensor1d(c.gamma));
  if (c.beta !== null) bn.params.beta?.assign(tf.tensor1d(c.beta));
  const options = settings(c, layout, variance);
  const params = [bn.params.gamma, bn.params.beta].filter((v) => v !== undefined);
  return (x, w, training) => {
    const xv = tf.variable(x);
    let y: tf.Tensor | undefined;
    const { value, grads } = tf.variableGrads(() => {
      const out = batchNorm(xv, bn.params, bn.state, { ...options, training });
      bn.state.movingMean.assign(out.state.movingMean);
      bn.state.movingVariance.assign(out.state.movingVariance);
      y = tf.keep(out.y);
      return tf.sum(tf.mul(out.y, w));
    }, [xv, ...params]);
    const pass: Pass = {
      y: y as tf.Tensor,
      dx: grads[xv.name] as tf.Tensor,
      dgamma: bn.params.gamma === undefined ? null : (grads[bn.params.gamma.name] as tf.Tensor),
      dbeta: bn.params.beta === undefined ? null : (grads[bn.params.beta.name] as tf.Tensor),
      movingMean: bn.state.movingMean.clone(),
      movingVariance: bn.state.movingVariance.clone(),
    };
    value.dispose();
    xv.dispose();
    return pass;
  };
}

const ALL_CASES = fixtures.cases.map((_, i) => i + 1);
const title = (n: number) => `case ${n}: ${fixtureCase(n).name}`;

describe(`torch ${fixtures.torch} fixtures (test/fixtures/batchnorm.json)`, () => {
  it('cover ranks 2 to 5, affine=False, a non-default momentum and eps, and a zero-variance channel', () => {
    expect(new Set(fixtures.cases.map((c) => c.shape.length))).toEqual(new Set([2, 3, 4, 5]));
    expect(fixtures.cases.some((c) => !c.affine)).toBe(true);
    expect(fixtures.cases.some((c) => c.momentum !== 0.1 && c.eps !== 1e-5)).toBe(true);
    const constant = fixtures.cases.find((c) => c.constantChannel !== null) as BatchNormCase;
    const ch = constant.constantChannel as number;
    // In every training batch the channel is one value, so its batch variance is 0.
    for (const s of constant.steps) {
      const slice = tf.tidy(() => values(tf.gather(tf.tensor(s.x.values, s.x.shape), [ch], 1)));
      expect(new Set(slice).size).toBe(1);
    }
    // Every case has 3 steps and the biased and unbiased moving variances differ well beyond the tolerance.
    for (const c of fixtures.cases) {
      expect(c.steps).toHaveLength(3);
      const last = c.steps[2] as BatchNormStep;
      expect(maxViolation(last.movingVarianceBiased, last.runningVar, 1e-2)).toBeGreaterThan(0);
    }
  });
});

describe('layers.batchNormalization with pytorchBatchNormArgs matches nn.BatchNorm (3 training steps, then eval)', () => {
  it.each(ALL_CASES.map((n) => [title(n), n]))('%s, channels-first', (_, n) => {
    const c = fixtureCase(n);
    expectParity(
      c,
      channelsFirst,
      'unbiased (PyTorch)',
      layerRunner(makeLayer(c, channelsFirst, 'unbiased (PyTorch)'), c),
    );
  });

  it.each([2, 3, 4, 5, 6].map((n) => [title(n), n]))('%s, permuted to channels-last with axis -1', (_, n) => {
    const c = fixtureCase(n);
    expectParity(
      c,
      channelsLast,
      'unbiased (PyTorch)',
      layerRunner(makeLayer(c, channelsLast, 'unbiased (PyTorch)'), c),
    );
  });

  it(`${title(3)}, permuted to [N, H, C, W] with axis 2`, () => {
    const c = fixtureCase(3);
    expectParity(c, middleAxis, 'unbiased (PyTorch)', layerRunner(makeLayer(c, middleAxis, 'unbiased (PyTorch)'), c));
  });

  it(`${title(7)}, permuted to channels-last with axis -1`, () => {
    const c = fixtureCase(7);
    expectParity(
      c,
      channelsLast,
      'unbiased (PyTorch)',
      layerRunner(makeLayer(c, channelsLast, 'unbiased (PyTorch)'), c),
    );
  });

  it(`${title(3)}: after the steps, apply(x) without kwargs is inference and gives the eval reference`, () => {
    const c = fixtureCase(3);
    const layer = makeLayer(c, channelsFirst, 'unbiased (PyTorch)');
    const run = layerRunner(layer, c);
    for (const s of c.steps) disposePass(run(laidOut(s.x, channelsFirst), laidOut(s.w, channelsFirst), true));
    const last = c.steps[2] as BatchNormStep;
    const before = layer.getWeights().map(values); // copies: getWeights hands out the live variables
    expectClose('movingMean after the steps', before[2] as number[], last.runningMean);
    expectClose('movingVariance after the steps', before[3] as number[], last.runningVar);
    expectClose('y apply(x)', layer.apply(laidOut(c.eval.x, channelsFirst)) as tf.Tensor, c.eval.y.values);
    expect(layer.getWeights().map(values)).toEqual(before);
  });
});

describe('layers.batchNormalization on a zero-variance channel', () => {
  // torch's CPU kernel computes y = x * a + b with a = gamma / sigma (~292 here) and b = beta - mean * a (~-1458):
  // on this channel that cancels where a float32 ulp is 1.2e-4, and torch's y lands 4.8e-5 off beta. The parity
  // tests above allow for that (1e-4); this one pins gradstab's exact value.
  it.each([
    ['channels-first', channelsFirst],
    ['channels-last', channelsLast],
  ] as const)(`${title(7)}: the constant channel's training output is beta exactly, %s`, (_, layout) => {
    const c = fixtureCase(7);
    const ch = c.constantChannel as number;
    const layer = makeLayer(c, layout, 'unbiased (PyTorch)');
    const channelAxis = layout === channelsFirst ? 1 : c.shape.length - 1;
    for (const s of c.steps) {
      const y = tf.tidy(() =>
        values(tf.gather(layer.apply(laidOut(s.x, layout), { training: true }) as tf.Tensor, [ch], channelAxis)),
      );
      expect(new Set(y)).toEqual(new Set([Math.fround((c.beta as number[])[ch] as number)]));
    }
  });
});

describe('layers.batchNormalization with unbiasedMovingVariance: false keeps the biased (Keras) moving variance', () => {
  it.each(ALL_CASES.map((n) => [title(n), n]))('%s, channels-first', (_, n) => {
    const c = fixtureCase(n);
    expectParity(c, channelsFirst, 'biased (Keras)', layerRunner(makeLayer(c, channelsFirst, 'biased (Keras)'), c));
  });

  it(`${title(4)}, permuted to channels-last with axis -1`, () => {
    const c = fixtureCase(4);
    expectParity(c, channelsLast, 'biased (Keras)', layerRunner(makeLayer(c, channelsLast, 'biased (Keras)'), c));
  });
});

describe('batchNorm (functional) with pytorchBatchNormArgs matches nn.BatchNorm, the state chained between steps', () => {
  it.each([1, 3, 4, 5, 7].map((n) => [title(n), n]))('%s, plain tensors and tf.grads, channels-first', (_, n) => {
    const c = fixtureCase(n);
    expectParity(c, channelsFirst, 'unbiased (PyTorch)', functionalRunner(c, channelsFirst, 'unbiased (PyTorch)'));
  });

  it.each([3, 4].map((n) => [title(n), n]))('%s, plain tensors, permuted to channels-last with axis -1', (_, n) => {
    const c = fixtureCase(n);
    expectParity(c, channelsLast, 'unbiased (PyTorch)', functionalRunner(c, channelsLast, 'unbiased (PyTorch)'));
  });

  it(`${title(3)}, plain tensors, permuted to [N, H, C, W] with axis 2`, () => {
    const c = fixtureCase(3);
    expectParity(c, middleAxis, 'unbiased (PyTorch)', functionalRunner(c, middleAxis, 'unbiased (PyTorch)'));
  });

  it.each([1, 3, 5, 6].map((n) => [title(n), n]))(
    '%s, batchNormVariables and tf.variableGrads, state assigned inside',
    (_, n) => {
      const c = fixtureCase(n);
      const runner = functionalVariablesRunner(c, channelsFirst, 'unbiased (PyTorch)');
      expectParity(c, channelsFirst, 'unbiased (PyTorch)', runner);
    },
  );

  it.each([1, 4, 5].map((n) => [title(n), n]))('%s, unbiasedMovingVariance: false (biased)', (_, n) => {
    const c = fixtureCase(n);
    expectParity(c, channelsFirst, 'biased (Keras)', functionalRunner(c, channelsFirst, 'biased (Keras)'));
  });
});

describe("tfjs's own tf.layers.batchNormalization is not PyTorch-compatible on channels-first input", () => {
  it(`tf.layers.batchNormalization({axis: 1}) is off by more than 0.01 on ${title(3)}, gradstab's layer is not`, () => {
    const c = fixtureCase(3);
    const step = c.steps[0] as BatchNormStep;
    const x = laidOut(step.x, channelsFirst);
    const weights = () => [
      tf.tensor1d(c.gamma as number[]),
      tf.tensor1d(c.beta as number[]),
      tf.zeros([4]),
      tf.ones([4]),
    ];
    const theirs = tf.layers.batchNormalization({ axis: 1, momentum: 1 - c.momentum, epsilon: c.eps });
    theirs.build(c.shape);
    theirs.setWeights(weights());
    const ours = layers.batchNormalization({ ...pytorchBatchNormArgs({ momentum: c.momentum, eps: c.eps }) });
    ours.build(c.shape);
    ours.setWeights(weights());
    const expected = step.y.values.map(Math.fround);
    const errorOf = (layer: tf.layers.Layer) => {
      const y = values(layer.apply(x, { training: true }) as tf.Tensor);
      return Math.max(...y.map((v, i) => Math.abs(v - (expected[i] as number))));
    };
    const theirError = errorOf(theirs);
    expect(theirError).toBeGreaterThan(0.01);
    expect(errorOf(ours)).toBeLessThan(1e-4);
  });
});
