import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { activationIdentifiers } from '../../src/activations/identifiers.js';
import { GradStabError } from '../../src/errors.js';
import { layers } from '../../src/layers.js';
import {
  type ActivationProbe,
  type LayerActivationStats,
  type ProbeOptions,
  probeActivations,
} from '../../src/monitor/probe.js';
import { countAsyncReads, countBlockingReads, tensorsLeftBy, useCpu, values } from '../helpers/tf.js';

beforeAll(useCpu);
afterEach(() => tf.disposeVariables());

type Layer = tf.layers.Layer;

const small = (seed: number) => tf.initializers.randomUniform({ minval: -0.01, maxval: 0.01, seed });
const normal = (stddev: number, seed: number) => tf.initializers.randomNormal({ mean: 0, stddev, seed });
const constant = (value: number) => tf.initializers.constant({ value });

function stats(probe: ActivationProbe, name: string): LayerActivationStats {
  const found = probe.layers.find((l) => l.layer === name);
  if (!found) throw new Error(`no layer ${name} in ${probe.layers.map((l) => l.layer)}`);
  return found;
}

/** The layer's real output on the batch, through the model's own layers (test-side, independent of the probe). */
function outputOf(model: tf.LayersModel, of: Layer | tf.SymbolicTensor, x: tf.Tensor | tf.Tensor[]): number[] {
  return tf.tidy(() => {
    const output = of instanceof tf.SymbolicTensor ? of : (of.output as tf.SymbolicTensor);
    const sub = tf.model({ inputs: model.inputs, outputs: output });
    return values(sub.predict(x) as tf.Tensor);
  });
}

/** Mean and population std in float64 on the host. */
function hostMoments(xs: number[]): { mean: number; std: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return { mean, std: Math.sqrt(xs.reduce((a, v) => a + (v - mean) ** 2, 0) / xs.length) };
}

/** Fraction of units (last axis) that are <= 0 everywhere, on the host. */
function hostDeadFraction(xs: number[], units: number): number {
  let dead = 0;
  for (let u = 0; u < units; u++) {
    let alive = false;
    for (let i = u; i < xs.length; i += units) if ((xs[i] as number) > 0) alive = true;
    if (!alive) dead++;
  }
  return dead / units;
}

/** A ReLU MLP 8 -> 16 -> 16 -> 1 with small weights and the given hidden biases. */
function mlp(bias: number): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.dense({
        name: 'h1',
        units: 16,
        inputShape: [8],
        activation: 'relu',
        kernelInitializer: small(1),
        biasInitializer: constant(bias),
      }),
      tf.layers.dense({
        name: 'h2',
        units: 16,
        activation: 'relu',
        kernelInitializer: small(2),
        biasInitializer: constant(bias),
      }),
      tf.layers.dense({ name: 'head', units: 1, kernelInitializer: small(3) }),
    ],
  });
}

const batch = () => tf.randomNormal([64, 8], 0, 1, 'float32', 7);

describe('probeActivations: dead ReLU units', () => {
  it('reports ReLU layers with large negative biases dead, with the deadUnits verdict', async () => {
    const model = mlp(-10);
    const probe = await probeActivations(model, batch());
    for (const name of ['h1', 'h2']) {
      const l = stats(probe, name);
      expect(l).toMatchObject({ className: 'Dense', activation: 'relu', family: 'relu', units: 16, shape: [64, 16] });
      expect(l.deadFraction).toBe(1);
      expect(l.saturatedFraction).toBeNull();
      expect(l.mean).toBe(0);
      expect(l.std).toBe(0);
      expect(l.verdicts).toEqual(['deadUnits']);
    }
    expect(stats(probe, 'head')).toMatchObject({ family: 'other', activation: 'linear', deadFraction: null });
    expect(stats(probe, 'head').verdicts).toEqual([]);
    expect(probe.verdicts.map((v) => [v.kind, v.layer])).toEqual([
      ['deadUnits', 'h1'],
      ['deadUnits', 'h2'],
    ]);
    expect(probe.verdicts[0]?.figures).toEqual({ deadFraction: 1, deadUnits: 16, units: 16, maxDeadFraction: 0.5 });
    expect(probe.verdicts[0]?.reason).toBe(
      'h1 (Dense, relu): 16 of 16 units output <= 0 on every example of the batch, ' +
        'deadFraction 1 > maxDeadFraction 0.5.',
    );
    expect(probe.skipped).toEqual([]);
  });

  it('gives no deadUnits verdict to the same model with zero biases', async () => {
    const model = mlp(0);
    const x = batch();
    const probe = await probeActivations(model, x);
    expect(probe.verdicts).toEqual([]);
    for (const name of ['h1', 'h2']) {
      const l = stats(probe, name);
      expect(l.deadFraction as number).toBeLessThan(0.5);
      expect(l.deadFraction).toBeCloseTo(hostDeadFraction(outputOf(model, model.getLayer(name), x), 16), 6);
    }
  });

  it('counts a unit dead only if it is <= 0 on every example; the verdict needs more than maxDeadFraction', async () => {
    const model = tf.sequential({
      layers: [tf.layers.dense({ name: 'd', units: 4, inputShape: [2], activation: 'relu' })],
    });
    // Unit 0: always -1 (dead). Unit 1: x0 - 0.5, positive on the second example only. Units 2, 3: always 0 (dead).
    model.getLayer('d').setWeights([
      tf.tensor2d([
        [0, 1, 0, 0],
        [0, 0, 0, 0],
      ]),
      tf.tensor1d([-1, -0.5, 0, 0]),
    ]);
    const x = tf.tensor2d([
      [0, 0],
      [1, 0],
      [0, 0],
    ]);
    const probe = await probeActivations(model, x);
    expect(stats(probe, 'd').deadFraction).toBe(0.75);
    expect(probe.verdicts.map((v) => v.figures)).toEqual([
      { deadFraction: 0.75, deadUnits: 3, units: 4, maxDeadFraction: 0.5 },
    ]);
    expect((await probeActivations(model, x, { maxDeadFraction: 0.75 })).verdicts).toEqual([]);
    expect((await probeActivations(model, x, { maxDeadFraction: 1 })).verdicts).toEqual([]);
    const half = tf.tensor2d([
      [0, 0],
      [1, 0],
    ]);
    model.getLayer('d').setWeights([
      tf.tensor2d([
        [0, 1, 0, 1],
        [0, 0, 0, 0],
      ]),
      tf.tensor1d([-1, -0.5, 0, 0]),
    ]);
    expect(stats(await probeActivations(model, half), 'd').deadFraction).toBe(0.5);
    expect((await probeActivations(model, half)).verdicts).toEqual([]); // 0.5 is not > 0.5
    expect((await probeActivations(model, half, { maxDeadFraction: 0 })).verdicts).toHaveLength(1);
  });

  it('treats the units of a conv2d + relu as its channels (last axis), dead at every example and position', async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ name: 'conv', inputShape: [3, 3, 1], filters: 4, kernelSize: 1, activation: 'relu' }),
      ],
    });
    // Channel 0: always -1. Channel 1: x - 0.5, positive at one pixel of one example. Channel 2: x + 1. Channel 3: 0.
    model.getLayer('conv').setWeights([tf.tensor4d([0, 1, 1, 0], [1, 1, 1, 4]), tf.tensor1d([-1, -0.5, 1, 0])]);
    const pixels = new Array(18).fill(0);
    pixels[13] = 1; // example 1, row 1, column 1
    const x = tf.tensor4d(pixels, [2, 3, 3, 1]);
    const l = stats(await probeActivations(model, x), 'conv');
    expect(l).toMatchObject({ className: 'Conv2D', family: 'relu', units: 4, shape: [2, 3, 3, 4] });
    expect(l.deadFraction).toBe(0.5); // channels 0 and 3
    expect(l.deadFraction).toBe(hostDeadFraction(outputOf(model, model.getLayer('conv'), x), 4));
  });

  it('takes axis 1 as the units of a channels-first convolution', async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({
          name: 'conv',
          inputShape: [1, 3, 3],
          dataFormat: 'channelsFirst',
          filters: 3,
          kernelSize: 1,
          activation: 'relu',
        }),
      ],
    });
    model.getLayer('conv').setWeights([tf.zeros([1, 1, 1, 3]), tf.tensor1d([-1, 1, -1])]);
    const l = stats(await probeActivations(model, tf.ones([2, 1, 3, 3])), 'conv');
    expect(l).toMatchObject({ units: 3, shape: [2, 3, 3, 3] });
    expect(l.deadFraction).toBeCloseTo(2 / 3, 6);
  });
});

describe('probeActivations: saturation', () => {
  function oneLayer(activation: 'sigmoid' | 'tanh', stddev: number): tf.Sequential {
    return tf.sequential({
      layers: [
        tf.layers.dense({ name: 'd', units: 32, inputShape: [8], activation, kernelInitializer: normal(stddev, 3) }),
      ],
    });
  }

  for (const activation of ['sigmoid', 'tanh'] as const) {
    it(`reports a ${activation} layer with huge weights saturated, with small weights not`, async () => {
      const x = batch();
      const big = oneLayer(activation, 100);
      const probe = await probeActivations(big, x);
      const l = stats(probe, 'd');
      const out = outputOf(big, big.getLayer('d'), x);
      const saturated = (a: number) => (activation === 'sigmoid' ? a < 0.05 || a > 0.95 : Math.abs(a) > 0.97);
      expect(l).toMatchObject({ family: activation, activation, deadFraction: null, verdicts: ['saturated'] });
      expect(l.saturatedFraction as number).toBeGreaterThan(0.9);
      expect(l.saturatedFraction).toBeCloseTo(out.filter(saturated).length / out.length, 6);
      expect(probe.verdicts).toHaveLength(1);
      expect(probe.verdicts[0]).toMatchObject({ kind: 'saturated', layer: 'd' });
      expect(probe.verdicts[0]?.figures).toEqual({ saturatedFraction: l.saturatedFraction, maxSaturatedFraction: 0.5 });
      expect(probe.verdicts[0]?.reason).toMatch(
        new RegExp(`^d \\(Dense, ${activation}\\): [\\d.]+% of the activations`),
      );

      const calm = await probeActivations(oneLayer(activation, 0.01), x);
      expect(stats(calm, 'd').saturatedFraction).toBe(0);
      expect(calm.verdicts).toEqual([]);
    });
  }

  it('uses sigmoidMargin and tanhLimit as the saturation bounds', async () => {
    const model = (activation: 'sigmoid' | 'tanh') =>
      tf.sequential({ layers: [tf.layers.activation({ name: 'a', activation, inputShape: [4] })] });
    // sigmoid: 0.018, 0.119, 0.5, 0.971. tanh: -0.995, -0.762, 0.462, 0.987.
    const sig = model('sigmoid');
    const sx = tf.tensor2d([[-4, -2, 0, 3.5]]);
    expect(stats(await probeActivations(sig, sx), 'a')).toMatchObject({ saturatedFraction: 0.5, verdicts: [] });
    const wide = await probeActivations(sig, sx, { sigmoidMargin: 0.15 });
    expect(stats(wide, 'a')).toMatchObject({ saturatedFraction: 0.75, verdicts: ['saturated'] });
    expect(wide.verdicts[0]?.reason).toContain('(< 0.15 or > 0.85)');
    const tanh = model('tanh');
    const tx = tf.tensor2d([[-3, -1, 0.5, 2.5]]);
    expect(stats(await probeActivations(tanh, tx), 'a')).toMatchObject({ saturatedFraction: 0.5, verdicts: [] });
    const low = await probeActivations(tanh, tx, { tanhLimit: 0.7, maxSaturatedFraction: 0.7 });
    expect(stats(low, 'a')).toMatchObject({ saturatedFraction: 0.75, verdicts: ['saturated'] });
    expect(low.verdicts[0]?.reason).toContain('(beyond +-0.7)');
    expect((await probeActivations(tanh, tx, { tanhLimit: 0.7, maxSaturatedFraction: 0.75 })).verdicts).toEqual([]);
  });
});

describe('probeActivations: figures and model kinds', () => {
  it("reports each layer's mean and std as computed directly on its output", async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.dense({ units: 12, inputShape: [8], activation: 'relu', kernelInitializer: normal(1, 1) }),
        tf.layers.dense({ units: 10, activation: 'tanh', kernelInitializer: normal(0.5, 2) }),
        tf.layers.dense({ units: 6, activation: 'sigmoid', kernelInitializer: normal(2, 3) }),
        tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: normal(1, 4) }),
      ],
    });
    const x = batch();
    const probe = await probeActivations(model, x);
    expect(probe.layers.map((l) => l.layer)).toEqual(model.layers.map((l) => l.name));
    expect(probe.layers.map((l) => l.family)).toEqual(['relu', 'tanh', 'sigmoid', 'other']);
    model.layers.forEach((layer, i) => {
      const out = outputOf(model, layer, x);
      const { mean, std } = hostMoments(out);
      const l = probe.layers[i] as LayerActivationStats;
      expect(l.mean).toBeCloseTo(mean, 5);
      expect(l.std).toBeCloseTo(std, 5);
      expect(l.shape).toEqual([64, layer.outputShape[1]]);
    });
    expect(probe.layers[0]?.deadFraction).toBeCloseTo(
      hostDeadFraction(outputOf(model, model.layers[0] as Layer, x), 12),
    );
    expect(probe.layers[3]).toMatchObject({ activation: 'softmax', deadFraction: null, saturatedFraction: null });
  });

  it('works on a functional model with two inputs, skipping the input layers', async () => {
    const a = tf.input({ shape: [3], name: 'a' });
    const b = tf.input({ shape: [5], name: 'b' });
    const joined = tf.layers.concatenate({ name: 'join' }).apply([a, b]) as tf.SymbolicTensor;
    const hidden = tf.layers
      .dense({
        name: 'hidden',
        units: 6,
        activation: 'relu',
        biasInitializer: constant(-10),
        kernelInitializer: small(1),
      })
      .apply(joined) as tf.SymbolicTensor;
    const side = tf.layers.dense({ name: 'side', units: 2, activation: 'tanh' }).apply(b) as tf.SymbolicTensor;
    const model = tf.model({ inputs: [a, b], outputs: [hidden, side] });
    const xs = [tf.randomNormal([10, 3], 0, 1, 'float32', 1), tf.randomNormal([10, 5], 0, 1, 'float32', 2)];
    const probe = await probeActivations(model, xs);
    expect(probe.layers.map((l) => l.layer).sort()).toEqual(['hidden', 'join', 'side']);
    expect(stats(probe, 'join')).toMatchObject({ className: 'Concatenate', activation: null, shape: [10, 8] });
    expect(stats(probe, 'hidden')).toMatchObject({ deadFraction: 1, verdicts: ['deadUnits'] });
    expect(stats(probe, 'side').mean).toBeCloseTo(hostMoments(outputOf(model, model.getLayer('side'), xs)).mean, 5);
  });

  it('runs in inference mode: dropout passes its input through', async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.dense({ name: 'd', units: 16, inputShape: [8], activation: 'relu' }),
        tf.layers.dropout({ name: 'drop', rate: 0.5 }),
      ],
    });
    const probe = await probeActivations(model, batch());
    expect(stats(probe, 'drop').mean).toBe(stats(probe, 'd').mean);
    expect(stats(probe, 'drop').std).toBe(stats(probe, 'd').std);
  });

  /** Dense with bias -10 and no activation, then the activation layer under test. */
  function denseThen(activationLayer: Layer): tf.Sequential {
    return tf.sequential({
      layers: [
        tf.layers.dense({
          name: 'pre',
          units: 5,
          inputShape: [8],
          kernelInitializer: small(1),
          biasInitializer: constant(-10),
        }),
        activationLayer,
      ],
    });
  }

  const reluLayers: [string, () => Layer, string, string][] = [
    ['tf.layers.reLU()', () => tf.layers.reLU({ name: 'act' }), 'ReLU', 'ReLU'],
    ['tf.layers.reLU({maxValue: 6})', () => tf.layers.reLU({ name: 'act', maxValue: 6 }), 'ReLU', 'ReLU'],
    [
      "tf.layers.activation('relu')",
      () => tf.layers.activation({ name: 'act', activation: 'relu' }),
      'Activation',
      'relu',
    ],
    [
      "tf.layers.activation('relu6')",
      () => tf.layers.activation({ name: 'act', activation: 'relu6' }),
      'Activation',
      'relu6',
    ],
    [
      'tf.layers.thresholdedReLU()',
      () => tf.layers.thresholdedReLU({ name: 'act' }),
      'ThresholdedReLU',
      'ThresholdedReLU',
    ],
    ["gradstab's layers.reLU()", () => layers.reLU({ name: 'act' }), 'GradStabReLU', 'GradStabReLU'],
    [
      "activation: activationIdentifiers.relu ('gradstabRelu')",
      () => tf.layers.activation({ name: 'act', activation: activationIdentifiers.relu }),
      'Activation',
      'gradstabRelu',
    ],
  ];
  it.each(reluLayers)('finds the ReLU of %s and its dead units', async (_, make, className, activation) => {
    const probe = await probeActivations(denseThen(make()), batch());
    expect(stats(probe, 'pre')).toMatchObject({ family: 'other', activation: 'linear', deadFraction: null });
    expect(stats(probe, 'act')).toMatchObject({ className, activation, family: 'relu', deadFraction: 1 });
    expect(probe.verdicts.map((v) => [v.kind, v.layer])).toEqual([['deadUnits', 'act']]);
  });

  const otherLayers: [string, () => Layer, string][] = [
    ['tf.layers.leakyReLU()', () => tf.layers.leakyReLU({ name: 'act' }), 'LeakyReLU'],
    ['tf.layers.elu()', () => tf.layers.elu({ name: 'act' }), 'ELU'],
    ['tf.layers.prelu()', () => tf.layers.prelu({ name: 'act' }), 'PReLU'],
    ['tf.layers.softmax()', () => tf.layers.softmax({ name: 'act' }), 'Softmax'],
    [
      'tf.layers.thresholdedReLU({theta: -1})',
      () => tf.layers.thresholdedReLU({ name: 'act', theta: -1 }),
      'ThresholdedReLU',
    ],
    ["tf.layers.activation('selu')", () => tf.layers.activation({ name: 'act', activation: 'selu' }), 'selu'],
    ['layers.leakyReLU()', () => layers.leakyReLU({ name: 'act' }), 'GradStabLeakyReLU'],
    ['layers.elu()', () => layers.elu({ name: 'act' }), 'GradStabELU'],
    ['layers.selu()', () => layers.selu({ name: 'act' }), 'GradStabSELU'],
    ['layers.gelu()', () => layers.gelu({ name: 'act' }), 'GradStabGELU'],
    ['layers.silu()', () => layers.silu({ name: 'act' }), 'GradStabSiLU'],
    [
      'activationIdentifiers.leakyRelu',
      () => tf.layers.activation({ name: 'act', activation: activationIdentifiers.leakyRelu }),
      'gradstabLeakyRelu',
    ],
  ];
  it.each(otherLayers)('gives %s no dead fraction (it always passes some gradient)', async (_, make, activation) => {
    const probe = await probeActivations(denseThen(make()), batch());
    expect(stats(probe, 'act')).toMatchObject({
      activation,
      family: 'other',
      deadFraction: null,
      saturatedFraction: null,
    });
    expect(probe.verdicts).toEqual([]);
  });

  it("classifies hardSigmoid as sigmoid, an LSTM and pooling as 'other', TimeDistributed by its inner layer", async () => {
    const hard = tf.sequential({
      layers: [tf.layers.activation({ name: 'a', activation: 'hardSigmoid', inputShape: [4] })],
    });
    const hs = stats(await probeActivations(hard, tf.tensor2d([[-5, -0.5, 0.5, 5]])), 'a');
    expect(hs).toMatchObject({ family: 'sigmoid', saturatedFraction: 0.5 });

    const seq = tf.sequential({
      layers: [
        tf.layers.timeDistributed({
          name: 'td',
          inputShape: [3, 4],
          layer: tf.layers.dense({
            units: 2,
            activation: 'relu',
            biasInitializer: constant(-10),
            kernelInitializer: small(1),
          }),
        }),
        tf.layers.lstm({ name: 'lstm', units: 3, returnSequences: true }),
        tf.layers.globalAveragePooling1d({ name: 'pool' }),
      ],
    });
    const probe = await probeActivations(seq, tf.randomNormal([5, 3, 4], 0, 1, 'float32', 1));
    expect(stats(probe, 'td')).toMatchObject({ activation: 'relu', family: 'relu', deadFraction: 1, shape: [5, 3, 2] });
    expect(stats(probe, 'lstm')).toMatchObject({ activation: null, family: 'other', units: 3 });
    expect(stats(probe, 'pool')).toMatchObject({ activation: null, family: 'other', shape: [5, 3] });
  });

  it('measures the layers of a nested model inlined by tf.sequential, named by their path', async () => {
    const inner = tf.sequential({
      name: 'backbone',
      layers: [
        tf.layers.dense({
          name: 'b1',
          units: 4,
          inputShape: [8],
          biasInitializer: constant(-10),
          kernelInitializer: small(1),
        }),
        layers.reLU({ name: 'b2' }),
      ],
    });
    const model = tf.sequential({ layers: [inner, tf.layers.dense({ name: 'head', units: 1 })] });
    const probe = await probeActivations(model, batch());
    expect(probe.layers.map((l) => l.layer)).toEqual(['backbone/b1', 'backbone/b2', 'head']);
    expect(stats(probe, 'backbone/b2')).toMatchObject({ family: 'relu', deadFraction: 1 });
    expect(probe.verdicts.map((v) => v.layer)).toEqual(['backbone/b2']);
  });

  it('measures the layers of a nested model applied as a layer of a functional model', async () => {
    const inner = tf.sequential({
      name: 'block',
      layers: [
        tf.layers.dense({
          name: 'c1',
          units: 6,
          inputShape: [4],
          activation: 'tanh',
          kernelInitializer: normal(100, 1),
        }),
        tf.layers.dense({ name: 'c2', units: 3, activation: 'relu' }),
      ],
    });
    const input = tf.input({ shape: [8] });
    const pre = tf.layers.dense({ name: 'pre', units: 4 }).apply(input) as tf.SymbolicTensor;
    const block = inner.apply(pre) as tf.SymbolicTensor;
    const out = tf.layers.dense({ name: 'post', units: 1 }).apply(block);
    const model = tf.model({ inputs: input, outputs: out as tf.SymbolicTensor });
    const x = batch();
    const probe = await probeActivations(model, x);
    expect(probe.layers.map((l) => l.layer)).toEqual(['pre', 'block/c1', 'block/c2', 'post']);
    expect(stats(probe, 'block/c1')).toMatchObject({ family: 'tanh', verdicts: ['saturated'] });
    // c2's output is the nested model's output, which the outer model computes too.
    const blockOut = outputOf(model, block, x);
    expect(stats(probe, 'block/c2').mean).toBeCloseTo(hostMoments(blockOut).mean, 5);
    expect(stats(probe, 'block/c2').deadFraction).toBeCloseTo(hostDeadFraction(blockOut, 3), 6);
  });

  it('takes an output with only a batch axis as one unit', async () => {
    class RowSum extends tf.layers.Layer {
      static className = 'RowSum';
      override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
        return tf.sum(Array.isArray(inputs) ? (inputs[0] as tf.Tensor) : inputs, 1);
      }
      override computeOutputShape(shape: tf.Shape | tf.Shape[]): tf.Shape {
        return [(shape as tf.Shape)[0] as number | null];
      }
    }
    const model = tf.sequential({
      layers: [new RowSum({ name: 'sum', inputShape: [3] }), tf.layers.activation({ name: 'act', activation: 'relu' })],
    });
    const dead = stats(
      await probeActivations(
        model,
        tf.tensor2d([
          [-1, 0, 0],
          [0, -2, 1],
        ]),
      ),
      'act',
    );
    expect(dead).toMatchObject({ units: 1, shape: [2], deadFraction: 1, verdicts: ['deadUnits'] });
    const alive = stats(
      await probeActivations(
        model,
        tf.tensor2d([
          [-1, 0, 0],
          [0, 2, 1],
        ]),
      ),
      'act',
    );
    expect(alive).toMatchObject({ units: 1, deadFraction: 0, verdicts: [] });
  });

  it('skips a layer used at several places, with the reason', async () => {
    const input = tf.input({ shape: [4] });
    const shared = tf.layers.dense({ name: 'shared', units: 4, activation: 'relu' });
    const y = tf.layers.dense({ name: 'out', units: 1 }).apply(shared.apply(shared.apply(input))) as tf.SymbolicTensor;
    const probe = await probeActivations(tf.model({ inputs: input, outputs: y }), tf.ones([2, 4]));
    expect(probe.layers.map((l) => l.layer)).toEqual(['out']);
    expect(probe.skipped).toEqual([
      { layer: 'shared', className: 'Dense', reason: 'used at 2 places in the model: its output is ambiguous' },
    ]);
  });
});

describe('probeActivations: side effects', () => {
  it('leaves no tensor behind and the model predicts exactly as before', async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [6, 6, 2], filters: 4, kernelSize: 3, activation: 'relu' }),
        tf.layers.batchNormalization(),
        tf.layers.flatten(),
        tf.layers.dropout({ rate: 0.3 }),
        tf.layers.dense({ units: 3, activation: 'sigmoid' }),
      ],
    });
    const x = tf.randomNormal([4, 6, 6, 2], 0, 1, 'float32', 3);
    const before = values(model.predict(x) as tf.Tensor);
    await probeActivations(model, x); // warm-up
    expect(await tensorsLeftBy(() => probeActivations(model, x))).toBe(0);
    expect(values(model.predict(x) as tf.Tensor)).toEqual(before);
  });

  it('leaves the model fully disposable (the probe holds no reference to its weights)', async () => {
    const start = tf.memory().numTensors;
    const model = mlp(0);
    const x = batch();
    await probeActivations(model, x);
    model.dispose();
    x.dispose();
    expect(tf.memory().numTensors).toBe(start);
  });

  it('reads the device once, asynchronously', async () => {
    const model = mlp(-10);
    const x = batch();
    await probeActivations(model, x);
    let blocking = -1;
    const reads = await countAsyncReads(async () => {
      blocking = await countBlockingReads(() => probeActivations(model, x));
    });
    expect(blocking).toBe(0);
    expect(reads).toBe(1);
  });
});

describe('probeActivations: bad input', () => {
  const model = () => mlp(0);

  async function rejection(run: () => Promise<unknown>): Promise<string> {
    let promise: Promise<unknown> | undefined;
    expect(() => {
      promise = run();
    }).not.toThrow(); // bad input rejects the promise, it does not throw
    const error = await (promise as Promise<unknown>).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(GradStabError);
    return (error as Error).message;
  }

  it('rejects a non-model, an unbuilt model and a disposed model', async () => {
    const x = batch();
    expect(await rejection(() => probeActivations(null as never, x))).toBe(
      'probeActivations: model must be a tf.LayersModel (from tf.sequential or tf.model), got null.',
    );
    expect(await rejection(() => probeActivations({} as never, x))).toMatch(/model must be a tf.LayersModel/);
    expect(await rejection(() => probeActivations(tf.layers.dense({ units: 1 }) as never, x))).toMatch(
      /got an instance of Dense\.$/,
    );
    expect(await rejection(() => probeActivations(tf.sequential(), x))).toBe(
      'probeActivations: model must be built, with inputs (give its first layer an inputShape), got a model with no inputs.',
    );
    const gone = model();
    gone.dispose();
    expect(await rejection(() => probeActivations(gone, x))).toMatch(/^probeActivations: model must not be disposed/);
  });

  it('rejects a batch that does not fit the model', async () => {
    const m = model();
    expect(await rejection(() => probeActivations(m, [1, 2] as never))).toMatch(
      /^probeActivations: x must be a tensor or an array of tensors, one per model input \(1\), got an array/,
    );
    expect(await rejection(() => probeActivations(m, undefined as never))).toMatch(/got undefined\.$/);
    expect(await rejection(() => probeActivations(m, [batch(), batch()]))).toMatch(/one per model input \(1\)/);
    expect(await rejection(() => probeActivations(m, tf.ones([4, 3])))).toBe(
      "probeActivations: x must have the model input's shape [null,8], got a tensor of shape [4,3] and dtype float32.",
    );
    expect(await rejection(() => probeActivations(m, [tf.ones([4])]))).toMatch(/^probeActivations: x\[0\] must have/);
    expect(await rejection(() => probeActivations(m, tf.ones([0, 8])))).toMatch(/x must hold at least one example/);
    const disposed = batch();
    disposed.dispose();
    expect(await rejection(() => probeActivations(m, disposed))).toBe(
      'probeActivations: x must not be disposed, got a disposed tensor.',
    );
  });

  it('rejects bad options', async () => {
    const m = model();
    const x = batch();
    const cases: [unknown, RegExp][] = [
      [null, /options must be a plain object, got null\.$/],
      [[], /options must be a plain object/],
      [{ maxDead: 0.5 }, /unknown option "maxDead" \(known: maxDeadFraction, maxSaturatedFraction, sigmoidMargin/],
      [{ maxDeadFraction: -0.1 }, /maxDeadFraction must be a number in \[0, 1\], got -0\.1\.$/],
      [{ maxDeadFraction: Number.NaN }, /maxDeadFraction must be a number in \[0, 1\], got NaN\.$/],
      [{ maxSaturatedFraction: 1.5 }, /maxSaturatedFraction must be a number in \[0, 1\], got 1\.5\.$/],
      [{ maxSaturatedFraction: '0.5' }, /maxSaturatedFraction must be a number in \[0, 1\], got "0\.5"\.$/],
      [{ sigmoidMargin: 0 }, /sigmoidMargin must be a number in \(0, 0\.5\), got 0\.$/],
      [{ sigmoidMargin: 0.5 }, /sigmoidMargin must be a number in \(0, 0\.5\), got 0\.5\.$/],
      [{ tanhLimit: 1 }, /tanhLimit must be a number in \(0, 1\), got 1\.$/],
    ];
    for (const [options, message] of cases) {
      expect(await rejection(() => probeActivations(m, x, options as ProbeOptions))).toMatch(message);
    }
  });
});
