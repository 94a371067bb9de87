import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import * as gs from '../src/index.js';
import {
  anyArb,
  checkEntry,
  type Entry,
  numberArb,
  objectOf,
  optionsArb,
  or,
  stringArb,
  tensorArb,
  tensorOf,
} from './helpers/fuzz.js';
import { activations, initializers, normalization } from './helpers/fuzz-entries.js';
import {
  batchArb,
  bool,
  call0,
  descriptionArb,
  gradMapArb,
  historyArb,
  limit,
  modelArb,
  monitorOptions,
  mustFail,
  normType,
  one,
  optimizerArb,
  optimizerWorks,
  plotOptions,
  positiveArb,
  randomBatchArb,
  savedOptimizerArb,
  savedWeightsArb,
  targetsArb,
  transformArb,
  transformWorks,
  variable,
  withValid,
  wrapped,
} from './helpers/fuzz-values.js';
import { useCpu } from './helpers/tf.js';

/**
 * Every public entry point (src/index.ts) against arbitrary input: it returns a working value or throws (rejects)
 * a GradStabError naming the function called; never another error, no hang, no leaked tensor, Object.prototype
 * untouched. See test/helpers/fuzz.ts for the generators and the property.
 *
 * Before the fixes of issue 13 it failed on most entry points, among them on the reported cases:
 * `clipByValue(8.8e-178)` zeroing every gradient, `autoClip({window: 2.9e301})` (a RangeError), a self-referencing
 * config in `transformToConfig` (a stack overflow), `withTransforms(undefined)` (a TypeError from tfjs),
 * `applyGradients(undefined)` and `observe(undefined)` (TypeErrors), `computeFans([,,,])` (NaN fans),
 * `heNormal().apply(-5.27e7)` naming computeFans, and `batchNormVariables` leaking its initial values.
 */

beforeAll(useCpu);

/** Rest arguments: the generated list, or the one value an example puts in that position. */
const listOf = (v: unknown): unknown[] => (Array.isArray(v) ? v : [v]);
const transforms: Entry[] = [
  {
    title: 'clipByValue',
    names: ['clipByValue'],
    args: one(or(numberArb, optionsArb({ min: numberArb, max: numberArb }))),
    call: call0(gs.clipByValue),
    works: transformWorks,
  },
  { title: 'clipByNorm', names: ['clipByNorm'], args: one(limit), call: call0(gs.clipByNorm), works: transformWorks },
  {
    title: 'clipByGlobalNorm',
    names: ['clipByGlobalNorm'],
    args: fc.tuple(limit, optionsArb({ normType })),
    call: call0(gs.clipByGlobalNorm),
    works: transformWorks,
  },
  {
    title: 'adaptiveGradClip',
    names: ['adaptiveGradClip'],
    args: one(
      optionsArb({
        clipping: numberArb,
        eps: numberArb,
        exclude: fc.constantFrom(/^w$/, /x/g, (n: string) => n === 'w', 'head', {}),
      }),
    ),
    call: call0(gs.adaptiveGradClip),
    works: transformWorks,
  },
  {
    title: 'autoClip',
    names: ['autoClip'],
    args: one(optionsArb({ percentile: numberArb, window: fc.oneof(fc.integer({ min: -2, max: 50 }), numberArb) })),
    call: call0(gs.autoClip),
    works: transformWorks,
  },
  {
    title: 'zClip',
    names: ['zClip'],
    args: one(optionsArb({ alpha: numberArb, zThreshold: numberArb, warmupSteps: numberArb, maxNorm: numberArb })),
    call: call0(gs.zClip),
    works: transformWorks,
  },
  {
    title: 'skipNonFinite',
    names: ['skipNonFinite'],
    args: one(optionsArb({ maxConsecutive: numberArb })),
    call: call0(gs.skipNonFinite),
    works: transformWorks,
  },
  {
    title: 'accumulateGradients',
    names: ['accumulateGradients'],
    args: one(optionsArb({ steps: fc.oneof(fc.integer({ min: -1, max: 4 }), numberArb) })),
    call: call0(gs.accumulateGradients),
    works: transformWorks,
  },
  {
    title: 'chain',
    names: ['chain'],
    args: fc.array(fc.oneof(transformArb, transformArb, anyArb), { maxLength: 3 }),
    call: call0(gs.chain),
    works: transformWorks,
  },
  {
    title: 'isGradientTransform',
    names: ['isGradientTransform'],
    args: one(or(transformArb)),
    call: call0(gs.isGradientTransform),
    works: (r) => expect(typeof r).toBe('boolean'),
  },
  {
    title: 'globalNorm',
    names: ['globalNorm'],
    args: fc.tuple(
      fc.oneof(gradMapArb, fc.array(fc.oneof(tensorArb, anyArb), { maxLength: 3 })),
      optionsArb({ normType }),
    ),
    call: call0(gs.globalNorm),
    works: (r) => expect((r as tf.Tensor).rank).toBe(0),
  },
  {
    title: 'transformToConfig',
    names: ['transformToConfig'],
    args: one(
      or(
        transformArb,
        fc.record({ kind: stringArb, config: anyArb }).map((r) => ({ ...r, init: () => ({}), update: () => ({}) })),
      ),
    ),
    call: call0(gs.transformToConfig),
    works: (r) => expect(() => JSON.stringify(r)).not.toThrow(),
  },
  {
    title: 'transformFromConfig',
    names: ['transformFromConfig'],
    args: one(descriptionArb),
    call: call0(gs.transformFromConfig),
    works: transformWorks,
  },
  {
    title: 'registerTransform, then transformFromConfig',
    names: ['registerTransform', 'transformFromConfig'],
    args: fc.tuple(
      or(fc.constantFrom('fuzzKind', 'fuzz_kind', 'clipByValue', '__proto__')),
      or(
        fc.constantFrom(
          () => gs.clipByNorm(1),
          () => null,
          () => ({ kind: 'fuzzKind' }),
          (c: Record<string, unknown>) => gs.clipByNorm(c.maxNorm as number),
        ),
      ),
      fc.oneof(fc.constant(undefined), fc.record({ maxNorm: positiveArb }), anyArb),
    ),
    call: ([kind, factory, config]) => {
      gs.registerTransform(kind as string, factory as gs.TransformFactory);
      return gs.transformFromConfig({ kind, config });
    },
    works: (t) => expect(gs.isGradientTransform(t)).toBe(true),
  },
  {
    title: 'gradientPipeline(...).apply',
    names: ['gradientPipeline', 'gradientPipeline.apply'],
    args: fc.tuple(
      fc.array(fc.oneof(transformArb, anyArb), { maxLength: 2 }),
      gradMapArb,
      fc.oneof(gradMapArb, fc.constant(undefined)),
    ),
    call: ([ts, grads, params], own) => {
      const pipeline = own.add(gs.gradientPipeline(...(listOf(ts) as gs.GradientTransform[])));
      variable(own);
      const out = pipeline.apply(grads as tf.NamedTensorMap, params as tf.NamedTensorMap);
      return out.grads;
    },
  },
  {
    title: 'gradientPipeline(...).setState',
    names: ['gradientPipeline', 'gradientPipeline.setState'],
    args: fc.tuple(
      transformArb,
      or(
        fc
          .array(
            fc.tuple(
              fc.constantFrom('count', 'sum/0', '0/count', '__proto__', 'history', 'norm'),
              fc.oneof(tensorArb, anyArb),
            ),
          )
          .map(objectOf),
      ),
    ),
    call: ([t, values], own) => {
      const pipeline = own.add(gs.gradientPipeline(t as gs.GradientTransform));
      pipeline.setState(values as Record<string, tf.Tensor>);
      return undefined;
    },
  },
];

const optimizers: Entry[] = [
  {
    title: 'withTransforms',
    names: ['withTransforms'],
    args: fc.tuple(or(optimizerArb), fc.array(fc.oneof(transformArb, transformArb, anyArb), { maxLength: 2 })),
    call: ([o, ts]) => gs.withTransforms(o as tf.Optimizer, ...(listOf(ts) as gs.GradientTransform[])),
    works: optimizerWorks,
  },
  {
    title: 'new TransformedOptimizer',
    names: ['TransformedOptimizer', 'withTransforms'],
    args: fc.tuple(or(optimizerArb), or(fc.array(fc.oneof(transformArb, anyArb), { maxLength: 2 }))),
    call: ([o, ts]) => new gs.TransformedOptimizer(o as tf.Optimizer, ts as gs.GradientTransform[]),
    works: optimizerWorks,
  },
  {
    title: 'clipOptimizer',
    names: ['clipOptimizer'],
    args: fc.tuple(
      or(optimizerArb),
      fc.oneof(
        fc
          .tuple(fc.constantFrom('clipValue', 'clipNorm', 'globalClipNorm'), positiveArb)
          .map(([k, v]) => objectOf([[k, v]])),
        optionsArb({ clipValue: numberArb, clipNorm: numberArb, globalClipNorm: numberArb }),
      ),
    ),
    call: call0(gs.clipOptimizer),
    works: optimizerWorks,
  },
  {
    title: 'TransformedOptimizer.fromConfig',
    names: ['TransformedOptimizer.fromConfig'],
    args: one(
      or(
        savedOptimizerArb,
        savedOptimizerArb,
        fc.record(
          {
            optimizer: or(
              fc.record(
                {
                  className: fc.constantFrom('SGD', 'Adam', 'constructor', 'toString', 'Dense', '__proto__', 'Nope'),
                  config: or(fc.record({ learningRate: or(numberArb) }, { requiredKeys: [] })),
                },
                { requiredKeys: [] },
              ),
            ),
            transforms: or(fc.array(descriptionArb, { maxLength: 2 })),
          },
          { requiredKeys: [] },
        ),
      ),
    ),
    call: ([config]) =>
      gs.TransformedOptimizer.fromConfig(gs.TransformedOptimizer, config as tf.serialization.ConfigDict),
    works: optimizerWorks,
  },
  {
    title: 'TransformedOptimizer.applyGradients',
    names: ['TransformedOptimizer.applyGradients'],
    args: one(gradMapArb),
    call: ([grads], own) => {
      const opt = wrapped(own);
      variable(own);
      opt.applyGradients(grads as tf.NamedTensorMap);
      return undefined;
    },
  },
  {
    title: 'TransformedOptimizer.setWeights',
    names: ['TransformedOptimizer.setWeights'],
    async: true,
    args: one(
      or(
        savedWeightsArb,
        savedWeightsArb,
        fc.array(
          or(
            fc.record({
              name: fc.constantFrom(
                'iter',
                '__gradstab__/0/consecutive',
                '__gradstab__/1/count',
                '__gradstab__/1/sum/0',
                '__gradstab__/1/sum/99',
                '__gradstab__/__proto__',
                '__gradstab__/7/x',
              ),
              tensor: fc.oneof(tensorArb, fc.constant(tensorOf([], 'int32', 0))),
            }),
          ),
          { maxLength: 3 },
        ),
      ),
    ),
    call: ([weights], own) => wrapped(own).setWeights(weights as { name: string; tensor: tf.Tensor }[]),
  },
];

const monitor: Entry[] = [
  {
    title: 'new GradientHealthMonitor',
    names: ['GradientHealthMonitor'],
    args: one(monitorOptions),
    call: ([o]) => new gs.GradientHealthMonitor(o as gs.GradientHealthMonitorOptions),
    works: async (m, own) => {
      const monitor = m as gs.GradientHealthMonitor;
      const w = variable(own);
      for (let i = 0; i < 3; i++) {
        const g = own.add(tf.fill([2, 3], 0.1 * (i + 1)));
        monitor.observe({ [w.name]: g }, { [w.name]: w });
      }
      await monitor.flush();
      expect(monitor.report()).toBeDefined();
    },
  },
  {
    title: 'GradientHealthMonitor.observe',
    names: ['GradientHealthMonitor.observe'],
    args: fc.tuple(gradMapArb, fc.oneof(fc.constant(undefined), gradMapArb)),
    call: ([grads, params], own) => {
      const m = own.add(new gs.GradientHealthMonitor());
      variable(own);
      m.observe(grads as tf.NamedTensorMap, params as tf.NamedTensorMap);
      return m.flush();
    },
  },
  ...(['on', 'off'] as const).map(
    (method): Entry => ({
      title: `GradientHealthMonitor.${method}`,
      names: [`GradientHealthMonitor.${method}`],
      args: fc.tuple(or(fc.constantFrom('vanishing', 'spike', 'bogus')), or(fc.constant(() => {}))),
      call: ([name, handler]) =>
        new gs.GradientHealthMonitor()[method](name as gs.MonitorEventName, handler as () => void),
    }),
  ),
  {
    title: 'GradientHealthMonitor.callback',
    names: ['GradientHealthMonitor.callback'],
    args: one(optionsArb({ stopOnNonFinite: bool })),
    call: ([o]) => new gs.GradientHealthMonitor().callback(o as gs.MonitorCallbackOptions),
  },
  {
    title: 'gradientHealthSpec',
    names: ['gradientHealthSpec'],
    args: fc.tuple(historyArb, optionsArb(plotOptions)),
    call: call0(gs.gradientHealthSpec),
    works: (spec) => expect(() => JSON.stringify(spec)).not.toThrow(),
  },
  {
    title: 'renderGradientHealthSvg',
    names: ['renderGradientHealthSvg'],
    async: true,
    runs: 20,
    args: fc.tuple(historyArb, optionsArb({ ...plotOptions, modules: anyArb })),
    call: call0(gs.renderGradientHealthSvg),
    works: (svg) => expect(String(svg).startsWith('<svg')).toBe(true),
  },
  {
    title: 'writeGradientHealthSvg',
    names: ['writeGradientHealthSvg'],
    async: true,
    runs: 20,
    args: fc.tuple(
      historyArb,
      or(fc.constant(join(tmpdir(), 'gradstab-fuzz.svg'))).filter(
        (p) => typeof p !== 'string' || p === '' || p.startsWith(tmpdir()),
      ),
      optionsArb(plotOptions),
    ),
    call: call0(gs.writeGradientHealthSvg),
  },
  {
    title: 'probeActivations',
    names: ['probeActivations'],
    async: true,
    runs: 40,
    args: withValid(
      fc.tuple(modelArb, randomBatchArb, fc.constant(undefined)),
      fc.tuple(
        or(modelArb, modelArb),
        batchArb,
        optionsArb({
          maxDeadFraction: or(fc.double({ min: 0, max: 1, noNaN: true }), numberArb),
          maxSaturatedFraction: or(fc.double({ min: 0, max: 1, noNaN: true }), numberArb),
          sigmoidMargin: or(fc.double({ min: 0.01, max: 0.49, noNaN: true }), numberArb),
          tanhLimit: or(fc.double({ min: 0.01, max: 0.99, noNaN: true }), numberArb),
        }),
      ),
    ),
    call: call0(gs.probeActivations),
  },
  {
    title: 'lrRangeTest',
    names: ['lrRangeTest'],
    async: true,
    runs: 60,
    args: withValid(
      fc.tuple(
        modelArb,
        fc.record({ x: randomBatchArb, y: targetsArb }),
        fc.constant({ loss: 'meanSquaredError', optimizer: (lr: number) => tf.train.sgd(lr), steps: 5 }),
      ),
      fc.tuple(
        or(modelArb),
        or(fc.record({ x: batchArb, y: or(targetsArb, batchArb) }), fc.record({ x: fc.array(batchArb), y: batchArb })),
        optionsArb({
          minLearningRate: or(fc.double({ min: 1e-8, max: 1, noNaN: true }), numberArb),
          maxLearningRate: or(fc.double({ min: 1e-3, max: 100, noNaN: true }), numberArb),
          steps: or(fc.integer({ min: 5, max: 8 }), numberArb),
          batchSize: or(fc.integer({ min: 1, max: 16 }), numberArb),
          smoothing: or(fc.double({ min: 0, max: 0.99, noNaN: true }), numberArb),
          divergeFactor: or(fc.double({ min: 1.1, max: 10, noNaN: true }), numberArb),
          loss: or(
            fc.constantFrom('meanSquaredError', 'nope'),
            fc.constant((a: tf.Tensor, b: tf.Tensor) => tf.losses.meanSquaredError(a, b)),
          ),
          optimizer: or(
            fc.constant((lr: number) => tf.train.sgd(lr)),
            fc.constant(() => 'adam'),
          ),
          onProgress: or(fc.constant(() => {})),
          signal: or(fc.constant(new AbortController().signal)),
        }),
      ),
    ),
    call: call0(gs.lrRangeTest),
    works: (found) => {
      const r = found as gs.LrRangeTestResult;
      expect(r.learningRates.length).toBeGreaterThan(0);
      expect(r.losses.length).toBe(r.learningRates.length);
    },
  },
  {
    title: 'diagnose',
    names: ['diagnose'],
    async: true,
    runs: 30,
    args: withValid(
      fc.tuple(
        modelArb,
        fc.record({ x: randomBatchArb, y: targetsArb }),
        fc.constant({
          loss: 'meanSquaredError',
          optimizer: () => tf.train.sgd(0.1),
          steps: 10,
          rangeSteps: 0,
          maxCandidates: 1,
        }),
      ),
      fc.tuple(
        or(modelArb),
        or(fc.record({ x: batchArb, y: or(targetsArb, batchArb) }), fc.record({ x: fc.array(batchArb), y: batchArb })),
        optionsArb({
          steps: or(fc.integer({ min: 10, max: 12 }), numberArb),
          rangeSteps: or(fc.constantFrom(0, 5), numberArb),
          batchSize: or(fc.integer({ min: 1, max: 16 }), numberArb),
          heldOutFraction: or(fc.double({ min: 0.1, max: 0.5, noNaN: true }), numberArb),
          maxExamples: or(fc.integer({ min: 2, max: 64 }), numberArb),
          verify: or(fc.boolean(), anyArb),
          shuffle: or(fc.boolean(), anyArb),
          maxCandidates: or(fc.integer({ min: 1, max: 2 }), numberArb),
          minImprovement: or(fc.double({ min: 0, max: 0.5, noNaN: true }), numberArb),
          seed: or(fc.integer({ min: 0, max: 100 }), numberArb),
          loss: or(
            fc.constantFrom('meanSquaredError', 'nope'),
            fc.constant((a: tf.Tensor, b: tf.Tensor) => tf.losses.meanSquaredError(a, b)),
          ),
          optimizer: or(
            fc.constant(() => tf.train.sgd(0.1)),
            fc.constant(() => 'adam'),
            fc.constant(tf.train.adam(0.01)),
          ),
          onProgress: or(fc.constant(() => {})),
          signal: or(fc.constant(new AbortController().signal)),
        }),
      ),
    ),
    call: call0(gs.diagnose),
    works: (found) => {
      const d = found as gs.Diagnosis;
      expect(typeof d.healthy).toBe('boolean');
      expect(d.measurements.losses.length).toBeGreaterThan(0);
      expect(() => JSON.stringify(d)).not.toThrow();
    },
  },
];

const disposed: Entry[] = [
  {
    title: 'TransformedOptimizer methods after dispose',
    names: ['applyGradients', 'getWeights', 'setWeights', 'readState'].map((m) => `TransformedOptimizer.${m}`),
    args: fc.tuple(fc.constantFrom('applyGradients', 'getWeights', 'setWeights', 'readState'), gradMapArb),
    call: ([method, arg], own) => {
      const opt = wrapped(own);
      variable(own);
      opt.dispose();
      const methods = ['applyGradients', 'getWeights', 'setWeights', 'readState'];
      const name = methods.includes(method as string) ? (method as string) : 'applyGradients'; // examples put junk here
      return (opt as unknown as Record<string, (a: unknown) => unknown>)[name]?.(arg);
    },
    works: mustFail,
  },
  {
    title: 'gradientPipeline methods after dispose',
    names: ['gradientPipeline.apply', 'gradientPipeline.setState'],
    args: fc.tuple(fc.constantFrom('apply', 'setState'), gradMapArb),
    call: ([method, arg], own) => {
      const pipeline = gs.gradientPipeline(gs.skipNonFinite(), gs.autoClip({ window: 4 }));
      variable(own);
      pipeline.dispose();
      return method === 'apply' ? pipeline.apply(arg as tf.NamedTensorMap) : pipeline.setState(arg as never);
    },
    works: mustFail,
  },
  {
    title: 'GradientHealthMonitor.observe after dispose',
    names: ['GradientHealthMonitor.observe'],
    args: one(gradMapArb),
    call: ([grads], own) => {
      const monitor = new gs.GradientHealthMonitor();
      variable(own);
      monitor.dispose();
      return monitor.observe(grads as tf.NamedTensorMap);
    },
    works: mustFail,
  },
];

describe('every public entry point answers arbitrary input with a working value or a GradStabError naming it', () => {
  for (const [group, entries] of Object.entries({
    transforms,
    optimizers,
    initializers,
    activations,
    normalization,
    monitor,
    disposed,
  })) {
    describe(group, () => {
      for (const entry of entries) it(entry.title, () => checkEntry(entry));
    });
  }
});
