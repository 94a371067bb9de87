import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { expect } from 'vitest';
import * as gs from '../../src/index.js';
import {
  anyArb,
  Made,
  numberArb,
  type Owned,
  objectOf,
  onesVariable,
  optionsArb,
  or,
  stringArb,
  tensorArb,
  tensorOf,
  uniqueName,
} from './fuzz.js';

/**
 * The gradstab-specific values of the property test of every public entry point (test/fuzz.test.ts): fresh objects
 * (transforms, optimizers, variables, models, batches), plausible and saved configs, and the checks that a value an
 * entry point returned works.
 */

export const transformMakers: Record<string, () => gs.GradientTransform> = {
  clipByValue: () => gs.clipByValue(1),
  clipByGlobalNorm: () => gs.clipByGlobalNorm(1),
  skipNonFinite: () => gs.skipNonFinite(),
  accumulateGradients: () => gs.accumulateGradients({ steps: 2 }),
  autoClip: () => gs.autoClip({ window: 4 }),
  adaptiveGradClip: () => gs.adaptiveGradClip({ exclude: /bias/ }),
};
export const transformArb = fc
  .constantFrom(...Object.keys(transformMakers))
  .map((kind) => new Made(`${kind}()`, () => (transformMakers[kind] as () => gs.GradientTransform)()));
export const optimizerArb = fc
  .constantFrom('sgd', 'adam')
  .map(
    (kind) =>
      new Made(`tf.train.${kind}()`, (own: Owned) => own.add(kind === 'sgd' ? tf.train.sgd(0.1) : tf.train.adam(0.01))),
  );
export const variableName = 'fuzz/w';
/** A live variable named `fuzz/w` of shape [2, 3]. */
export const variable = (own: Owned) => own.add(onesVariable([2, 3], variableName));
export const gradArb = fc.oneof(tensorArb, fc.constant(tensorOf([2, 3])), anyArb);
export const gradMapArb = fc.oneof(
  fc.record({ [variableName]: gradArb }),
  fc.array(fc.tuple(fc.oneof(fc.constant(variableName), stringArb), gradArb), { maxLength: 2 }).map(objectOf),
  fc.array(fc.oneof(fc.record({ name: fc.oneof(fc.constant(variableName), stringArb), tensor: gradArb }), anyArb), {
    maxLength: 2,
  }),
  anyArb,
);
/** Dimensions: small valid ones, and the nasty ones (no large valid one: a run must not allocate gigabytes). */
export const dimArb = fc.oneof(
  fc.integer({ min: 1, max: 6 }),
  fc.constantFrom(0, -0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 1e12, 2 ** 40, 1e200, 5e-324, '3', null),
  fc.double(),
);
export const shapeArb = fc.oneof(
  fc.array(dimArb, { maxLength: 4 }),
  fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 2, maxLength: 3 }),
  anyArb,
);
export const kinds = [
  'clipByValue',
  'clipByNorm',
  'clipByGlobalNorm',
  'adaptiveGradClip',
  'autoClip',
  'zClip',
  'skipNonFinite',
  'accumulateGradients',
  'chain',
  'gradientHealthTap',
  'nobody',
  '__proto__',
  'constructor',
];
/** Saved transform descriptions, valid ones with one value replaced or a key added, and junk. */
export const descriptionArb: fc.Arbitrary<unknown> = fc.oneof(
  fc
    .tuple(
      fc.constantFrom(...Object.keys(transformMakers)),
      fc.option(fc.tuple(fc.oneof(stringArb, keyArbLike()), anyArb)),
    )
    .map(([kind, change]) => {
      const saved = JSON.parse(
        JSON.stringify(gs.transformToConfig((transformMakers[kind] as () => gs.GradientTransform)())),
      );
      if (change) {
        const [key, value] = change;
        const keys = Object.keys(saved.config);
        const target = keys.length > 0 && key.length % 2 === 0 ? (keys[key.length % keys.length] as string) : key;
        saved.config = objectOf([...Object.entries(saved.config), [target, value]]);
      }
      return saved;
    }),
  fc.record({ kind: fc.oneof(fc.constantFrom(...kinds), stringArb), config: anyArb }, { requiredKeys: [] }),
  fc.record({
    kind: fc.constant('chain'),
    config: fc.record({ transforms: fc.array(fc.oneof(anyArb, fc.constant(null)), { maxLength: 2 }) }),
  }),
  fc.record({
    kind: fc.constant('adaptiveGradClip'),
    config: fc.record(
      {
        clipping: numberArb,
        eps: numberArb,
        exclude: or(fc.record({ source: stringArb, flags: stringArb }, { requiredKeys: [] })),
      },
      { requiredKeys: [] },
    ),
  }),
  anyArb,
);
export function keyArbLike(): fc.Arbitrary<string> {
  return fc.constantFrom('__proto__', 'constructor', 'typo', 'exclude', 'window');
}

export const paramsFor = (shape: number[]) =>
  tf.tensor(
    Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => (i % 5) - 2.5),
    shape,
  );

/** A transform works: one step through a pipeline keeps shapes and finite values, and its config round-trips. */
export function transformWorks(t: unknown): void {
  expect(gs.isGradientTransform(t)).toBe(true);
  const transform = t as gs.GradientTransform;
  const pipeline = gs.gradientPipeline(transform);
  const g = tf.tensor2d([
    [0.5, -2, 3],
    [0.25, 0, -1],
  ]);
  const w = paramsFor([2, 3]);
  try {
    const out = pipeline.apply({ w: g }, { w });
    const result = out.grads.w as tf.Tensor;
    expect(result.shape).toEqual([2, 3]);
    const v = Array.from(result.dataSync());
    expect(v.every(Number.isFinite), `${transform.kind} gave ${v}`).toBe(true);
    if (transform.kind === 'clipByValue')
      expect(
        v.some((x) => x !== 0),
        `clipByValue zeroed ${v}`,
      ).toBe(true);
    if (result !== g) result.dispose();
  } finally {
    tf.dispose([g, w]);
    pipeline.dispose();
  }
  const unsaveable = typeof (transform.config as { exclude?: unknown }).exclude === 'function';
  if (unsaveable) return;
  const saved = JSON.parse(JSON.stringify(gs.transformToConfig(transform)));
  const back = gs.transformFromConfig(saved);
  expect(JSON.stringify(gs.transformToConfig(back))).toBe(JSON.stringify(saved));
}

/** An optimizer wrapper works: one step moves a variable to finite values, and its config round-trips. */
export function optimizerWorks(o: unknown, own: Owned): void {
  expect(o).toBeInstanceOf(gs.TransformedOptimizer);
  const opt = o as gs.TransformedOptimizer;
  const v = own.add(onesVariable([2, 3], uniqueName()));
  const g = own.add(tf.fill([2, 3], 0.5));
  opt.applyGradients({ [v.name]: g });
  expect(Array.from(v.dataSync()).every(Number.isFinite)).toBe(true);
  const config = JSON.parse(JSON.stringify(opt.getConfig()));
  const back = gs.TransformedOptimizer.fromConfig(
    gs.TransformedOptimizer,
    config,
  ) as unknown as gs.TransformedOptimizer;
  back.dispose();
}

/** An initializer works: finite values of the asked shape, and its config round-trips. */
export function initializerWorks(i: unknown): void {
  const init = i as gs.VarianceScaling | gs.Orthogonal;
  const shape = [2, 2, 4, 3]; // a conv kernel: every layout (depthwise needs rank 3 or more) takes it
  const t = init.apply(shape);
  try {
    expect(t.shape).toEqual(shape);
    expect(Array.from(t.dataSync()).every(Number.isFinite)).toBe(true);
  } finally {
    t.dispose();
  }
  const cls = init.constructor as typeof gs.VarianceScaling;
  const config = JSON.parse(JSON.stringify(init.getConfig()));
  const back = cls.fromConfig(cls, config) as gs.VarianceScaling;
  expect(back.getConfig()).toEqual(config);
}

/** A layer works: applied to a batch it gives a finite output of the same shape, and its config round-trips. */
export function layerWorks(l: unknown, shape = [2, 3]): void {
  const layer = l as tf.layers.Layer;
  const x = tf.fill(shape, 0.5);
  try {
    const y = layer.apply(x, { training: true }) as tf.Tensor;
    expect(y.shape).toEqual(shape);
    expect(Array.from(y.dataSync()).every(Number.isFinite)).toBe(true);
    y.dispose();
  } finally {
    x.dispose();
  }
  const cls = layer.constructor as typeof gs.ReLULayer;
  // tfjs adds an empty customObjects to the configs of the initializers it deserializes.
  const json = (c: unknown) => JSON.stringify(c, (k, v) => (k === 'customObjects' ? undefined : v));
  const config = JSON.parse(json(layer.getConfig()));
  const back = cls.fromConfig(cls, config) as tf.layers.Layer;
  expect(json(back.getConfig())).toBe(json(config));
}

/** A fresh small model, `Dense(16, relu) -> Dense(40)` on 3 inputs, disposed after the run. */
export const modelArb = fc.constant(
  new Made('tinyModel', (own: Owned) => {
    const model = tf.sequential({
      layers: [tf.layers.dense({ units: 16, inputShape: [3], activation: 'relu' }), tf.layers.dense({ units: 40 })],
    });
    own.add(model);
    return model;
  }),
);
export const randomBatchArb = fc.constant(
  new Made('randomBatch', (own: Owned) => own.add(tf.randomNormal([8, 3], 0, 1, 'float32', 1))),
);
/** Targets for {@link modelArb} on {@link randomBatchArb}: [8, 40]. */
export const targetsArb = fc.constant(
  new Made('randomTargets', (own: Owned) => own.add(tf.randomNormal([8, 40], 0, 1, 'float32', 2))),
);
/**
 * The batch as the [n, 3] input of a step's kernel, or a row of ones when the fuzzed batch is not one: the step's
 * `output` is the user's code, whose own errors lsuvVariables passes on as they are.
 */
export const rowsOf = (x: unknown): tf.Tensor =>
  x instanceof tf.Tensor && x.dtype === 'float32' && x.rank === 2 && x.shape[1] === 3 ? x : tf.ones([1, 3]);
/** One layer for lsuvVariables: a [3, 40] kernel and its output on a [n, 3] batch. */
export const stepArb = fc.constant(
  new Made('step', (own: Owned) => {
    const kernel = own.add(onesVariable([3, 40]));
    return { name: 'step', kernel, output: (x: unknown) => tf.matMul(rowsOf(x), kernel) };
  }),
);
/** Valid arguments one run in three, the fuzzed ones otherwise. */
export const withValid = (valid: fc.Arbitrary<unknown[]>, fuzzed: fc.Arbitrary<unknown[]>): fc.Arbitrary<unknown[]> =>
  fc.oneof({ arbitrary: valid, weight: 1 }, { arbitrary: fuzzed, weight: 2 });

export const batchArb = fc.oneof(
  fc.constantFrom([8, 3], [0, 3], [4, 2], [3]).map((s) => tensorOf([...s], 'float32', 0.7)),
  {
    arbitrary: fc.constant(
      new Made('randomBatch', (own: Owned) => own.add(tf.randomNormal([8, 3], 0, 1, 'float32', 1))),
    ),
    weight: 6,
  },
  tensorArb,
  anyArb,
);

/**
 * Saved wrapper configs (`getConfig()` through JSON, as tfjs saves them), with one value replaced now and then: the
 * inner optimizer's class or an argument, or a transform's config value.
 */
export const savedOptimizerArb = fc
  .tuple(
    // Not tf.train.momentum: its dispose() leaks a scalar (tfjs 4.22), which would count against the wrapper.
    fc.constantFrom('sgd', 'adam', 'rmsprop', 'adagrad'),
    fc.array(fc.constantFrom(...Object.keys(transformMakers)), { maxLength: 2 }),
    fc.option(fc.tuple(fc.constantFrom('className', 'learningRate', 'beta1', 'transform', 'transforms'), anyArb)),
  )
  .map(([kind, kinds, change]) => {
    const inner =
      kind === 'sgd'
        ? tf.train.sgd(0.1)
        : kind === 'adam'
          ? tf.train.adam(0.01)
          : kind === 'rmsprop'
            ? tf.train.rmsprop(0.01)
            : tf.train.adagrad(0.1);
    const wrapper = gs.withTransforms(inner, ...kinds.map((k) => (transformMakers[k] as () => gs.GradientTransform)()));
    const saved = JSON.parse(JSON.stringify(wrapper.getConfig()));
    wrapper.dispose();
    if (change) {
      const [where, value] = change;
      if (where === 'className') saved.optimizer.className = value;
      else if (where === 'transforms') saved.transforms = value;
      else if (where === 'transform' && saved.transforms.length > 0) saved.transforms[0].config.typo = value;
      else saved.optimizer.config[where] = value;
    }
    return saved;
  });

// Small helpers of the entry lists.

export const one = (arb: fc.Arbitrary<unknown>) => fc.tuple(arb);
/** Numbers that are usually valid limits, and the nasty ones. */
export const positiveArb = fc.oneof(fc.double({ min: 1e-3, max: 1e3, noNaN: true }), numberArb);
export const nonlinearityArb = fc.constantFrom(
  'linear',
  'conv2d',
  'sigmoid',
  'tanh',
  'relu',
  'leakyRelu',
  'leaky_relu',
  'selu',
);
export const call0 = (f: (...a: never[]) => unknown) => (args: unknown[]) =>
  (f as (...a: unknown[]) => unknown)(...args);

export const limit = or(numberArb);
export const bool = fc.boolean();
export const normType = fc.constantFrom(1, 2, 'inf', Number.POSITIVE_INFINITY, 'Infinity', 3);

/**
 * The weights `wrapped()` saves (`iter`, then `__gradstab__/<key>` state), with one entry now and then replaced by
 * one named after a stray or odd key.
 */
export const savedWeightsArb = fc
  .option(
    fc.tuple(
      fc.integer({ min: 0, max: 4 }),
      fc.constantFrom(
        '__gradstab__/1/sum/99',
        '__gradstab__/__proto__',
        '__gradstab__/1/sum/01',
        'iter',
        '__gradstab__/9/x',
      ),
    ),
  )
  .map(
    (change) =>
      new Made(`savedWeights(${change ?? ''})`, (own: Owned) => {
        const names = ['iter', '0/consecutive', '0/totalNonFinite', '0/totalSkipped', '1/count'];
        const list = names.map((n, i) => ({
          name: i === 0 ? n : `__gradstab__/${n}`,
          tensor: own.add(tf.scalar(i === 0 ? 3 : 0, 'int32')),
        }));
        if (change) list[change[0]] = { name: change[1], tensor: own.add(tf.scalar(0, 'int32')) };
        return list;
      }),
  );

export const wrapped = (own: Owned) =>
  own.add(gs.withTransforms(tf.train.sgd(0.1), gs.skipNonFinite(), gs.accumulateGradients({ steps: 2 })));

export const initOptions = optionsArb({
  gain: numberArb,
  nonlinearity: or(nonlinearityArb, stringArb),
  negativeSlope: numberArb,
  mode: or(fc.constantFrom('fanIn', 'fanOut', 'fanAvg', 'fan_in'), stringArb),
  distribution: or(fc.constantFrom('normal', 'truncatedNormal', 'uniform', 'untruncated_normal'), stringArb),
  layout: or(fc.constantFrom('tfjs', 'pytorch', 'depthwise'), stringArb),
  seed: numberArb,
});
export const families = {
  xavierUniform: gs.xavierUniform,
  xavierNormal: gs.xavierNormal,
  heUniform: gs.heUniform,
  heNormal: gs.heNormal,
  lecunUniform: gs.lecunUniform,
  lecunNormal: gs.lecunNormal,
};

export const layerArgs = {
  name: or(stringArb),
  inputShape: or(fc.array(fc.oneof(fc.integer({ min: 1, max: 4 }), fc.constant(null)), { maxLength: 2 })),
  batchInputShape: or(fc.array(fc.oneof(fc.integer({ min: 1, max: 4 }), fc.constant(null)), { maxLength: 3 })),
  batchSize: fc.oneof(fc.integer({ min: -4, max: 4 }), numberArb),
  dtype: fc.constantFrom('float32', 'int32', 'int33'),
  trainable: or(bool),
  inputDType: fc.constantFrom('float32', 'int32', 'int33'),
};
export type LayerClass = typeof gs.ReLULayer;
export const activationLayers: readonly [
  keyof typeof gs.layers,
  string,
  LayerClass,
  Record<string, fc.Arbitrary<unknown>>,
][] = [
  ['reLU', 'ReLULayer', gs.ReLULayer, {}],
  ['leakyReLU', 'LeakyReLULayer', gs.LeakyReLULayer as unknown as LayerClass, { alpha: numberArb }],
  ['elu', 'ELULayer', gs.ELULayer as unknown as LayerClass, { alpha: numberArb }],
  ['selu', 'SELULayer', gs.SELULayer as unknown as LayerClass, {}],
  ['gelu', 'GELULayer', gs.GELULayer as unknown as LayerClass, { approximate: or(bool) }],
  ['silu', 'SiLULayer', gs.SiLULayer as unknown as LayerClass, {}],
];

export const initializerIds = fc.constantFrom('zeros', 'ones', 'nope', 5, 'glorotUniform');
export const bnArgs = {
  axis: fc.oneof(fc.constantFrom(-1, 1, 2, 0, -3, 1.5), numberArb),
  momentum: numberArb,
  epsilon: numberArb,
  unbiasedMovingVariance: or(bool),
  center: or(bool),
  scale: or(bool),
  betaInitializer: initializerIds,
  gammaInitializer: initializerIds,
  movingMeanInitializer: initializerIds,
  movingVarianceInitializer: initializerIds,
  betaRegularizer: fc.constantFrom('l1l2', 'nope', 5),
  gammaConstraint: fc.constantFrom('nonNeg', 'nope', 5),
  name: or(stringArb),
  trainable: or(bool),
};
/** The layer applied to an input whose rank fits its axis. */
export const bnWorks = (l: unknown) => {
  const axis = (l as gs.BatchNormalizationLayer).axis;
  const rank = Math.max(2, axis < 0 ? -axis + 1 : axis + 1);
  const shape = [4, ...new Array<number>(rank - 1).fill(1)];
  shape[axis < 0 ? rank + axis : axis] = 3; // 3 channels on the layer's axis, 1 elsewhere: small at any rank
  layerWorks(l, shape);
};

export const thresholds = Object.fromEntries(Object.keys(gs.DEFAULT_THRESHOLDS).map((k) => [k, numberArb]));
export const monitorOptions = optionsArb({
  every: numberArb,
  historySize: numberArb,
  sampleEvery: numberArb,
  layerOf: fc.constantFrom(
    (n: string) => n,
    (n: string) => n.split('/')[0],
    'x',
  ),
  thresholds: optionsArb(thresholds),
});
export const history = [
  { step: 1, globalNorm: 3, layers: [{ layer: 'dense', norm: 3, maxAbs: 1, nonFinite: 0 }] },
  { step: 2, globalNorm: 0, layers: [{ layer: 'dense', norm: 0, maxAbs: 0, nonFinite: 0 }] },
];
export const historyArb = or(
  fc.constant(history),
  fc.array(or(fc.record({ step: numberArb, globalNorm: numberArb, layers: anyArb })), { maxLength: 2 }),
);
export const plotOptions = { title: or(stringArb), width: numberArb, height: numberArb, maxColumns: numberArb };

/** Everything a disposed object is asked to do is a GradStabError saying so, never tfjs's "Tensor is disposed". */
export const mustFail = () => {
  throw new Error('a disposed object must refuse to work');
};
