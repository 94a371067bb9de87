import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GradStabError } from '../../src/index.js';
import { type LsuvLayerReport, type LsuvReport, lsuv, lsuvVariables } from '../../src/initializers/lsuv.js';
import { countBlockingReads, tensorsLeftBy, useCpu, values } from '../helpers/tf.js';

beforeAll(useCpu);
afterEach(() => tf.disposeVariables());

type Layer = tf.layers.Layer;

/** Population variance over every entry, computed on the host in float64 (independent of the implementation). */
function variance(t: tf.Tensor): number {
  const xs = values(t);
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return xs.reduce((a, x) => a + (x - mean) ** 2, 0) / xs.length;
}

function layerNamed(model: tf.LayersModel, name: string): Layer {
  const layer = model.layers.find((l) => l.name === name);
  if (!layer) throw new Error(`no layer ${name}`);
  return layer;
}

/** The layer's input on the batch, through the model's real layers. */
function inputOf(model: tf.LayersModel, layer: Layer, batch: tf.Tensor | tf.Tensor[]): tf.Tensor {
  const list = Array.isArray(batch) ? batch : [batch];
  const direct = model.inputs.indexOf(layer.input as tf.SymbolicTensor);
  if (direct >= 0) return (list[direct] as tf.Tensor).clone();
  return tf.model({ inputs: model.inputs, outputs: layer.input as tf.SymbolicTensor }).predict(batch) as tf.Tensor;
}

/** `x W + b` of a Dense or Conv2D layer, recomputed from its weights with tf ops. */
function preActivationOf(model: tf.LayersModel, layer: Layer, batch: tf.Tensor | tf.Tensor[]): tf.Tensor {
  return tf.tidy(() => {
    const x = inputOf(model, layer, batch);
    const [w, b] = layer.getWeights() as [tf.Tensor, tf.Tensor | undefined];
    const cfg = layer.getConfig() as { strides?: [number, number]; padding?: 'same' | 'valid' };
    const linear =
      layer.getClassName() === 'Conv2D'
        ? tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, cfg.strides ?? [1, 1], cfg.padding ?? 'valid')
        : tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D);
    return b ? tf.add(linear, b) : linear;
  });
}

/** The layer's real output (after its activation). */
function outputOf(model: tf.LayersModel, layer: Layer, batch: tf.Tensor | tf.Tensor[]): tf.Tensor {
  return tf.model({ inputs: model.inputs, outputs: layer.output as tf.SymbolicTensor }).predict(batch) as tf.Tensor;
}

/** Checks, independently of the report, that every layer reported scaled is within tolerance of unit variance. */
function expectUnitVariance(
  model: tf.LayersModel,
  batch: tf.Tensor | tf.Tensor[],
  report: LsuvReport,
  tolerance = 0.1,
  at: 'preActivation' | 'output' = 'preActivation',
): void {
  const scaled = report.layers.filter((l) => l.status === 'scaled' || l.status === 'withinTolerance');
  expect(scaled.length).toBeGreaterThan(0);
  for (const l of scaled) {
    const layer = layerNamed(model, l.name);
    const y = at === 'output' ? outputOf(model, layer, batch) : preActivationOf(model, layer, batch);
    const v = variance(y);
    y.dispose();
    expect(Math.abs(v - 1), `${l.name}: variance ${v}`).toBeLessThan(tolerance);
    expect(l.varianceAfter).toBeCloseTo(v, 4);
  }
}

function mlp(seed = 1, activation: 'relu' | 'tanh' | 'linear' = 'relu'): tf.Sequential {
  const init = (s: number) => tf.initializers.glorotUniform({ seed: seed * 10 + s });
  const bias = (s: number) => tf.initializers.randomNormal({ stddev: 0.1, seed: seed * 10 + s + 5 });
  return tf.sequential({
    layers: [
      tf.layers.dense({
        units: 48,
        inputShape: [16],
        activation,
        kernelInitializer: init(1),
        biasInitializer: bias(1),
      }),
      tf.layers.dense({ units: 48, activation, kernelInitializer: init(2), biasInitializer: bias(2) }),
      tf.layers.dense({ units: 10, kernelInitializer: init(3) }),
    ],
  });
}

const batchOf = (shape: number[], seed = 11) => tf.randomNormal(shape, 0, 1, 'float32', seed);

describe('lsuv on LayersModels', () => {
  it('brings every dense layer of a sequential model to unit variance, leaving biases and the small head alone', async () => {
    const model = mlp();
    const batch = batchOf([64, 16]);
    const topology = JSON.stringify(model.toJSON(null, false));
    const biases = model.layers.map((l) => values(l.getWeights()[1] as tf.Tensor));
    const head = values(model.layers[2]?.getWeights()[0] as tf.Tensor);
    const report = await lsuv(model, batch, { seed: 1 });
    expect(report.layers.map((l) => l.status)).toEqual(['scaled', 'scaled', 'skipped']);
    expect(report.converged).toBe(true);
    expectUnitVariance(model, batch, report);
    const [first, , last] = report.layers as LsuvLayerReport[];
    expect(first).toMatchObject({ className: 'Dense', units: 48, orthogonalInit: true, iterations: 1 });
    expect(Math.abs((first?.varianceBefore ?? 0) - 1)).toBeGreaterThan(0.1);
    expect(first?.scale).toBeCloseTo(1 / Math.sqrt(first?.varianceBefore ?? 0), 5);
    expect(last).toMatchObject({
      status: 'skipped',
      reason: 'has 10 output units per example, fewer than minUnits (32)',
      units: 10,
      iterations: 0,
      scale: 1,
      varianceBefore: null,
      varianceAfter: null,
    });
    expect(values(model.layers[2]?.getWeights()[0] as tf.Tensor)).toEqual(head);
    expect(model.layers.map((l) => values(l.getWeights()[1] as tf.Tensor))).toEqual(biases);
    expect(JSON.parse(JSON.stringify(report))).toEqual(report); // plain data
    // The model is as it was apart from its kernels: same graph, activations back in place, still predicts.
    expect(JSON.stringify(model.toJSON(null, false))).toBe(topology);
    expect((model.predict(batch) as tf.Tensor).shape).toEqual([64, 10]);
  });

  it('scales the head too with minUnits: 0', async () => {
    const model = mlp();
    const batch = batchOf([64, 16]);
    const report = await lsuv(model, batch, { minUnits: 0, seed: 1 });
    expect(report.layers.map((l) => l.status)).toEqual(['scaled', 'scaled', 'scaled']);
    expectUnitVariance(model, batch, report);
  });

  it('handles conv2d models (and what tfjs calls the kernels of other conv layers)', async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', inputShape: [8, 8, 2] }),
        tf.layers.conv2d({ filters: 8, kernelSize: 3, activation: 'relu' }),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', depthMultiplier: 2 }),
        tf.layers.separableConv2d({ filters: 8, kernelSize: 1 }),
        tf.layers.conv2dTranspose({ filters: 4, kernelSize: 2, strides: 2 }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 10 }),
      ],
    });
    const batch = batchOf([8, 8, 8, 2]);
    const report = await lsuv(model, batch, { seed: 2 });
    expect(report.layers.map((l) => [l.className, l.status, l.units])).toEqual([
      ['Conv2D', 'scaled', 512],
      ['Conv2D', 'scaled', 288],
      ['MaxPooling2D', 'skipped', null],
      ['DepthwiseConv2D', 'scaled', 144],
      ['SeparableConv2D', 'scaled', 72],
      ['Conv2DTranspose', 'scaled', 144],
      ['Flatten', 'skipped', null],
      ['Dense', 'skipped', 10],
    ]);
    expect(report.layers[3]?.orthogonalInit).toBe(false); // a depthwise kernel is not a linear map across channels
    expect(report.layers[4]?.orthogonalInit).toBe(true);
    expectUnitVariance(model, batch, { ...report, layers: report.layers.slice(0, 2) });
    // The other conv layers have no activation: their output is the pre-activation.
    for (const l of report.layers.slice(3, 6)) {
      const y = outputOf(model, layerNamed(model, l.name), batch);
      expect(Math.abs(variance(y) - 1)).toBeLessThan(0.1);
    }
  });

  it('works on a functional model with two inputs, skipping the input and merge layers', async () => {
    const a = tf.input({ shape: [16] });
    const b = tf.input({ shape: [8] });
    const da = tf.layers.dense({ units: 48, activation: 'relu' }).apply(a) as tf.SymbolicTensor;
    const db = tf.layers.dense({ units: 40, activation: 'tanh' }).apply(b) as tf.SymbolicTensor;
    const cat = tf.layers.concatenate().apply([da, db]) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 40 }).apply(cat) as tf.SymbolicTensor;
    const model = tf.model({ inputs: [a, b], outputs: out });
    const batch = [batchOf([32, 16], 1), batchOf([32, 8], 2)];
    const report = await lsuv(model, batch, { seed: 3 });
    expect(report.layers.map((l) => [l.className, l.status])).toEqual([
      ['InputLayer', 'skipped'],
      ['InputLayer', 'skipped'],
      ['Dense', 'scaled'],
      ['Dense', 'scaled'],
      ['Concatenate', 'skipped'],
      ['Dense', 'scaled'],
    ]);
    expect(report.layers[0]?.reason).toBe('the input layer: no weights');
    expect(report.layers[4]?.reason).toBe('has no weights: nothing to scale');
    expectUnitVariance(model, batch, report);
  });

  it('skips what it cannot scale and says why, layer by layer', async () => {
    const inner = tf.sequential({ layers: [tf.layers.dense({ units: 40, inputShape: [40] })] });
    const model = tf.sequential({
      layers: [
        tf.layers.dense({ units: 40, inputShape: [8] }),
        tf.layers.batchNormalization(),
        tf.layers.activation({ activation: 'relu' }),
        tf.layers.dropout({ rate: 0.5 }),
        tf.layers.prelu(),
        tf.layers.dense({ units: 40, trainable: false }),
        inner,
        tf.layers.reshape({ targetShape: [4, 10] }),
        tf.layers.simpleRNN({ units: 4 }),
      ],
    });
    const report = await lsuv(model, batchOf([16, 8]));
    expect(report.layers.map((l) => [l.className, l.status, l.reason])).toEqual([
      ['Dense', 'scaled', undefined],
      ['BatchNormalization', 'skipped', 'a normalization layer: it sets its own output scale'],
      ['Activation', 'skipped', 'has no weights: nothing to scale'],
      ['Dropout', 'skipped', 'has no weights: nothing to scale'],
      [
        'PReLU',
        'skipped',
        'not a layer class lsuv scales (Dense, Conv1D, Conv2D, Conv3D, Conv2DTranspose, Conv3DTranspose, ' +
          'DepthwiseConv2D, SeparableConv2D); use lsuvVariables for other layers',
      ],
      ['Dense', 'skipped', 'frozen (trainable is false): left as it is'],
      ['Sequential', 'skipped', 'a nested model: lsuv does not reach into it (call lsuv on it with its own batch)'],
      ['Reshape', 'skipped', 'has no weights: nothing to scale'],
      ['SimpleRNN', 'skipped', 'a recurrent layer: its output is not proportional to its kernel'],
    ]);
    expect(report.converged).toBe(true);

    const x = tf.input({ shape: [40] });
    const shared = tf.layers.dense({ units: 40 });
    const twice = tf.model({ inputs: x, outputs: shared.apply(shared.apply(x)) as tf.SymbolicTensor });
    const sharedReport = await lsuv(twice, batchOf([8, 40]));
    expect(sharedReport.layers[1]).toMatchObject({
      status: 'skipped',
      reason: 'used at several places in the model: its output is ambiguous',
    });
  });

  it('measures before the fused activation by default: dense(relu) gets the kernel of dense() + reLU()', async () => {
    const init = (seed: number) => tf.initializers.glorotNormal({ seed });
    const fused = tf.sequential({
      layers: [
        tf.layers.dense({ units: 40, inputShape: [16], activation: 'relu', kernelInitializer: init(1) }),
        tf.layers.dense({ units: 40, activation: 'relu', kernelInitializer: init(2) }),
      ],
    });
    const separate = tf.sequential({
      layers: [
        tf.layers.dense({ units: 40, inputShape: [16], kernelInitializer: init(1) }),
        tf.layers.reLU(),
        tf.layers.dense({ units: 40, kernelInitializer: init(2) }),
        tf.layers.reLU(),
      ],
    });
    const batch = batchOf([32, 16]);
    const a = await lsuv(fused, batch, { seed: 5 });
    const b = await lsuv(separate, batch, { seed: 5 }); // seeds count scalable kernels: the ReLU layers do not shift them
    expect(a.layers.map((l) => l.status)).toEqual(['scaled', 'scaled']);
    const kernels = (m: tf.LayersModel) => m.getWeights().filter((w) => w.rank === 2);
    kernels(fused).forEach((w, i) => {
      expect(values(w)).toEqual(values(kernels(separate)[i] as tf.Tensor));
    });
    expect(a.layers.map((l) => l.varianceAfter)).toEqual(
      b.layers.filter((l) => l.className === 'Dense').map((l) => l.varianceAfter),
    );
    // The layer's activation is back in place.
    expect(((fused.layers[0] as Layer).getConfig() as { activation: string }).activation).toBe('relu');
    expect(variance(outputOf(fused, fused.layers[0] as Layer, batch))).toBeLessThan(0.7); // post-ReLU: about 1/2 - 1/(2 pi)
  });

  it("with measure: 'output' brings the post-activation output to unit variance", async () => {
    const model = mlp(3, 'relu');
    const batch = batchOf([64, 16]);
    const report = await lsuv(model, batch, { measure: 'output', seed: 2 });
    expect(report.layers.map((l) => l.status)).toEqual(['scaled', 'scaled', 'skipped']);
    expectUnitVariance(model, batch, report, 0.1, 'output');
  });

  it('respects maxIterations when it cannot converge', async () => {
    // tanh outputs lie in (-1, 1): their variance never reaches 1.
    const model = tf.sequential({ layers: [tf.layers.dense({ units: 40, inputShape: [16], activation: 'tanh' })] });
    const report = await lsuv(model, batchOf([32, 16]), { measure: 'output', maxIterations: 3, tolerance: 0.01 });
    expect(report.converged).toBe(false);
    const [l] = report.layers as LsuvLayerReport[];
    expect(l).toMatchObject({ status: 'notConverged', iterations: 3 });
    expect(l?.reason).toMatch(
      /^output variance 0\.\d+ is still not within 0\.01 of 1 after 3 rescalings \(maxIterations\)$/,
    );
    expect(l?.varianceAfter ?? 0).toBeGreaterThan(l?.varianceBefore ?? 1);

    // A random bias makes the variance not proportional to the kernel's square: one step is not enough for 1e-5.
    const biased = tf.sequential({
      layers: [
        tf.layers.dense({
          units: 40,
          inputShape: [16],
          biasInitializer: tf.initializers.randomNormal({ stddev: 0.7, seed: 1 }),
        }),
      ],
    });
    const batch = batchOf([32, 16]);
    const once = await lsuv(biased, batch, { maxIterations: 1, tolerance: 1e-5, seed: 1 });
    expect(once.layers[0]).toMatchObject({ status: 'notConverged', iterations: 1 });
    // Below float32's resolution a rescaling may change nothing: still notConverged, not dead.
    const tiny = await lsuv(mlp(2, 'linear'), batch, { maxIterations: 3, tolerance: 1e-9, minUnits: 0, seed: 1 });
    for (const l of tiny.layers) {
      expect(l.status === 'notConverged' ? l.iterations : 3, l.status).toBe(3);
      expect(['notConverged', 'scaled']).toContain(l.status); // 'scaled' if float32 happens to land on 1 exactly
    }
    expect(tiny.layers.some((l) => l.status === 'notConverged')).toBe(true);
    const more = await lsuv(biased, batch, { maxIterations: 30, tolerance: 1e-5, orthogonalInit: false });
    expect(more.layers[0]?.status).toBe('scaled');
    expectUnitVariance(biased, batch, more, 1e-5);
  });

  it('reports a dead layer (variance 0, not finite, or deaf to the kernel) and leaves it as it is', async () => {
    const model = tf.sequential({
      layers: [tf.layers.dense({ units: 40, inputShape: [16], activation: 'relu' }), tf.layers.dense({ units: 40 })],
    });
    const weights = model.getWeights().map(values);
    const zeros = tf.zeros([16, 16]);
    const report = await lsuv(model, zeros, { orthogonalInit: false });
    expect(report.converged).toBe(false);
    expect(report.layers.map((l) => l.status)).toEqual(['dead', 'dead']);
    expect(report.layers[1]).toMatchObject({
      reason:
        'output variance is 0 (every output equal: a dead layer or a constant input), so there is nothing to divide by',
      iterations: 0,
      scale: 1,
      varianceBefore: 0,
      varianceAfter: 0,
    });
    expect(model.getWeights().map(values)).toEqual(weights);

    const nan = tf.fill([16, 16], Number.NaN);
    const nanReport = await lsuv(model, nan, { orthogonalInit: false });
    expect(nanReport.layers[0]).toMatchObject({
      status: 'dead',
      varianceBefore: Number.NaN,
      varianceAfter: Number.NaN,
    });
    expect(nanReport.layers[0]?.reason).toBe('output variance is NaN (not finite), so there is nothing to divide by');
    expect(model.getWeights().map(values)).toEqual(weights);

    // A random bias and a constant input: the variance is not 0 but no rescaling of the kernel changes it.
    const biased = mlp(4, 'linear');
    const before = biased.getWeights().map(values);
    const deaf = await lsuv(biased, zeros, { orthogonalInit: false });
    // (The next layer sees a constant per unit, which varies over the units: its kernel does matter.)
    expect(deaf.layers.map((l) => l.status)).toEqual(['dead', 'scaled', 'skipped']);
    expect(deaf.layers[0]).toMatchObject({ iterations: 0, scale: 1 });
    expect(deaf.layers[0]?.reason).toMatch(
      /^output variance stayed at 0\.0\d+ after rescaling by \d+\.\d+: the output does not depend on the kernel \(a constant input\?\); that rescaling was undone$/,
    );
    expect(biased.getWeights().map(values).slice(0, 2)).toEqual(before.slice(0, 2));
  });

  it('undoes a rescaling that makes the output non-finite', async () => {
    const w = tf.variable(tf.mul(tf.randomNormal([16, 40], 0, 1, 'float32', 3), 0.01));
    const original = values(w);
    // An output that overflows once the kernel grows (as exp would): NaN when max |W| > 0.5.
    const output = (x: tf.Tensor) => {
      const y = tf.matMul(x, w);
      return (values(tf.max(tf.abs(w)))[0] as number) > 0.5 ? tf.mul(y, Number.NaN) : y;
    };
    const report = await lsuvVariables([{ name: 'exp', kernel: w, output }], batchOf([32, 16]), {
      orthogonalInit: false,
    });
    const [l] = report.layers as LsuvLayerReport[];
    expect(l).toMatchObject({ status: 'dead', iterations: 0, scale: 1 });
    expect(l?.reason).toMatch(/^output variance became NaN after rescaling by [\d.]+; that rescaling was undone$/);
    expect(l?.varianceAfter).toBe(l?.varianceBefore);
    expect(values(w)).toEqual(original);
  });

  it('orthogonalInit: true replaces each kernel by an orthogonal matrix (then scales it); false keeps its direction', async () => {
    const batch = tf.mul(batchOf([64, 32]), 3); // an orthogonal kernel keeps the variance (9): it needs scaling
    const square = () => tf.sequential({ layers: [tf.layers.dense({ units: 32, inputShape: [32], useBias: false })] });
    const on = square();
    const [l] = (await lsuv(on, batch, { seed: 1 })).layers as LsuvLayerReport[];
    expect(l).toMatchObject({ status: 'scaled', orthogonalInit: true });
    const q = tf.div(on.getWeights()[0] as tf.Tensor, l?.scale ?? 1) as tf.Tensor2D;
    const gram = tf.sub(tf.matMul(q, q, true, false), tf.eye(32));
    expect(values(tf.max(tf.abs(gram)))[0]).toBeLessThan(1e-4);

    const off = square();
    const before = values(off.getWeights()[0] as tf.Tensor);
    const [m] = (await lsuv(off, batch, { orthogonalInit: false })).layers as LsuvLayerReport[];
    expect(m).toMatchObject({ status: 'scaled', orthogonalInit: false });
    values(off.getWeights()[0] as tf.Tensor).forEach((v, i) => {
      expect(v).toBeCloseTo((before[i] as number) * (m?.scale ?? 0), 6);
    });
  });

  it('is reproducible with a seed and differs without one', async () => {
    const batch = batchOf([64, 16]);
    const run = async (seed?: number) => {
      const model = mlp(7);
      await lsuv(model, batch, seed === undefined ? {} : { seed });
      return model.getWeights().map(values);
    };
    expect(await run(9)).toEqual(await run(9));
    expect((await run())[0]).not.toEqual((await run())[0]);
  });

  it('leaves no tensor or variable behind and reads the device only asynchronously', async () => {
    const model = mlp(8);
    const batch = batchOf([64, 16]);
    const variables = () => Object.keys(tf.engine().registeredVariables).length;
    const vars = variables();
    expect(await tensorsLeftBy(() => lsuv(model, batch, { seed: 1 }))).toBe(0);
    const zeros = tf.zeros([4, 16]);
    expect(await tensorsLeftBy(() => lsuv(model, zeros))).toBe(0); // dead path
    expect(await tensorsLeftBy(() => lsuv(model, batch, { maxIterations: 1, tolerance: 1e-9 }))).toBe(0);
    expect(variables()).toBe(vars);
    expect(await countBlockingReads(() => lsuv(model, batch, { seed: 2 }))).toBe(0);
  });
});

describe('lsuvVariables (hand-written models)', () => {
  function twoLayers(seed = 1) {
    const w1 = tf.variable(tf.randomNormal([16, 48], 0, 1, 'float32', seed));
    const b1 = tf.variable(tf.randomNormal([48], 0, 0.1, 'float32', seed + 1));
    const w2 = tf.variable(tf.randomNormal([48, 40], 0, 1, 'float32', seed + 2));
    const pre1 = (x: tf.Tensor) => tf.add(tf.matMul(x, w1), b1);
    const pre2 = (x: tf.Tensor) => tf.matMul(tf.relu(pre1(x)), w2);
    const steps = [
      { name: 'hidden', kernel: w1, output: pre1 },
      { name: 'out', kernel: w2, output: pre2 },
    ];
    return { w1, b1, w2, pre1, pre2, steps };
  }

  it('brings each step to unit variance with the same loop and report', async () => {
    const { b1, pre1, pre2, steps } = twoLayers();
    const batch = batchOf([64, 16]);
    const bias = values(b1);
    const report = await lsuvVariables(steps, batch, { seed: 1 });
    expect(report.converged).toBe(true);
    expect(report.layers.map((l) => [l.name, l.className, l.status, l.units, l.orthogonalInit])).toEqual([
      ['hidden', null, 'scaled', 48, true],
      ['out', null, 'scaled', 40, true],
    ]);
    for (const [i, f] of [pre1, pre2].entries()) {
      const v = variance(tf.tidy(() => f(batch)));
      expect(Math.abs(v - 1)).toBeLessThan(0.1);
      expect(report.layers[i]?.varianceAfter).toBeCloseTo(v, 4);
    }
    expect(values(b1)).toEqual(bias);
  });

  it('skips small steps (measured to find their size), is seeded, leaks nothing', async () => {
    const batch = batchOf([64, 16]);
    const a = twoLayers(3);
    const small = await lsuvVariables(a.steps, batch, { minUnits: 41, orthogonalInit: false });
    expect(small.layers.map((l) => l.status)).toEqual(['scaled', 'skipped']);
    expect(small.layers[1]?.reason).toBe('has 40 output units per example, fewer than minUnits (41)');

    const b = twoLayers(3);
    const c = twoLayers(3);
    await lsuvVariables(b.steps, batch, { seed: 4 });
    await lsuvVariables(c.steps, batch, { seed: 4 });
    expect(values(b.w2)).toEqual(values(c.w2));

    const d = twoLayers(5);
    expect(await tensorsLeftBy(() => lsuvVariables(d.steps, batch))).toBe(0);
    expect(await countBlockingReads(() => lsuvVariables(d.steps, batch))).toBe(0);
  });
});

describe('bad input gets a GradStabError naming the function, the rule and the value', () => {
  it('lsuv options', async () => {
    const model = mlp();
    const batch = batchOf([4, 16]);
    const cases: [unknown, string][] = [
      [{ tolerance: 0 }, 'lsuv: tolerance must be a finite number > 0, got 0.'],
      [{ tolerance: Number.NaN }, 'lsuv: tolerance must be a finite number > 0, got NaN.'],
      [{ tolerance: -0.1 }, 'lsuv: tolerance must be a finite number > 0, got -0.1.'],
      [{ maxIterations: 0 }, 'lsuv: maxIterations must be a whole number >= 1, got 0.'],
      [{ maxIterations: 2.5 }, 'lsuv: maxIterations must be a whole number >= 1, got 2.5.'],
      [{ minUnits: -1 }, 'lsuv: minUnits must be a whole number >= 0, got -1.'],
      [{ orthogonalInit: 'yes' }, 'lsuv: orthogonalInit must be a boolean, got "yes".'],
      [{ seed: Number.POSITIVE_INFINITY }, 'lsuv: seed must be a finite number, got Infinity.'],
      [{ measure: 'post' }, "lsuv: measure must be 'preActivation' or 'output', got \"post\"."],
      [
        { tol: 1 },
        'lsuv: unknown option "tol" (known: tolerance, maxIterations, orthogonalInit, seed, minUnits, measure), got {"tol":1}.',
      ],
      [5, 'lsuv: options must be a plain object, got 5.'],
    ];
    for (const [options, message] of cases) {
      await expect(lsuv(model, batch, options as never)).rejects.toThrow(new GradStabError(message));
    }
  });

  it('lsuv model and batch', async () => {
    const model = mlp();
    const batch = batchOf([4, 16]);
    const rejects = (m: unknown, b: unknown) => expect(lsuv(m as never, b as never)).rejects;
    await rejects({}, batch).toThrow('lsuv: model must be a tf.LayersModel (from tf.sequential or tf.model), got {}.');
    await rejects(tf.sequential(), batch).toThrow(
      'lsuv: model must be built, with inputs (give its first layer an inputShape), got a model with no inputs.',
    );
    await rejects(model, [1, 2]).toThrow(
      'lsuv: batch must be a tensor or an array of tensors, one per model input (1), got an array of length 2.',
    );
    await rejects(model, undefined).toThrow(
      'lsuv: batch must be a tensor or an array of tensors, one per model input (1), got undefined.',
    );
    await rejects(model, [batch, batch]).toThrow(
      'lsuv: batch must be a tensor or an array of tensors, one per model input (1), got an array of length 2.',
    );
    await rejects(model, batchOf([4, 3])).toThrow(
      "lsuv: batch must have the model input's shape [null,16], got a tensor of shape [4,3] and dtype float32.",
    );
    const gone = batchOf([4, 16]);
    gone.dispose();
    await rejects(model, gone).toThrow('lsuv: batch must not be disposed, got a disposed tensor.');
    const disposed = mlp();
    disposed.dispose();
    await rejects(disposed, batch).toThrow(
      /^lsuv: model must not be disposed, got a model whose layer "dense_Dense\d+" is disposed\.$/,
    );
    await rejects(disposed, batch).toBeInstanceOf(GradStabError);
  });

  it('lsuvVariables steps and options', async () => {
    const batch = batchOf([4, 16]);
    const w = tf.variable(tf.ones([16, 40]));
    const output = (x: tf.Tensor) => tf.matMul(x, w);
    const ok = { name: 'a', kernel: w, output };
    const rejects = (steps: unknown, options?: unknown) =>
      expect(lsuvVariables(steps as never, batch, options as never)).rejects;
    await rejects('x').toThrow('lsuvVariables: steps must be an array of {name, kernel, output}, got "x".');
    await rejects([null]).toThrow('lsuvVariables: steps[0] must be an object {name, kernel, output}, got null.');
    await rejects([{ ...ok, outputs: output }]).toThrow(
      /^lsuvVariables: steps\[0\] has an unknown key "outputs", got /,
    );
    await rejects([{ ...ok, name: '' }]).toThrow('lsuvVariables: steps[0].name must be a non-empty string, got "".');
    await rejects([ok, { ...ok, kernel: tf.ones([16, 40]) }]).toThrow(
      "lsuvVariables: steps[1].kernel must be a tf.Variable (the layer's kernel, not disposed), got a tensor of shape [16,40] and dtype float32.",
    );
    await rejects([{ ...ok, kernel: tf.variable(tf.ones([16, 40], 'int32')) }]).toThrow(
      'lsuvVariables: steps[0].kernel must be float32, got a tensor of shape [16,40] and dtype int32.',
    );
    await rejects([{ ...ok, kernel: tf.variable(tf.ones([40])) }]).toThrow(
      'lsuvVariables: steps[0].kernel must have rank >= 2 for orthogonalInit (or pass orthogonalInit: false), got a tensor of shape [40] and dtype float32.',
    );
    await rejects([ok, ok]).toThrow(
      'lsuvVariables: steps[1].kernel must not be the kernel of steps[0] again, got a tensor of shape [16,40] and dtype float32.',
    );
    await rejects([{ ...ok, output: 3 }]).toThrow(
      'lsuvVariables: steps[0].output must be a function (batch) => tensor, got 3.',
    );
    await rejects([{ ...ok, output: () => [1] }]).toThrow(
      'lsuvVariables: steps[0].output must return a tensor, got an array of length 1.',
    );
    await rejects([ok], { measure: 'output' }).toThrow(
      'lsuvVariables: unknown option "measure" (known: tolerance, maxIterations, orthogonalInit, seed, minUnits), got {"measure":"output"}.',
    );
    await rejects([ok], { maxIterations: 0 }).toThrow(
      'lsuvVariables: maxIterations must be a whole number >= 1, got 0.',
    );
    await expect(lsuvVariables([ok], 'batch' as never)).rejects.toThrow(
      'lsuvVariables: batch must be a tensor or an array of tensors, got "batch".',
    );
    // Nothing was touched by the rejected calls.
    expect(values(w).every((v) => v === 1)).toBe(true);
  });
});

describe('the documented examples', () => {
  it('lsuv: a small MLP', async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.dense({ units: 64, inputShape: [32], activation: 'relu' }),
        tf.layers.dense({ units: 64, activation: 'relu' }),
        tf.layers.dense({ units: 10, activation: 'softmax' }),
      ],
    });
    const report = await lsuv(model, tf.randomNormal([64, 32]), { seed: 1 });
    expect(report.layers.map((l) => l.status)).toEqual(['scaled', 'scaled', 'skipped']);
    expect(report.converged).toBe(true);
  });
});

describe('an empty batch is a GradStabError, not a model of "dead" layers (issue 13)', () => {
  it('lsuv and lsuvVariables refuse a batch with no example, and change no kernel', async () => {
    const model = mlp();
    const before = model.getWeights().map((w) => Array.from(w.dataSync()));
    await expect(lsuv(model, tf.zeros([0, 16]))).rejects.toThrow(
      new GradStabError(
        'lsuv: batch must hold at least one value (one example), got a tensor of shape [0,16] and dtype float32.',
      ),
    );
    expect(model.getWeights().map((w) => Array.from(w.dataSync()))).toEqual(before);
    const kernel = tf.variable(tf.ones([16, 40]));
    const steps = [{ name: 'k', kernel, output: (x: tf.Tensor[]) => tf.matMul(x[0] as tf.Tensor, kernel) }];
    await expect(lsuvVariables(steps, [tf.ones([2, 16]), tf.zeros([0, 16])])).rejects.toThrow(
      new GradStabError(
        'lsuvVariables: batch[1] must hold at least one value (one example), got a tensor of shape [0,16] and dtype float32.',
      ),
    );
  });
});
