import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { expect } from 'vitest';
import * as gs from '../../src/index.js';
import {
  anyArb,
  type Entry,
  Made,
  numberArb,
  type Owned,
  onesVariable,
  optionsArb,
  or,
  stringArb,
  tensorArb,
  tensorOf,
} from './fuzz.js';
import {
  activationLayers,
  batchArb,
  bnArgs,
  bnWorks,
  bool,
  call0,
  families,
  initializerWorks,
  initOptions,
  layerArgs,
  layerWorks,
  modelArb,
  nonlinearityArb,
  one,
  positiveArb,
  randomBatchArb,
  rowsOf,
  shapeArb,
  stepArb,
  withValid,
} from './fuzz-values.js';

/** The entry points of the property test (test/fuzz.test.ts) for initializers, activations and normalization. */
export const initializers: Entry[] = [
  {
    title: 'computeFans',
    names: ['computeFans'],
    args: fc.tuple(shapeArb, or(fc.constantFrom('tfjs', 'pytorch', 'depthwise'))),
    call: call0(gs.computeFans),
    works: (r) => {
      const { fanIn, fanOut } = r as gs.Fans;
      expect(Number.isFinite(fanIn) && fanIn > 0 && Number.isFinite(fanOut) && fanOut > 0).toBe(true);
    },
  },
  {
    title: 'calculateGain',
    names: ['calculateGain'],
    args: fc.tuple(or(nonlinearityArb, stringArb), fc.oneof(fc.constant(undefined), numberArb, anyArb)),
    call: call0(gs.calculateGain),
    works: (r) => expect(Number.isFinite(r) && (r as number) > 0).toBe(true),
  },
  {
    title: 'initializerFor',
    names: ['initializerFor'],
    args: fc.tuple(
      or(fc.constantFrom('relu', 'leakyRelu', 'LeakyReLU', 'tanh', 'sigmoid', 'selu', 'softmax', 'gelu'), stringArb),
      optionsArb({ negativeSlope: numberArb, seed: numberArb }),
    ),
    call: call0(gs.initializerFor),
    works: initializerWorks,
  },
  {
    title: 'varianceScaling',
    names: ['varianceScaling'],
    args: fc.tuple(optionsArb({ scale: numberArb, gain: numberArb, mode: stringArb, seed: numberArb })),
    call: call0(gs.varianceScaling),
    works: initializerWorks,
  },
  {
    title: 'new VarianceScaling',
    names: ['VarianceScaling', 'varianceScaling'],
    args: one(initOptions),
    call: ([o]) => new gs.VarianceScaling(o as gs.VarianceScalingOptions),
    works: initializerWorks,
  },
  ...Object.entries(families).map(
    ([name, factory]): Entry => ({
      title: name,
      names: [name],
      args: one(initOptions),
      call: call0(factory),
      works: initializerWorks,
    }),
  ),
  {
    title: 'orthogonal',
    names: ['orthogonal'],
    args: one(optionsArb({ gain: numberArb, seed: numberArb })),
    call: call0(gs.orthogonal),
    works: initializerWorks,
  },
  {
    title: 'VarianceScaling.fromConfig',
    names: ['VarianceScaling.fromConfig', 'varianceScaling'],
    args: one(or(initOptions, optionsArb({ scale: numberArb, customObjects: anyArb }))),
    call: ([c]) => gs.VarianceScaling.fromConfig(gs.VarianceScaling, c as tf.serialization.ConfigDict),
    works: initializerWorks,
  },
  {
    title: 'Orthogonal.fromConfig',
    names: ['Orthogonal.fromConfig', 'orthogonal'],
    args: one(or(optionsArb({ gain: numberArb, seed: numberArb, customObjects: anyArb }))),
    call: ([c]) => gs.Orthogonal.fromConfig(gs.Orthogonal, c as tf.serialization.ConfigDict),
    works: initializerWorks,
  },
  {
    title: 'new Orthogonal',
    names: ['Orthogonal', 'orthogonal'],
    args: one(optionsArb({ gain: numberArb, seed: numberArb })),
    call: ([o]) => new gs.Orthogonal(o as gs.OrthogonalOptions),
    works: initializerWorks,
  },
  {
    title: 'VarianceScaling.apply',
    names: ['VarianceScaling.apply'],
    args: fc.tuple(shapeArb, or(fc.constantFrom('float32', 'int32'))),
    call: ([shape, dtype]) => gs.heNormal({ seed: 1 }).apply(shape as number[], dtype as tf.DataType),
    works: (t) => expect(Array.from((t as tf.Tensor).dataSync()).every(Number.isFinite)).toBe(true),
  },
  {
    title: 'VarianceScaling.standardDeviation',
    names: ['VarianceScaling.standardDeviation'],
    args: one(shapeArb),
    call: ([shape]) => gs.xavierNormal().standardDeviation(shape as number[]),
    works: (r) => expect(Number.isFinite(r) && (r as number) > 0).toBe(true),
  },
  {
    title: 'Orthogonal.apply',
    names: ['Orthogonal.apply'],
    args: fc.tuple(shapeArb, or(fc.constantFrom('float32', 'int32'))),
    call: ([shape, dtype]) => gs.orthogonal({ seed: 1 }).apply(shape as number[], dtype as tf.DataType),
    works: (t) => expect(Array.from((t as tf.Tensor).dataSync()).every(Number.isFinite)).toBe(true),
  },
  {
    title: 'lsuv',
    names: ['lsuv'],
    async: true,
    runs: 40,
    args: withValid(
      fc.tuple(
        modelArb,
        randomBatchArb,
        fc.record({ seed: fc.integer(), measure: fc.constantFrom('preActivation', 'output') }, { requiredKeys: [] }),
      ),
      fc.tuple(
        or(modelArb, modelArb),
        batchArb,
        optionsArb({
          tolerance: or(fc.double({ min: 0.01, max: 0.5, noNaN: true }), numberArb),
          maxIterations: or(fc.integer({ min: 1, max: 3 }), numberArb),
          orthogonalInit: bool,
          seed: or(fc.integer(), numberArb),
          minUnits: or(fc.integer({ min: 0, max: 40 }), numberArb),
          measure: fc.constantFrom('preActivation', 'output', 'output', 'bogus'),
        }),
      ),
    ),
    call: call0(gs.lsuv),
    works: (r) => {
      const report = r as gs.LsuvReport;
      expect(report.layers.length).toBe(2);
      for (const l of report.layers) if (l.status === 'dead') expect(l.varianceBefore).not.toBeNull();
    },
  },
  {
    title: 'lsuvVariables',
    names: ['lsuvVariables'],
    async: true,
    runs: 40,
    args: withValid(
      fc.tuple(fc.array(stepArb, { maxLength: 2 }), randomBatchArb, fc.constant({ seed: 1 })),
      fc.tuple(
        or(
          fc.array(
            or(
              fc.constant(
                new Made('step', (own: Owned) => {
                  const kernel = own.add(onesVariable([3, 40]));
                  return { name: 'step', kernel, output: (x: unknown) => tf.matMul(rowsOf(x), kernel) };
                }),
              ),
              fc.record(
                {
                  name: or(stringArb),
                  kernel: or(fc.constant(new Made('kernel', (own: Owned) => own.add(onesVariable([3, 40]))))),
                  output: fc.constantFrom(
                    (x: tf.Tensor) => tf.matMul(x, tf.ones([3, 40])),
                    () => 5,
                    (x: tf.Tensor) => x,
                  ),
                },
                { requiredKeys: [] },
              ),
            ),
            { maxLength: 2 },
          ),
        ),
        batchArb,
        optionsArb({
          tolerance: or(fc.double({ min: 0.01, max: 0.5, noNaN: true }), numberArb),
          maxIterations: fc.integer({ min: 0, max: 3 }),
          minUnits: or(fc.integer({ min: 0, max: 40 }), numberArb),
        }),
      ),
    ),
    call: call0(gs.lsuvVariables),
  },
];

export const activations: Entry[] = [
  ...(['relu', 'selu', 'silu'] as const).map(
    (name): Entry => ({
      title: `activations.${name}`,
      names: [`activations.${name}`],
      args: fc.tuple(or(tensorArb), anyArb),
      call: ([x]) => gs.activations[name](x as tf.Tensor),
    }),
  ),
  ...(['leakyRelu', 'elu', 'gelu'] as const).map(
    (name): Entry => ({
      title: `activations.${name}`,
      names: [`activations.${name}`],
      args: fc.tuple(or(tensorArb), optionsArb(name === 'gelu' ? { approximate: bool } : { alpha: numberArb })),
      call: ([x, o]) => (gs.activations[name] as (x: unknown, o: unknown) => tf.Tensor)(x, o),
    }),
  ),
  ...activationLayers.flatMap(([factory, name, Cls, own]): Entry[] => [
    {
      title: `layers.${factory}`,
      names: [`layers.${factory}`],
      args: one(optionsArb({ ...layerArgs, ...own })),
      call: ([a]) => (gs.layers[factory] as (a: unknown) => tf.layers.Layer)(a),
      works: (l) => layerWorks(l),
    },
    {
      title: `new ${name}`,
      names: [name, `layers.${factory}`],
      args: one(optionsArb({ ...layerArgs, ...own })),
      call: ([a]) => new Cls(a as gs.LayerArgs),
      works: (l) => layerWorks(l),
    },
    {
      title: `${name}.fromConfig`,
      names: [`${name}.fromConfig`, `layers.${factory}`],
      args: one(or(optionsArb({ ...layerArgs, ...own }))),
      call: ([c]) => Cls.fromConfig(Cls, c as tf.serialization.ConfigDict),
      works: (l) => layerWorks(l),
    },
  ]),
];

export const normalization: Entry[] = [
  {
    title: 'layers.batchNormalization',
    names: ['layers.batchNormalization'],
    args: one(optionsArb(bnArgs)),
    call: ([a]) => gs.layers.batchNormalization(a as gs.BatchNormalizationLayerArgs),
    works: bnWorks,
  },
  {
    title: 'new BatchNormalizationLayer',
    names: ['BatchNormalizationLayer', 'layers.batchNormalization'],
    args: one(optionsArb(bnArgs)),
    call: ([a]) => new gs.BatchNormalizationLayer(a as gs.BatchNormalizationLayerArgs),
    works: bnWorks,
  },
  {
    title: 'BatchNormalizationLayer.fromConfig',
    names: ['BatchNormalizationLayer.fromConfig', 'layers.batchNormalization'],
    args: one(or(optionsArb(bnArgs))),
    call: ([c]) => gs.BatchNormalizationLayer.fromConfig(gs.BatchNormalizationLayer, c as tf.serialization.ConfigDict),
    works: bnWorks,
  },
  {
    title: 'pytorchBatchNormArgs',
    names: ['pytorchBatchNormArgs'],
    args: one(optionsArb({ momentum: numberArb, eps: numberArb })),
    call: call0(gs.pytorchBatchNormArgs),
    works: (r) => expect(() => gs.layers.batchNormalization(r as gs.BatchNormalizationLayerArgs)).not.toThrow(),
  },
  {
    title: 'batchNormVariables',
    names: ['batchNormVariables'],
    args: fc.tuple(or(fc.integer({ min: 0, max: 4 })), optionsArb({ scale: bool, center: bool, name: or(stringArb) })),
    call: call0(gs.batchNormVariables),
  },
  {
    title: 'batchNorm',
    names: ['batchNorm'],
    args: fc.tuple(
      fc.oneof({ arbitrary: fc.constant(tensorOf([4, 3])), weight: 4 }, tensorArb, anyArb),
      or(
        fc.record(
          { gamma: or(fc.constant(tensorOf([3]))), beta: or(fc.constant(tensorOf([3]))) },
          { requiredKeys: [] },
        ),
      ),
      or(fc.record({ movingMean: or(fc.constant(tensorOf([3]))), movingVariance: or(fc.constant(tensorOf([3]))) })),
      fc.oneof(
        fc.record({ training: bool }),
        optionsArb({
          training: or(bool),
          axis: or(fc.constantFrom(-1, 1), numberArb),
          momentum: or(fc.double({ min: 0, max: 0.999, noNaN: true }), numberArb),
          epsilon: or(positiveArb),
          unbiasedMovingVariance: bool,
        }),
      ),
    ),
    call: call0(gs.batchNorm),
  },
];
