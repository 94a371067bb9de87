import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  accumulateGradients,
  adaptiveGradClip,
  autoClip,
  clipByGlobalNorm,
  type GradientTransform,
  GradStabError,
  gradientPipeline,
  skipNonFinite,
  TransformedOptimizer,
  transformFromConfig,
  transformToConfig,
  withTransforms,
  zClip,
} from '../../src/index.js';
import { saveAndLoad, tinyData, tinyModel, weightsOf } from '../helpers/models.js';
import { countBlockingReads, maxViolation, tensorsLeftBy, useCpu, values } from '../helpers/tf.js';

beforeAll(useCpu);
afterEach(() => tf.disposeVariables());

/** The four new transforms, configured so that they engage on tinyData within a few steps. */
const adaptive: [string, () => GradientTransform][] = [
  ['adaptiveGradClip', () => adaptiveGradClip({ clipping: 0.05 })],
  ['autoClip', () => autoClip({ percentile: 20, window: 8 })],
  ['zClip', () => zClip({ warmupSteps: 3, zThreshold: 1, maxNorm: 5 })],
  ['accumulateGradients', () => accumulateGradients({ steps: 3 })],
];

describe.each(adaptive)('%s in every loop', (_, make) => {
  it('trains in fit and fitDataset with no leaks and no blocking reads beyond the bare optimizer’s', async () => {
    const { x, y } = tinyData(24);
    const ds = tf.data.zip({ xs: tf.data.array(x.unstack()), ys: tf.data.array(y.unstack()) }).batch(4);
    const run = async (optimizer: tf.Optimizer) => {
      const model = tinyModel();
      model.compile({ optimizer, loss: 'meanSquaredError' });
      const oneEpoch = () => model.fit(x, y, { batchSize: 4, epochs: 1, shuffle: false, verbose: 0 });
      const fitDataset = () => model.fitDataset(ds as never, { epochs: 1, verbose: 0 });
      const before = weightsOf(model);
      await oneEpoch();
      const changed = JSON.stringify(weightsOf(model)) !== JSON.stringify(before);
      const counts: number[] = [];
      for (const loop of [oneEpoch, fitDataset]) {
        await loop();
        counts.push(await tensorsLeftBy(loop), await countBlockingReads(loop));
      }
      return { changed, counts };
    };
    const bare = await run(tf.train.adam(0.01));
    const ours = await run(withTransforms(tf.train.adam(0.01), make()));
    expect(ours.changed).toBe(true);
    expect(ours.counts).toEqual(bare.counts); // leaks 0 and the reads fit itself makes
    expect(bare.counts[0]).toBe(0);
  });

  it('runs in minimize and in a raw pipeline loop with no leaks and no blocking reads', async () => {
    const w = tf.variable(tf.randomNormal([4, 3], 0, 1, 'float32', 3), true, 'adaptive/w');
    const b = tf.variable(tf.zeros([3]), true, 'adaptive/b');
    const loss = () => tf.sum(tf.square(tf.add(tf.matMul(tf.ones([2, 4]), w), b))) as tf.Scalar;
    const opt = withTransforms(tf.train.sgd(0.01), make());
    const minimizeStep = () => opt.minimize(loss, false, [w, b]);
    const pipeline = gradientPipeline(make());
    const sgd = tf.train.sgd(0.01);
    const rawStep = () => {
      const { value, grads } = tf.variableGrads(loss, [w, b]);
      const out = pipeline.apply(grads, { [w.name]: w, [b.name]: b });
      if (!out.skip) sgd.applyGradients(out.grads);
      tf.dispose([value, grads, out.grads]);
    };
    for (const step of [minimizeStep, rawStep]) {
      step();
      expect(await tensorsLeftBy(() => Array.from({ length: 4 }, step))).toBe(0);
      expect(await countBlockingReads(() => Array.from({ length: 4 }, step))).toBe(0);
    }
    pipeline.dispose();
  });

  it('saves and loads its state with includeOptimizer: training resumed equals training never stopped', async () => {
    const { x, y } = tinyData(20);
    const model = tinyModel(5);
    const opt = withTransforms(tf.train.adam(0.02), make());
    model.compile({ optimizer: opt, loss: 'meanSquaredError' });
    // 5 batches: with accumulateGradients({steps: 3}) the save falls in the middle of an accumulation.
    await model.fit(x, y, { batchSize: 4, epochs: 1, shuffle: false, verbose: 0 });
    const loaded = await saveAndLoad(model);
    const restored = loaded.optimizer as TransformedOptimizer;
    expect(restored).toBeInstanceOf(TransformedOptimizer);
    expect(await restored.readState()).toEqual(await opt.readState());
    const resume = (m: tf.LayersModel) => () => m.fit(x, y, { batchSize: 4, epochs: 2, shuffle: false, verbose: 0 });
    // The restored counters were read asynchronously while loading: resuming reads no more than uninterrupted.
    expect(await countBlockingReads(resume(loaded))).toBe(await countBlockingReads(resume(model)));
    const a = weightsOf(model);
    const bw = weightsOf(loaded);
    expect(Math.max(...a.map((w, i) => maxViolation(w, bw[i] as number[], 1e-6)))).toBe(0);
    expect(restored.iterations).toBe(opt.iterations);
  });
});

describe('adaptiveGradClip', () => {
  it('leaves excluded variables alone, by RegExp or predicate, and records its figures', () => {
    const grads = { 'dense/kernel': tf.tensor2d([[10], [0]]), 'head/kernel': tf.tensor2d([[10], [0]]) };
    const params = { 'dense/kernel': tf.tensor2d([[1], [0]]), 'head/kernel': tf.tensor2d([[1], [0]]) };
    for (const exclude of [/^head\//, (name: string) => name.startsWith('head/')]) {
      const pipeline = gradientPipeline(adaptiveGradClip({ exclude }));
      const out = pipeline.apply(grads, params);
      expect(maxViolation(values(out.grads['dense/kernel'] as tf.Tensor), [0.01, 0], 1e-8)).toBe(0); // 0.01 * ||W_u||
      expect(values(out.grads['head/kernel'] as tf.Tensor)).toEqual([10, 0]);
      expect(values(pipeline.state['0/clippedUnits'] as tf.Tensor)).toEqual([1]);
      expect(values(pipeline.state['0/norm'] as tf.Tensor)[0]).toBeCloseTo(Math.sqrt(200), 4);
      expect(values(pipeline.state['0/clippedNorm'] as tf.Tensor)[0]).toBeCloseTo(Math.sqrt(100.0001), 4);
    }
  });

  it('saves a RegExp exclude and refuses to save a predicate, naming the fix', () => {
    const saved = JSON.parse(JSON.stringify(transformToConfig(adaptiveGradClip({ exclude: /^out_\d+\//i }))));
    const rebuilt = transformFromConfig(saved);
    expect(rebuilt.config).toEqual({ clipping: 0.01, eps: 1e-3, exclude: { source: '^out_\\d+\\/', flags: 'i' } });
    const out = gradientPipeline(rebuilt).apply({ 'OUT_1/k': tf.ones([2]) }, { 'OUT_1/k': tf.zeros([2]) });
    expect(values(out.grads['OUT_1/k'] as tf.Tensor)).toEqual([1, 1]);
    expect(() => transformToConfig(adaptiveGradClip({ exclude: () => false }))).toThrow(
      'transformToConfig: a function in a config (such as an exclude predicate) cannot be saved: use a RegExp, got a function',
    );
  });

  it('needs the weights: a clear error without them or with the wrong shape', () => {
    const pipeline = gradientPipeline(adaptiveGradClip());
    expect(() => pipeline.apply({ w: tf.ones([2]) })).toThrow(
      'adaptiveGradClip: needs the current value of every variable it clips (withTransforms passes them; in a raw loop call pipeline.apply(grads, params)), got "w".',
    );
    expect(() => pipeline.apply({ w: tf.ones([2]) }, { w: tf.ones([3]) })).toThrow(
      `adaptiveGradClip: the weights of "w" must have the gradient's shape [2], got a tensor of shape [3] and dtype float32.`,
    );
  });
});

describe('autoClip and zClip', () => {
  it('record nothing from a non-finite norm (their statistics keep their values)', () => {
    for (const t of [autoClip({ percentile: 50, window: 4 }), zClip({ warmupSteps: 2 })]) {
      const pipeline = gradientPipeline(t);
      for (const n of [1, 2, 3]) pipeline.apply({ g: tf.tensor1d([n]) });
      const before = Object.fromEntries(Object.entries(pipeline.state).map(([k, v]) => [k, values(v)]));
      pipeline.apply({ g: tf.tensor1d([Number.NaN]) });
      pipeline.apply({ g: tf.tensor1d([Number.POSITIVE_INFINITY]) });
      for (const key of ['0/history', '0/recorded', '0/mean', '0/variance', '0/steps']) {
        if (pipeline.state[key]) expect(values(pipeline.state[key] as tf.Tensor), key).toEqual(before[key]);
      }
    }
  });

  it('zClip clips only maxNorm during warm-up, nothing without it, and reports Infinity as its threshold then', () => {
    const free = gradientPipeline(zClip({ warmupSteps: 3 }));
    expect(values(free.apply({ g: tf.tensor1d([50]) }).grads.g as tf.Tensor)).toEqual([50]);
    expect(values(free.state['0/threshold'] as tf.Tensor)).toEqual([Number.POSITIVE_INFINITY]);
    const capped = gradientPipeline(zClip({ warmupSteps: 3, maxNorm: 2 }));
    expect(values(capped.apply({ g: tf.tensor1d([50]) }).grads.g as tf.Tensor)[0]).toBeCloseTo(2, 5);
  });
});

describe('accumulateGradients', () => {
  it('in fit, k batches make one update: iterations, and weights untouched in between', async () => {
    const { x, y } = tinyData(24);
    const model = tinyModel();
    const opt = withTransforms(tf.train.sgd(0.1), accumulateGradients({ steps: 3 }));
    model.compile({ optimizer: opt, loss: 'meanSquaredError' });
    const initial = weightsOf(model);
    await model.fit(tf.slice(x, 0, 8), tf.slice(y, 0, 8), { batchSize: 4, epochs: 1, shuffle: false, verbose: 0 });
    expect(weightsOf(model)).toEqual(initial); // 2 of 3 micro-batches: no update yet
    expect(opt.iterations).toBe(0);
    await model.fit(x, y, { batchSize: 4, epochs: 1, shuffle: false, verbose: 0 }); // 6 more: 8 in all
    expect(opt.iterations).toBe(2);
    expect(opt.skippedSteps).toBe(6);
  });

  it('k micro-batches of a mean loss give the update of one big batch', () => {
    const { x, y } = tinyData(12);
    const run = (k: number) => {
      const model = tinyModel(9);
      const opt = withTransforms(tf.train.sgd(0.1), accumulateGradients({ steps: k }));
      const loss = (xs: tf.Tensor, ys: tf.Tensor) => () =>
        tf.losses.meanSquaredError(ys, model.apply(xs) as tf.Tensor) as tf.Scalar;
      for (let i = 0; i < k; i++) {
        const size = 12 / k;
        opt.minimize(loss(tf.slice(x, i * size, size), tf.slice(y, i * size, size)));
      }
      return weightsOf(model);
    };
    const big = run(1);
    const micro = run(3);
    micro.forEach((w, i) => {
      expect(maxViolation(w, big[i] as number[], 1e-6, 1e-5)).toBe(0);
    });
  });

  it('put first in a chain, clipping sees the averaged gradient once per update', () => {
    const pipeline = gradientPipeline(accumulateGradients({ steps: 2 }), clipByGlobalNorm(1));
    expect(pipeline.apply({ g: tf.tensor1d([10]) }).skip).toBe(true);
    const out = pipeline.apply({ g: tf.tensor1d([0.5]) });
    expect(values(out.grads.g as tf.Tensor)[0]).toBeCloseTo(1, 5); // mean 5.25, clipped to norm 1
    expect(Object.keys(pipeline.state).sort()).toEqual(['0/count', '0/sum/0']);
  });

  it('after skipNonFinite, a NaN micro-batch is dropped without being counted', () => {
    const pipeline = gradientPipeline(skipNonFinite(), accumulateGradients({ steps: 2 }));
    expect(pipeline.apply({ g: tf.tensor1d([2]) }).skip).toBe(true);
    expect(pipeline.apply({ g: tf.tensor1d([Number.NaN]) }).skip).toBe(true);
    const out = pipeline.apply({ g: tf.tensor1d([4]) });
    expect(out.skip).toBe(false);
    expect(values(out.grads.g as tf.Tensor)).toEqual([3]);
  });

  it('restored mid-accumulation from saved state, it reads its counter once and goes on', async () => {
    const first = gradientPipeline(accumulateGradients({ steps: 3 }));
    first.apply({ g: tf.tensor1d([1]) });
    first.apply({ g: tf.tensor1d([2]) });
    const second = gradientPipeline(accumulateGradients({ steps: 3 }));
    second.setState(Object.fromEntries(Object.entries(first.state).map(([k, v]) => [k, tf.clone(v)])));
    expect(() => second.setState({ '0/bogus': tf.scalar(0) })).toThrow(GradStabError);
    let out = second.apply({ g: tf.tensor1d([6]) });
    expect(
      await countBlockingReads(() => {
        out = second.apply({ g: tf.tensor1d([6]) });
      }),
    ).toBe(0);
    expect(out.skip).toBe(true); // the first of a new group of 3
    expect(values(second.state['0/sum/0'] as tf.Tensor)).toEqual([6]);
  });
});

describe('bad options are GradStabErrors naming the function, the rule and the value', () => {
  it.each([
    [() => adaptiveGradClip({ clipping: 0 }), 'adaptiveGradClip: clipping must be a finite number > 0, got 0.'],
    [() => adaptiveGradClip({ eps: -1 }), 'adaptiveGradClip: eps must be a finite number > 0, got -1.'],
    [() => adaptiveGradClip({ exclude: 'head' as never }), 'adaptiveGradClip: exclude must be a RegExp or a function'],
    [() => autoClip({ percentile: 101 }), 'autoClip: percentile must be a number in [0, 100], got 101.'],
    [() => autoClip({ window: 0 }), 'autoClip: window must be a whole number >= 1, got 0.'],
    [() => autoClip({ window: 2.5 }), 'autoClip: window must be a whole number >= 1, got 2.5.'],
    [() => zClip({ alpha: 1 }), 'zClip: alpha must be a number in (0, 1), also in float32, got 1.'],
    [() => zClip({ zThreshold: 0 }), 'zClip: zThreshold must be a finite number > 0, got 0.'],
    [() => zClip({ warmupSteps: 0 }), 'zClip: warmupSteps must be a whole number >= 1, got 0.'],
    [() => zClip({ maxNorm: -2 }), 'zClip: maxNorm must be a finite number > 0, got -2.'],
    [() => accumulateGradients({ steps: 0 }), 'accumulateGradients: steps must be a whole number >= 1, got 0.'],
    [
      () => accumulateGradients(undefined as never),
      'accumulateGradients: steps must be a whole number >= 1, got undefined.',
    ],
    [() => zClip({ window: 3 } as never), 'zClip: unknown option "window"'],
    // Issue 13: a window of 2^40 threw a RangeError building the ring; values that are 0 in float32; counts past 2^24.
    [() => autoClip({ window: 2 ** 40 }), 'autoClip: window must be at most 1000000, got 1099511627776.'],
    [
      () => adaptiveGradClip({ clipping: 1e-46 }),
      'adaptiveGradClip: clipping must be > 0 in float32 (at least 1.401298464324817e-45), got 1e-46.',
    ],
    [() => zClip({ warmupSteps: 2 ** 25 }), 'zClip: warmupSteps must be at most 16777216, got 33554432.'],
    [
      () => zClip({ zThreshold: 1e20 }),
      'zClip: zThreshold must be at most 1.8e19 (its square must be finite in float32), got 100000000000000000000.',
    ],
    [
      () => accumulateGradients({ steps: 2 ** 40 }),
      'accumulateGradients: steps must be at most 2147483647, got 1099511627776.',
    ],
    [() => accumulateGradients(null as never), 'accumulateGradients: options must be a plain object, got null.'],
    [
      () => autoClip({ window: null } as never),
      'autoClip: window must not be null (leave the key out or pass undefined instead), got null.',
    ],
  ])('%#', (make, message) => {
    expect(make).toThrow(GradStabError);
    expect(make).toThrow(message);
  });
});
