import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  GradStabError,
  heNormal,
  heUniform,
  lecunNormal,
  lecunUniform,
  VarianceScaling,
  varianceScaling,
  xavierNormal,
  xavierUniform,
} from '../../src/index.js';
import { tensorsLeftBy, useCpu } from '../helpers/tf.js';

beforeAll(useCpu);
afterEach(() => tf.disposeVariables());

const fixtures = JSON.parse(readFileSync(new URL('../fixtures/initializers.json', import.meta.url), 'utf8')) as {
  stds: { kind: string; shape: number[]; mode?: string; nonlinearity?: string; param?: number | null; std: number }[];
};

/** Sample statistics of a drawn tensor (test-side read). */
function stats(t: tf.Tensor) {
  const v = t.dataSync();
  let sum = 0;
  let sq = 0;
  let maxAbs = 0;
  for (const x of v) {
    sum += x;
    sq += x * x;
    maxAbs = Math.max(maxAbs, Math.abs(x));
  }
  const mean = sum / v.length;
  t.dispose();
  return { mean, std: Math.sqrt(sq / v.length - mean * mean), maxAbs, n: v.length };
}

const KERNEL = [3, 3, 64, 128]; // 73,728 values; fanIn 576, fanOut 1152
const BIG = [400, 300]; // 120,000 values

describe('variance-scaling initializers: the exact target standard deviation', () => {
  it('matches the SEMANTICS.md vectors for a [3, 3, 64, 128] kernel', () => {
    expect(heNormal().standardDeviation(KERNEL)).toBeCloseTo(0.0589256, 7);
    expect(heUniform().standardDeviation(KERNEL) * Math.sqrt(3)).toBeCloseTo(0.1020621, 7);
    expect(xavierUniform().standardDeviation(KERNEL) * Math.sqrt(3)).toBeCloseTo(0.0589256, 7);
    expect(xavierNormal().standardDeviation(KERNEL)).toBeCloseTo(0.0340207, 7);
  });

  it.each(fixtures.stds.filter((s) => s.kind === 'kaiming_normal_'))(
    'heNormal equals torch kaiming_normal_ std: $shape $mode $nonlinearity $param',
    (s) => {
      const init = heNormal({
        layout: 'pytorch',
        mode: s.mode === 'fan_in' ? 'fanIn' : 'fanOut',
        nonlinearity: s.nonlinearity === 'relu' ? 'relu' : 'leakyRelu',
        ...(s.param == null ? {} : { negativeSlope: s.param }),
      });
      expect(init.standardDeviation(s.shape)).toBeCloseTo(s.std, 10);
    },
  );

  it.each([
    ['heNormal', heNormal(), 'normal'],
    ['xavierNormal', xavierNormal(), 'normal'],
    ['lecunNormal', lecunNormal(), 'normal'],
    ['heNormal truncated', heNormal({ distribution: 'truncatedNormal' }), 'truncated'],
    ['varianceScaling truncated (Keras)', varianceScaling({ scale: 2, distribution: 'truncatedNormal' }), 'truncated'],
    ['heUniform', heUniform(), 'uniform'],
    ['xavierUniform', xavierUniform(), 'uniform'],
    ['lecunUniform', lecunUniform(), 'uniform'],
  ] as const)('%s: sample std within 2%% of the target over 1.2e5 draws, bounds respected', (_, init, kind) => {
    const target = init.standardDeviation(BIG);
    const s = stats(init.apply(BIG));
    expect(s.n).toBeGreaterThanOrEqual(1e5);
    expect(Math.abs(s.std / target - 1)).toBeLessThan(0.02);
    expect(Math.abs(s.mean)).toBeLessThan(0.02 * target);
    if (kind === 'uniform') expect(s.maxAbs).toBeLessThanOrEqual(Math.sqrt(3) * target * (1 + 1e-6));
    if (kind === 'truncated') {
      expect(s.maxAbs).toBeLessThanOrEqual((2 * target) / 0.87962566103423978 + 1e-6);
    }
    if (kind === 'normal') expect(s.maxAbs).toBeGreaterThan(3 * target); // untruncated: tails beyond 2 sigma exist
  });

  it('fixes tfjs 4’s 12% too narrow heNormal (the truncation correction)', () => {
    const tfjs = stats(tf.initializers.heNormal({ seed: 1 }).apply(BIG));
    const ours = stats(heNormal({ distribution: 'truncatedNormal', seed: 1 }).apply(BIG));
    const target = heNormal().standardDeviation(BIG);
    expect(tfjs.std / target).toBeCloseTo(0.88, 1);
    expect(ours.std / target).toBeCloseTo(1, 1);
  });

  it('takes gain, nonlinearity, Keras scale, modes and layouts', () => {
    expect(heNormal({ mode: 'fanOut' }).standardDeviation([100, 50])).toBeCloseTo(Math.SQRT2 / Math.sqrt(50), 12);
    expect(xavierUniform({ nonlinearity: 'tanh' }).standardDeviation([100, 50])).toBeCloseTo(
      (5 / 3) * Math.sqrt(2 / 150),
      12,
    );
    expect(varianceScaling({ scale: 2, mode: 'fanAvg' }).standardDeviation([100, 50])).toBeCloseTo(
      Math.sqrt(2 / 75),
      12,
    );
    expect(lecunNormal({ gain: 3 }).standardDeviation([100, 50])).toBeCloseTo(0.3, 12);
    expect(heNormal({ layout: 'depthwise' }).standardDeviation([3, 3, 8, 1])).toBeCloseTo(Math.SQRT2 / 3, 12);
  });

  it('is reproducible with a seed and different without one', () => {
    const a = heNormal({ seed: 7 }).apply([50, 50]).dataSync();
    const b = heNormal({ seed: 7 }).apply([50, 50]).dataSync();
    const init = heNormal();
    const c = init.apply([50, 50]).dataSync();
    const d = init.apply([50, 50]).dataSync();
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(c)).not.toEqual(Array.from(d));
  });

  it('works as a tf.layers kernelInitializer and survives toJSON / loadLayersModel', async () => {
    const make = () =>
      tf.sequential({
        layers: [
          tf.layers.dense({
            units: 8,
            inputShape: [4],
            kernelInitializer: heNormal({ nonlinearity: 'leakyRelu', negativeSlope: 0.2, seed: 3 }),
          }),
          tf.layers.dense({
            units: 2,
            kernelInitializer: xavierUniform({ distribution: 'truncatedNormal', mode: 'fanOut', seed: 4 }),
          }),
        ],
      });
    const model = make();
    const json = model.toJSON(null, false) as Record<string, unknown>;
    const text = JSON.stringify(json);
    expect(text).toContain('GradStabVarianceScaling');
    const rebuilt = (await tf.models.modelFromJSON({ modelTopology: JSON.parse(text) })) as tf.LayersModel;
    const configs = rebuilt.layers.map((l) => (l.getConfig().kernelInitializer as { config: unknown }).config);
    expect(configs).toEqual([
      { gain: Math.sqrt(2 / 1.04), mode: 'fanIn', distribution: 'normal', layout: 'tfjs', seed: 3 },
      { gain: 1, mode: 'fanOut', distribution: 'truncatedNormal', layout: 'tfjs', seed: 4 },
    ]);
    // Seeded: the rebuilt model draws the same kernels.
    expect(rebuilt.getWeights()[0]?.dataSync()).toEqual(model.getWeights()[0]?.dataSync());
  });

  it('loads Keras-spelled configs (snake_case modes and distributions)', () => {
    const init = VarianceScaling.fromConfig(VarianceScaling, {
      scale: 2,
      mode: 'fan_out',
      distribution: 'truncated_normal',
      seed: null,
      customObjects: {},
    } as never) as VarianceScaling;
    expect(init.getConfig()).toEqual({
      gain: Math.SQRT2,
      mode: 'fanOut',
      distribution: 'truncatedNormal',
      layout: 'tfjs',
    });
  });

  it('leaves only its result', async () => {
    const init = heUniform();
    expect(await tensorsLeftBy(() => init.apply([10, 10]).dispose())).toBe(0);
  });

  it.each([
    [() => heNormal({ gain: -1 }), 'heNormal: gain must be a finite number > 0, got -1.'],
    [() => heNormal({ gain: 2, nonlinearity: 'relu' }), 'heNormal: give at most one of gain, nonlinearity and scale'],
    [() => heNormal({ nonlinearity: 'swish' as never }), 'heNormal: nonlinearity must be one of'],
    [
      () => heNormal({ mode: 'fan_avg2' as never }),
      "heNormal: mode must be 'fanIn', 'fanOut' or 'fanAvg', got \"fan_avg2\".",
    ],
    [
      () => xavierNormal({ distribution: 'cauchy' as never }),
      "xavierNormal: distribution must be 'normal', 'truncatedNormal' or 'uniform', got \"cauchy\".",
    ],
    [() => heNormal({ negativeSlope: 0.2 }), "heNormal: negativeSlope goes with nonlinearity: 'leakyRelu'"],
    [() => heNormal({ seed: Number.NaN }), 'heNormal: seed must be a finite number, got NaN.'],
    [() => heNormal({ scale: 2 } as never), 'heNormal: unknown option "scale"'],
    [() => varianceScaling({ scale: 0 }), 'varianceScaling: scale must be a finite number > 0, got 0.'],
    [() => heNormal().apply([4, 4], 'int32'), 'VarianceScaling.apply: dtype must be \'float32\', got "int32".'],
    [() => heNormal().apply([4, 0]), 'VarianceScaling.apply: shape must be an array of whole numbers > 0, got [4,0].'],
  ])('rejects bad options: %#', (make, message) => {
    expect(make).toThrow(GradStabError);
    expect(make).toThrow(message);
  });
});

describe('variance-scaling initializers name the function called, not an inner helper (issue 13)', () => {
  it.each([
    [() => heNormal({ nonlinearity: 5 as never }), 'heNormal: nonlinearity must be a string, got 5.'],
    [() => heNormal().apply([0, 3]), 'VarianceScaling.apply: shape must be an array of whole numbers > 0, got [0,3].'],
    [
      () => heNormal().apply(undefined as never),
      'VarianceScaling.apply: shape must be an array of whole numbers > 0, got undefined.',
    ],
    [
      () => xavierNormal().standardDeviation(new Array(2)),
      'VarianceScaling.standardDeviation: shape must be an array of whole numbers > 0, got [<empty>,<empty>].',
    ],
    [
      () => heUniform({ nonlinearity: 'leakyRelu', negativeSlope: 1e60 }),
      'heUniform: negativeSlope must give a gain that is > 0 and finite in float32, got 1e+60.',
    ],
    [() => lecunNormal({ gain: 1e39 }), 'lecunNormal: gain must be > 0 and finite in float32, got 1e+39.'],
    [
      () => varianceScaling({ scale: 1e-100 }),
      'varianceScaling: scale must give a gain that is > 0 and finite in float32, got 1e-100.',
    ],
    [
      () => heNormal({ seed: null } as never),
      'heNormal: seed must not be null (leave the key out or pass undefined instead), got null.',
    ],
    [() => new VarianceScaling(null as never), 'varianceScaling: options must be a plain object, got null.'],
  ])('%#', (make, message) => {
    expect(make).toThrow(new GradStabError(message));
  });
});
