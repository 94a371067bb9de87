import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  accumulateGradients,
  clipByGlobalNorm,
  clipByNorm,
  clipByValue,
  GradientHealthMonitor,
  GradStabError,
  skipNonFinite,
  TransformedOptimizer,
  withTransforms,
} from '../../src/index.js';
import { saveAndLoad, tinyData, tinyModel, weightsOf } from '../helpers/models.js';
import { countBlockingReads, maxViolation, tensorsLeftBy, useCpu, values } from '../helpers/tf.js';

beforeAll(useCpu);
afterEach(() => tf.disposeVariables());

/** An inner optimizer that records the container it was handed, then applies plain SGD. */
class Recorder extends tf.Optimizer {
  static get className() {
    return 'GradStabTestRecorder';
  }
  received: { isArray: boolean; names: string[]; nulls: number[] }[] = [];
  private readonly sgd = tf.train.sgd(0.1);
  applyGradients(g: tf.NamedTensorMap | { name: string; tensor: tf.Tensor }[]): void {
    const list = Array.isArray(g) ? g : Object.entries(g).map(([name, tensor]) => ({ name, tensor }));
    this.received.push({
      isArray: Array.isArray(g),
      names: list.map((e) => e.name),
      nulls: list.flatMap((e, i) => (e.tensor == null ? [i] : [])),
    });
    this.sgd.applyGradients(g as tf.NamedTensorMap);
  }
  getConfig() {
    return {};
  }
}

/** With a skip decided on the device: no read at all. */
const transforms = () => [
  skipNonFinite({ decideOn: 'device' }),
  clipByValue(5),
  clipByGlobalNorm(0.5),
  clipByNorm(0.4),
];

describe('TransformedOptimizer', () => {
  it('is a tf.Optimizer whose iterations are the inner optimizer’s', () => {
    const inner = tf.train.adam(0.01);
    const opt = withTransforms(inner, clipByGlobalNorm(1));
    expect(opt).toBeInstanceOf(tf.Optimizer);
    expect(opt).toBeInstanceOf(TransformedOptimizer);
    const w = tf.variable(tf.tensor1d([1, 2]));
    opt.minimize(() => tf.sum(tf.square(w)) as tf.Scalar);
    expect(opt.iterations).toBe(1);
    expect(inner.iterations).toBe(1);
  });

  it('keeps the container: a map stays a map in order; an array keeps order, length and null entries', () => {
    const rec = new Recorder();
    const opt = withTransforms(rec, clipByGlobalNorm(1));
    const a = tf.variable(tf.tensor1d([1]), true, 'a');
    const b = tf.variable(tf.tensor1d([2]), true, 'b');
    const unused = tf.variable(tf.tensor1d([3]), true, 'unused');
    opt.applyGradients({ b: tf.ones([1]), a: tf.ones([1]) });
    opt.applyGradients([
      { name: 'b', tensor: tf.ones([1]) },
      { name: 'unused', tensor: null as unknown as tf.Tensor },
      { name: 'a', tensor: tf.ones([1]) },
    ]);
    opt.minimize(() => tf.add(tf.sum(a), tf.sum(b)) as tf.Scalar, false, [b, unused, a]);
    expect(rec.received).toEqual([
      { isArray: false, names: ['b', 'a'], nulls: [] },
      { isArray: true, names: ['b', 'unused', 'a'], nulls: [1] },
      { isArray: true, names: ['b', 'unused', 'a'], nulls: [1] },
    ]);
    expect(values(unused)).toEqual([3]);
  });

  type Loop = (data: ReturnType<typeof tinyData>) => (model: tf.LayersModel) => Promise<unknown>;
  const loops: [string, Loop][] = [
    ['fit', (d) => (m) => m.fit(d.x, d.y, { batchSize: 8, epochs: 1, verbose: 0, shuffle: false })],
    [
      'fitDataset',
      (d) => {
        const ds = tf.data.zip({ xs: tf.data.array(d.x.unstack()), ys: tf.data.array(d.y.unstack()) }).batch(8);
        return (m) => m.fitDataset(ds as never, { epochs: 1, verbose: 0 });
      },
    ],
    ['trainOnBatch', (d) => (m) => m.trainOnBatch(d.x, d.y)],
  ];

  it.each(loops)('trains in %s with no leaks and no blocking reads beyond the bare optimizer’s', async (_, make) => {
    const loop = make(tinyData());
    const run = async (optimizer: tf.Optimizer) => {
      const model = tinyModel();
      model.compile({ optimizer, loss: 'meanSquaredError' });
      await loop(model); // warm-up: optimizer slots are created on the first step
      const leaked = await tensorsLeftBy(() => loop(model));
      const before = optimizer.iterations;
      const reads = await countBlockingReads(() => loop(model));
      return { leaked, reads, steps: optimizer.iterations - before, weights: weightsOf(model) };
    };
    const bare = await run(tf.train.adam(0.01));
    const clipped = await run(withTransforms(tf.train.adam(0.01), clipByValue(5), clipByGlobalNorm(0.5)));
    expect(clipped.leaked).toBe(0);
    expect(clipped.reads).toBe(bare.reads);
    expect(clipped.steps).toBe(bare.steps);
    expect(clipped.weights).not.toEqual(bare.weights); // clipping engaged
    const skipping = await run(withTransforms(tf.train.adam(0.01), ...transforms()));
    expect(skipping.leaked).toBe(0);
    expect(skipping.steps).toBe(bare.steps);
    expect(skipping.reads).toBe(bare.reads); // skipNonFinite decides on the device: no read
    // The default on cpu decides on the host: one read of the flag per step, and the same training.
    const [, ...rest] = transforms();
    const onHost = await run(withTransforms(tf.train.adam(0.01), skipNonFinite(), ...rest));
    expect(onHost.leaked).toBe(0);
    expect(onHost.reads).toBe(bare.reads + onHost.steps);
    expect(onHost.weights).toEqual(skipping.weights);
  });

  it('reads nothing, with skipNonFinite or without, in minimize and raw loops; leaks nothing', async () => {
    const w = tf.variable(tf.randomNormal([4, 4]), true, 'raw/w');
    const loss = () => tf.sum(tf.square(w)) as tf.Scalar;
    for (const [list, perStep] of [
      [[clipByGlobalNorm(1), clipByValue(1), clipByNorm(1)], 0],
      [transforms(), 0],
    ] as const) {
      const opt = withTransforms(tf.train.adam(0.01), ...list);
      const minimizeStep = () => opt.minimize(loss, false, [w]);
      const noVarList = () => opt.minimize(loss);
      const raw = () => {
        const { value, grads } = tf.variableGrads(loss);
        opt.applyGradients(grads);
        tf.dispose([value, grads]);
      };
      for (const step of [minimizeStep, noVarList, raw]) {
        step();
        expect(await tensorsLeftBy(step)).toBe(0);
        await tf.nextFrame(); // the skip flag's read settles
        expect(await countBlockingReads(step)).toBe(perStep);
      }
    }
  });

  it('skips a NaN batch inside fit: the run equals one that never saw the batch', async () => {
    const { x, y } = tinyData(16);
    const nanRows = tf
      .tensor2d([[1, 1, 1]])
      .tile([16, 1])
      .bufferSync();
    for (let r = 4; r < 8; r++) nanRows.set(Number.NaN, r, 0); // batch 2 of 4 (batchSize 4) holds NaN inputs
    const xBad = tf.mul(x, nanRows.toTensor());
    const keep = tf.tensor1d([0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15], 'int32');
    const train = async (xs: tf.Tensor, ys: tf.Tensor) => {
      const model = tinyModel(5);
      const optimizer = withTransforms(tf.train.adam(0.01), skipNonFinite(), clipByGlobalNorm(1));
      model.compile({ optimizer, loss: 'meanSquaredError' });
      await model.fit(xs, ys, { batchSize: 4, epochs: 1, shuffle: false, verbose: 0 });
      return { weights: weightsOf(model), optimizer };
    };
    const skipped = await train(xBad, y);
    const clean = await train(tf.gather(x, keep), tf.gather(y, keep));
    expect(skipped.weights).toEqual(clean.weights);
    expect(skipped.optimizer.iterations).toBe(3);
    expect(skipped.optimizer.skippedSteps).toBe(1);
  });

  it('saves and loads with includeOptimizer: class, inner optimizer, configs (Infinity too), state, iterations; resuming equals never stopping', async () => {
    const { x, y } = tinyData(16);
    const model = tinyModel(3);
    const opt = withTransforms(tf.train.adam(0.02), skipNonFinite(), clipByGlobalNorm(0.5, { normType: 'inf' }));
    model.compile({ optimizer: opt, loss: 'meanSquaredError' });
    await model.fit(x, y, { batchSize: 4, epochs: 1, shuffle: false, verbose: 0 });
    await model.trainOnBatch(x.mul(Number.NaN), y); // a skipped step, so that the state is not all zeros

    const loaded = await saveAndLoad(model);
    const restored = loaded.optimizer as TransformedOptimizer;
    expect(restored).toBeInstanceOf(TransformedOptimizer);
    expect(restored.optimizer.getClassName()).toBe('Adam');
    expect(restored.optimizer.getConfig()).toEqual(opt.optimizer.getConfig());
    expect(restored.transforms.map((t) => t.config)).toEqual([
      { maxConsecutive: Number.POSITIVE_INFINITY, decideOn: 'auto' },
      { maxNorm: 0.5, normType: 'inf' },
    ]);
    expect(restored.iterations).toBe(4);
    expect(await restored.readState()).toEqual({ '0/consecutive': 1, '0/totalNonFinite': 1, '0/totalSkipped': 1 });

    for (const m of [model, loaded]) await m.fit(x, y, { batchSize: 4, epochs: 2, shuffle: false, verbose: 0 });
    const a = weightsOf(model);
    const b = weightsOf(loaded);
    expect(Math.max(...a.map((w, i) => maxViolation(w, b[i] as number[], 1e-6)))).toBe(0);
    expect(restored.iterations).toBe(opt.iterations);
  });

  it('hands out weights that stay valid while training goes on (a save may await between steps)', async () => {
    const opt = withTransforms(tf.train.adam(0.1), skipNonFinite());
    const w = tf.variable(tf.tensor1d([1, 2]), true, 'live/w');
    const step = (scale: number) => opt.minimize(() => tf.sum(tf.mul(w, scale)) as tf.Scalar, false, [w]);
    step(1);
    const weights = await opt.getWeights();
    const pending = opt.readState();
    step(Number.NaN); // a skipped step, between the call and the reads
    step(1);
    expect(weights.every((x) => !x.tensor.isDisposed)).toBe(true);
    expect(await pending).toEqual({ '0/consecutive': 0, '0/totalNonFinite': 0, '0/totalSkipped': 0 }); // as called
    const skippedWeight = weights.find((x) => x.name === '__gradstab__/0/totalSkipped')?.tensor as tf.Tensor;
    expect(values(skippedWeight)).toEqual([1]);
  });

  it('is an instanceof check of its own, not tf.Optimizer’s duck-typed one', () => {
    expect(tf.train.adam() instanceof TransformedOptimizer).toBe(false);
    expect(withTransforms(tf.train.adam()) instanceof TransformedOptimizer).toBe(true);
  });

  it('refuses saved state that does not belong to its transforms', async () => {
    const opt = withTransforms(tf.train.sgd(0.1), skipNonFinite());
    const weights = [
      { name: 'iter', tensor: tf.scalar(0, 'int32') },
      { name: '__gradstab__/0/bogus', tensor: tf.scalar(1) },
    ];
    await expect(opt.setWeights(weights)).rejects.toThrow(
      'TransformedOptimizer.setWeights: state keys are those the transforms\' init() created (0/consecutive, 0/totalNonFinite, 0/totalSkipped), got "0/bogus".',
    );
  });

  it('disposes the inner optimizer and its own state', () => {
    const w = tf.tidy(() => tf.variable(tf.ones([3])));
    const before = tf.memory().numTensors;
    const opt = withTransforms(tf.train.adam(0.1), skipNonFinite());
    opt.minimize(() => tf.sum(w) as tf.Scalar);
    opt.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('names the rule for bad input', () => {
    expect(() => withTransforms({} as never, clipByValue(1))).toThrow(
      new GradStabError('withTransforms: optimizer must be a tf.Optimizer, such as tf.train.adam(), got {}.'),
    );
    expect(() => withTransforms(tf.train.sgd(0.1), 'clip' as never)).toThrow(
      'withTransforms: transform 0 must be a gradient transform (an object with kind, config, init and update), got "clip".',
    );
    const opt = withTransforms(tf.train.sgd(0.1), clipByValue(1));
    tf.variable(tf.tensor1d([1]), true, 'int/w');
    expect(() => opt.applyGradients({ 'int/w': tf.tensor1d([1], 'int32') })).toThrow(
      new GradStabError(
        'TransformedOptimizer.applyGradients: gradients must be float32 tensors, got int32 for "int/w".',
      ),
    );
  });
});

describe('TransformedOptimizer: bad input is a GradStabError naming the function called (issue 13)', () => {
  const sgd = () => tf.train.sgd(0.1);
  const fromConfig = (config: unknown) =>
    TransformedOptimizer.fromConfig(TransformedOptimizer, config as tf.serialization.ConfigDict);
  const sgdConfig = { className: 'SGD', config: { learningRate: 0.1 } };

  it.each([
    [
      () => withTransforms(null as never),
      'withTransforms: optimizer must be a tf.Optimizer, such as tf.train.adam(), got null.',
    ],
    [
      () => withTransforms({ minimize: 1, computeGradients: 1, applyGradients: 1 } as never),
      'withTransforms: optimizer must be a tf.Optimizer, such as tf.train.adam(), got {"minimize":1,"computeGradients":1,"applyGradients":1}.',
    ],
    [
      () => new TransformedOptimizer(sgd(), 5 as never),
      'TransformedOptimizer: transforms must be an array of gradient transforms, got 5.',
    ],
    [
      // A hole is not a transform either (forEach skipped it, and chain() named itself).
      () => new TransformedOptimizer(sgd(), new Array(1)),
      'TransformedOptimizer: transform 0 must be a gradient transform (an object with kind, config, init and update), got undefined.',
    ],
  ])('construction %#', (make, message) => {
    expect(make).toThrow(new GradStabError(message));
  });

  it('takes an optimizer alone: no transforms', () => {
    const opt = new TransformedOptimizer(tf.train.adam(0.01));
    expect(opt.transforms).toEqual([]);
    opt.dispose();
  });

  it('applyGradients: a container, tensors, live variables of their shape', () => {
    const opt = withTransforms(sgd(), clipByValue(1));
    tf.variable(tf.zeros([2]), true, 'bad/w');
    const apply = (g: unknown) => () => opt.applyGradients(g as tf.NamedTensorMap);
    expect(apply(null)).toThrow(
      new GradStabError(
        'TransformedOptimizer.applyGradients: gradients must be a map {name: tensor} (as from tf.variableGrads) or a list of {name, tensor}, got null.',
      ),
    );
    expect(apply({ 'bad/w': { dtype: 'float32' } })).toThrow(
      new GradStabError(
        'TransformedOptimizer.applyGradients: the gradient of "bad/w" must be a tf.Tensor, got {"dtype":"float32"}.',
      ),
    );
    expect(apply({ 'no/such': tf.zeros([2]) })).toThrow(
      new GradStabError(
        'TransformedOptimizer.applyGradients: each gradient must be named after a live tf.Variable (as tf.variableGrads names them), got "no/such".',
      ),
    );
    expect(apply({ 'bad/w': tf.zeros([3]) })).toThrow(
      new GradStabError(
        'TransformedOptimizer.applyGradients: the gradient of "bad/w" must have its variable\'s shape [2], got a tensor of shape [3] and dtype float32.',
      ),
    );
  });

  it('a transform’s error during a step names the function called, then the transform', () => {
    const monitor = new GradientHealthMonitor();
    const opt = withTransforms(sgd(), monitor.tap);
    const w = tf.variable(tf.zeros([2]), true, 'tap/w');
    monitor.dispose();
    expect(() => opt.applyGradients({ [w.name]: tf.zeros([2]) })).toThrow(
      new GradStabError(
        'TransformedOptimizer.applyGradients: GradientHealthMonitor.tap: this monitor was disposed: make a new GradientHealthMonitor to keep watching, got a disposed monitor.',
      ),
    );
    opt.dispose();
  });

  it.each([
    [
      { optimizer: { className: 'constructor', config: {} }, transforms: [] },
      'config.optimizer.className must name a registered tf.Optimizer, got "constructor".',
    ],
    [
      { optimizer: { className: 'toString', config: {} }, transforms: [] },
      'config.optimizer.className must name a registered tf.Optimizer, got "toString".',
    ],
    [
      { optimizer: { className: 'Dense', config: {} }, transforms: [] },
      'config.optimizer.className must name a tf.Optimizer, not another registered class, got "Dense".',
    ],
    [
      { optimizer: { className: 'SGD', config: { learningRate: 'abc' } }, transforms: [] },
      'config.optimizer.config.learningRate must be a number that is finite in float32 (|x| <= 3.4e38), got "abc".',
    ],
    [
      { optimizer: { className: 'Adam', config: { learningRate: 0.1, beta1: 0.9 } }, transforms: [] },
      'config.optimizer.config.beta2 must be given (Adam needs it), got undefined.',
    ],
    [
      { optimizer: sgdConfig, transforms: [null] },
      'a transform description must be an object {kind, config}, got null.',
    ],
    [
      { optimizer: sgdConfig, transforms: [{ kind: 'chain', config: { transforms: [null] } }] },
      'a transform description must be an object {kind, config}, got null.',
    ],
    [
      { optimizer: sgdConfig, transforms: [{ kind: 'clipByNorm', config: { maxNorm: -1 } }] },
      'clipByNorm: maxNorm must be a finite number > 0, got -1.',
    ],
    [{ optimizer: sgdConfig, transforms: 'x' }, 'config.transforms must be an array, got "x".'],
    [null, 'config must be an object {optimizer, transforms}, got null.'],
  ])('fromConfig refuses a corrupt saved config %#', (config, message) => {
    const before = tf.memory().numTensors;
    expect(() => fromConfig(config)).toThrow(new GradStabError(`TransformedOptimizer.fromConfig: ${message}`));
    expect(tf.memory().numTensors).toBe(before); // the inner optimizer built before the error is disposed
  });

  it('fromConfig: a config that contains itself is a GradStabError, not a stack overflow', () => {
    const config: Record<string, unknown> = { transforms: [] };
    config.optimizer = { className: 'GradStabTransformedOptimizer', config };
    expect(() => fromConfig(config)).toThrow(
      new GradStabError(
        'TransformedOptimizer.fromConfig: a config must not contain itself, got an object that contains itself.',
      ),
    );
  });

  it('fromConfig takes null values as missing, as tfjs writes them', () => {
    const config = {
      optimizer: { className: 'Adam', config: { learningRate: 0.1, beta1: 0.9, beta2: 0.99, epsilon: null } },
      transforms: [{ kind: 'zClip', config: { alpha: null, zThreshold: 2, warmupSteps: 3, maxNorm: null } }],
    };
    const opt = fromConfig(config) as unknown as TransformedOptimizer;
    expect(opt.transforms[0]?.config).toMatchObject({ alpha: 0.97, zThreshold: 2, warmupSteps: 3 });
    opt.dispose();
  });

  it('setWeights refuses a __proto__ key and stray lazily created state, leaving the state as it was', async () => {
    const opt = withTransforms(sgd(), skipNonFinite(), accumulateGradients({ steps: 2 }));
    const iter = () => ({ name: 'iter', tensor: tf.scalar(0, 'int32') });
    await expect(
      opt.setWeights([iter(), { name: '__gradstab__/__proto__', tensor: tf.scalar(1, 'int32') }]),
    ).rejects.toThrow(
      new GradStabError(
        'TransformedOptimizer.setWeights: state keys are those the transforms\' init() created (0/consecutive, 0/totalNonFinite, 0/totalSkipped, 1/count), got "__proto__".',
      ),
    );
    await expect(
      opt.setWeights([
        iter(),
        { name: '__gradstab__/1/count', tensor: tf.scalar(1, 'int32') },
        { name: '__gradstab__/1/sum/0', tensor: tf.zeros([2]) },
        { name: '__gradstab__/1/sum/99', tensor: tf.zeros([2]) },
      ]),
    ).rejects.toThrow(
      new GradStabError(
        'TransformedOptimizer.setWeights: the state keys 1/sum/<i> (one per gradient, by position) must be numbered from 0 without a gap, got "1/sum/99".',
      ),
    );
    expect(await opt.readState()).toEqual({
      '0/consecutive': 0,
      '0/totalNonFinite': 0,
      '0/totalSkipped': 0,
      '1/count': 0,
    });
    await expect(opt.setWeights(null as never)).rejects.toThrow(
      new GradStabError('TransformedOptimizer.setWeights: weights must be an array of {name, tensor}, got null.'),
    );
    opt.dispose();
  });

  it('after dispose() every use says so, instead of tfjs’s "Tensor is disposed"', async () => {
    const opt = withTransforms(sgd(), skipNonFinite());
    const w = tf.variable(tf.zeros([2]), true, 'gone/w');
    opt.dispose();
    opt.dispose(); // twice is harmless
    const rule =
      'this TransformedOptimizer was disposed (with its inner optimizer and transform state): make a new one, got a disposed TransformedOptimizer with transforms [skipNonFinite].';
    expect(() => opt.applyGradients({ [w.name]: tf.zeros([2]) })).toThrow(
      new GradStabError(`TransformedOptimizer.applyGradients: ${rule}`),
    );
    await expect(opt.getWeights()).rejects.toThrow(new GradStabError(`TransformedOptimizer.getWeights: ${rule}`));
    await expect(opt.readState()).rejects.toThrow(new GradStabError(`TransformedOptimizer.readState: ${rule}`));
    expect(() => withTransforms(opt)).toThrow(new GradStabError(`withTransforms: ${rule}`));
  });
});
