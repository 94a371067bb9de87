import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  accumulateGradients,
  clipByGlobalNorm,
  clipByValue,
  GradStabError,
  gradientPipeline,
  skipNonFinite,
  TransformedOptimizer,
  transformFromConfig,
  transformToConfig,
  withTransforms,
} from '../../src/index.js';
import { GOOD_BATCHES, INF_BATCH, NAN_BATCH } from '../helpers/skip-batches.js';
import { countBlockingReads, tensorsLeftBy, useCpu, values } from '../helpers/tf.js';

beforeAll(useCpu);

/**
 * The optimizer's slot values: from `getWeights`, or, for Adamax (whose `getWeights` tfjs does not implement), from
 * the variables its fields hold.
 */
async function slotValues(optimizer: tf.Optimizer): Promise<number[][]> {
  if (optimizer instanceof TransformedOptimizer) await optimizer.flush();
  const inner = optimizer instanceof TransformedOptimizer ? optimizer.optimizer : optimizer;
  if (inner.getClassName() !== 'Adamax') {
    const slots = (await optimizer.getWeights()).filter((v) => !v.name.startsWith('__gradstab__'));
    return slots.map((s) => values(s.tensor));
  }
  const held: tf.Variable[] = [];
  const visit = (value: unknown) => {
    if (value instanceof tf.Variable) held.push(value);
    else if (value !== null && typeof value === 'object' && 'variable' in value) visit(value.variable);
  };
  for (const value of Object.values(inner)) (Array.isArray(value) ? value : [value]).forEach(visit);
  return held.map((v) => values(v));
}

/** A tiny regression trained by `optimizer.minimize` on the given batches; returns weights and optimizer weights. */
async function train(optimizer: tf.Optimizer, batches: number[][], name: string) {
  const w = tf.variable(tf.tensor1d([0.5, -0.3]), true, `${name}/w`);
  for (const batch of batches) {
    const x = tf.tensor1d(batch);
    optimizer.minimize(() => tf.sum(tf.square(tf.sub(tf.mul(w, x), 1))) as tf.Scalar, false, [w]);
    x.dispose();
  }
  const result = { w: values(w), slots: await slotValues(optimizer), iterations: optimizer.iterations };
  w.dispose();
  return result;
}

describe('skipNonFinite', () => {
  const optimizers: [string, () => tf.Optimizer][] = [
    ['sgd', () => tf.train.sgd(0.1)],
    ['momentum', () => tf.train.momentum(0.1, 0.9)],
    ['momentum (nesterov)', () => tf.train.momentum(0.1, 0.9, true)],
    ['adam', () => tf.train.adam(0.1)],
    ['adamax', () => tf.train.adamax(0.1)],
    ['adagrad', () => tf.train.adagrad(0.1)],
    ['adadelta', () => tf.train.adadelta(0.1)],
    ['rmsprop', () => tf.train.rmsprop(0.1)],
    ['rmsprop (centered, momentum)', () => tf.train.rmsprop(0.1, 0.9, 0.5, 1e-7, true)],
  ];
  const good = GOOD_BATCHES as number[][];
  const bad = NAN_BATCH as number[];
  const inf = INF_BATCH as number[];

  describe.each(['device', 'host'] as const)('decided on the %s', (decideOn) => {
    it.each(optimizers)(
      'really skips with %s: weights, slots and iterations as a run without the bad batches, a bad first step too',
      async (name, make) => {
        const clean = await train(make(), good, `clean-${decideOn}-${name}`);
        const opt = withTransforms(make(), skipNonFinite({ decideOn }), clipByGlobalNorm(10));
        // A bad first step (before the optimizer has any slot), then bad steps between good ones.
        const batches = [bad, good[0] as number[], bad, inf, ...good.slice(1)];
        const skipped = await train(opt, batches, `skipped-${decideOn}-${name}`);
        expect(skipped.w).toEqual(clean.w);
        expect(skipped.slots).toEqual(clean.slots);
        expect(skipped.iterations).toBe(3);
        expect(opt.skippedSteps).toBe(3);
        expect(await opt.readState()).toEqual({ '0/consecutive': 0, '0/totalNonFinite': 3, '0/totalSkipped': 3 });
      },
    );
  });

  it('decides on the host, with one read, for an optimizer class whose state it cannot find', async () => {
    class Custom extends tf.SGDOptimizer {
      static override get className() {
        return 'CustomSGD';
      }
    }
    const clean = await train(new Custom(0.1), good, 'custom-clean');
    const opt = withTransforms(new Custom(0.1), skipNonFinite({ decideOn: 'device' }));
    const w = tf.variable(tf.tensor1d([0.5, -0.3]), true, 'custom/w');
    const step = (batch: number[]) =>
      opt.minimize(() => tf.sum(tf.square(tf.sub(tf.mul(w, tf.tensor1d(batch)), 1))) as tf.Scalar, false, [w]);
    expect(await countBlockingReads(() => step(bad))).toBe(1);
    for (const batch of good) step(batch);
    expect(values(w)).toEqual(clean.w);
    expect(opt.skippedSteps).toBe(1);
    w.dispose();
  });

  it('before accumulateGradients, decided on the device: one read per step, and the bad micro-batch not counted', async () => {
    const runs: number[][] = [];
    for (const decideOn of ['device', 'host'] as const) {
      const w = tf.variable(tf.tensor1d([0.5, -0.3]), true, `acc-${decideOn}/w`);
      const opt = withTransforms(tf.train.adam(0.1), skipNonFinite({ decideOn }), accumulateGradients({ steps: 2 }));
      const step = (batch: number[]) =>
        opt.minimize(() => tf.sum(tf.mul(w, tf.tensor1d(batch))) as tf.Scalar, false, [w]);
      const batches = [GOOD_BATCHES[0], NAN_BATCH, GOOD_BATCHES[1], INF_BATCH, GOOD_BATCHES[2], GOOD_BATCHES[0]];
      for (const batch of batches) {
        expect(await countBlockingReads(() => step(batch as number[])), `${decideOn}`).toBe(1);
      }
      await opt.flush();
      expect(opt.iterations).toBe(2); // 4 good micro-batches, 2 per update; the 2 bad ones not counted
      expect(await opt.readState()).toMatchObject({ '1/count': 0, '0/totalSkipped': 2 });
      runs.push(values(w));
      opt.dispose();
      w.dispose();
    }
    expect(runs[0]).toEqual(runs[1]);
  });

  it('counts a skip still being read into a wrapper made around it, and before setWeights loads iterations', async () => {
    const w = tf.variable(tf.tensor1d([0.5, -0.3]), true, 'pending/w');
    const nanStep = (opt: tf.Optimizer) => opt.minimize(() => tf.sum(tf.mul(w, Number.NaN)) as tf.Scalar, false, [w]);
    const goodStep = (opt: tf.Optimizer) => opt.minimize(() => tf.sum(tf.mul(w, 2)) as tf.Scalar, false, [w]);
    const first = withTransforms(tf.train.adam(0.1), skipNonFinite({ decideOn: 'device' }));
    goodStep(first);
    nanStep(first); // its flag is read asynchronously
    const outer = withTransforms(first, clipByGlobalNorm(10)); // taken over before the read resolves
    await outer.flush();
    expect(outer.skippedSteps).toBe(1);
    expect(outer.iterations).toBe(1);
    const saved = await outer.getWeights();
    const savedValues = await Promise.all(saved.map(async (t) => ({ name: t.name, tensor: tf.clone(t.tensor) })));
    goodStep(outer);
    nanStep(outer); // pending while the checkpoint loads
    await outer.setWeights(savedValues);
    await outer.flush();
    expect(outer.iterations).toBe(1); // the checkpoint's, not one less
    tf.dispose(savedValues.map((t) => t.tensor));
    outer.dispose();
    w.dispose();
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
    expect(config).toEqual({
      kind: 'skipNonFinite',
      config: { maxConsecutive: { $nonFinite: 'inf' }, decideOn: 'auto' },
    });
    expect(transformFromConfig(config).config).toEqual({ maxConsecutive: Number.POSITIVE_INFINITY, decideOn: 'auto' });
    const device = skipNonFinite({ maxConsecutive: 3, decideOn: 'device' });
    expect(transformFromConfig(transformToConfig(device)).config).toEqual({ maxConsecutive: 3, decideOn: 'device' });
    // Saved before decideOn existed: the default.
    const old = { kind: 'skipNonFinite', config: { maxConsecutive: 3 } };
    expect(transformFromConfig(old).config).toEqual({ maxConsecutive: 3, decideOn: 'auto' });
  });

  it('rejects bad options', () => {
    expect(() => skipNonFinite({ maxConsecutive: -1 })).toThrow(
      new GradStabError('skipNonFinite: maxConsecutive must be a whole number >= 0 or Infinity, got -1.'),
    );
    expect(() => skipNonFinite({ maxConsecutive: 1.5 })).toThrow('got 1.5.');
    expect(() => skipNonFinite(3 as never)).toThrow('skipNonFinite: options must be a plain object, got 3.');
    expect(() => skipNonFinite({ decideOn: 'gpu' as never })).toThrow(
      new GradStabError("skipNonFinite: decideOn must be one of 'auto', 'device', 'host', got \"gpu\"."),
    );
  });
});
