import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { type DiagnoseProgress, diagnose, GradStabError, heNormal } from '../../src/index.js';
import { countBlockingReads, tensorsLeftBy, useCpu } from '../helpers/tf.js';

/** 160 examples: the sign of a fixed projection of 4 normal inputs. */
function classes(seed = 1) {
  return tf.tidy(() => {
    const x = tf.randomNormal([160, 4], 0, 1, 'float32', seed);
    const w = tf.tensor2d([[1], [-2], [0.5], [1.5]]);
    return { x, y: tf.cast(tf.greater(tf.matMul(x, w), 0), 'float32') };
  });
}

function logistic(learningRate: number) {
  const model = tf.sequential({
    layers: [
      tf.layers.dense({
        name: 'out',
        units: 1,
        activation: 'sigmoid',
        inputShape: [4],
        kernelInitializer: heNormal({ seed: 3 }),
      }),
    ],
  });
  model.compile({ optimizer: tf.train.sgd(learningRate), loss: 'binaryCrossentropy' });
  return model;
}

/** 160 examples of a noisy linear map of 4 normal inputs. */
function targets(seed = 1) {
  return tf.tidy(() => {
    const x = tf.randomNormal([160, 4], 0, 1, 'float32', seed);
    const w = tf.tensor2d([[1], [-2], [0.5], [1.5]]);
    return { x, y: tf.add(tf.matMul(x, w), tf.randomNormal([160, 1], 0, 0.1, 'float32', seed + 1)) };
  });
}

/** Linear regression by SGD on the mean squared error: stable below a learning rate of about 1 on this data. */
function linear(learningRate: number) {
  const model = tf.sequential({
    layers: [tf.layers.dense({ name: 'out', units: 1, inputShape: [4], kernelInitializer: heNormal({ seed: 3 }) })],
  });
  model.compile({ optimizer: tf.train.sgd(learningRate), loss: 'meanSquaredError' });
  return model;
}

/** A 7-layer ReLU MLP with a bias of -2: most units are dead from the start. */
function deadRelu() {
  const model = tf.sequential();
  for (let i = 0; i < 7; i++) {
    model.add(
      tf.layers.dense({
        name: `h${i + 1}`,
        units: 16,
        activation: 'relu',
        kernelInitializer: heNormal({ seed: 10 + i }),
        biasInitializer: tf.initializers.constant({ value: -2 }),
        ...(i === 0 ? { inputShape: [4] } : {}),
      }),
    );
  }
  model.add(
    tf.layers.dense({ name: 'out', units: 1, activation: 'sigmoid', kernelInitializer: heNormal({ seed: 1 }) }),
  );
  model.compile({ optimizer: tf.train.adam(0.01), loss: 'binaryCrossentropy' });
  return model;
}

const weightsOf = (model: tf.LayersModel) => model.getWeights().map((w) => Array.from(w.dataSync()));
const fast = { steps: 30, rangeSteps: 30, batchSize: 32 };

describe('diagnose', () => {
  beforeAll(useCpu);

  it('finds a learning rate far too high, prescribes a lower one that it verified, and leaves the model as it was', async () => {
    const data = targets();
    const model = linear(3);
    const before = weightsOf(model);
    const diagnosis = await diagnose(model, data, fast);
    expect(diagnosis.healthy).toBe(false);
    expect(diagnosis.findings.map((f) => f.kind)).toContain('learningRateTooHigh');
    const best = diagnosis.prescriptions[0];
    expect(best, diagnosis.summary()).toBeDefined();
    expect(['learningRate', 'clipping']).toContain(best?.kind);
    expect(best?.verified?.improved).toBe(true);
    expect(best?.verified?.loss).toBeLessThan(best?.verified?.baselineLoss as number);
    expect(best?.verified?.steps).toBe(30);
    // ranked by the verified held-out loss
    const losses = diagnosis.prescriptions.map((p) => p.verified?.loss as number);
    expect([...losses].sort((a, b) => a - b)).toEqual(losses);
    expect(diagnosis.rejected.every((p) => p.verified?.improved === false)).toBe(true);
    expect(weightsOf(model)).toEqual(before);
    expect((model.optimizer as tf.SGDOptimizer).iterations).toBe(0);
    expect(diagnosis.summary()).toContain('Prescriptions (best first)');
    diagnosis.dispose();
    model.dispose();
    tf.dispose(data);
  });

  it("applies a prescription to a new compiled model with the model's weights, the input untouched", async () => {
    const data = targets();
    const model = linear(3);
    const diagnosis = await diagnose(model, data, { ...fast, maxCandidates: 2 });
    const lr = diagnosis.prescriptions.find((p) => p.kind === 'learningRate');
    expect(lr, diagnosis.summary()).toBeDefined();
    const { model: fixed, optimizer } = await (lr as NonNullable<typeof lr>).apply(model);
    expect(fixed).not.toBe(model);
    expect(fixed.optimizer).toBe(optimizer);
    expect((optimizer as tf.SGDOptimizer).getConfig().learningRate).toBe(lr?.settings.learningRate);
    expect(weightsOf(fixed)).toEqual(weightsOf(model));
    const h = await fixed.fit(data.x, data.y, { epochs: 3, batchSize: 32, verbose: 0 });
    expect(h.history.loss?.every((l) => Number.isFinite(l as number))).toBe(true);
    expect(lr?.code).toMatch(/tf\.train\.sgd\(/);
    fixed.dispose();
    diagnosis.dispose();
    model.dispose();
    tf.dispose(data);
  });

  it('reports a healthy model healthy, with nothing prescribed and nothing tried', async () => {
    const data = classes(2);
    const model = logistic(0.5);
    const diagnosis = await diagnose(model, data, fast);
    expect(diagnosis.findings, diagnosis.summary()).toEqual([]);
    expect(diagnosis.healthy).toBe(true);
    expect(diagnosis.prescriptions).toEqual([]);
    expect(diagnosis.rejected).toEqual([]);
    expect(diagnosis.summary()).toMatch(/^Healthy/);
    expect(diagnosis.measurements.heldOutAfter).toBeLessThan(diagnosis.measurements.heldOutBefore);
    diagnosis.dispose();
    model.dispose();
    tf.dispose(data);
  });

  it('finds dead units and prescribes a verified fix that names the layers; leaves 0 tensors and makes 0 blocking reads', async () => {
    const data = classes(3);
    const model = deadRelu();
    let diagnosis: Awaited<ReturnType<typeof diagnose>> | undefined;
    const left = await tensorsLeftBy(async () => {
      const reads = await countBlockingReads(async () => {
        diagnosis = await diagnose(model, data, { steps: 100 });
      });
      expect(reads).toBe(0);
      diagnosis?.dispose();
    });
    expect(left).toBe(0);
    const d = diagnosis as NonNullable<typeof diagnosis>;
    const dead = d.findings.find((f) => f.kind === 'deadUnits');
    expect(dead, d.summary()).toBeDefined();
    expect(dead?.layers.length).toBeGreaterThan(0);
    const best = d.prescriptions[0];
    expect(best?.verified?.improved, d.summary()).toBe(true);
    expect(best?.description).toMatch(/h\d/); // it names the layers
    model.dispose();
    tf.dispose(data);
  });

  it('reads a tf.data.Dataset of {xs, ys}, batched or not, as it reads the same tensors', async () => {
    const data = targets(4);
    const model = linear(3);
    const fromTensors = await diagnose(model, data, { ...fast, verify: false });
    const rows = (t: tf.Tensor) => tf.unstack(t);
    const dataset = tf.data.zip({ xs: tf.data.array(rows(data.x)), ys: tf.data.array(rows(data.y)) });
    const unbatched = await diagnose(model, dataset, { ...fast, verify: false });
    const batched = await diagnose(model, dataset.batch(24), { ...fast, verify: false });
    const capped = await diagnose(model, dataset.batch(24), { ...fast, verify: false, maxExamples: 100 });
    for (const d of [unbatched, batched]) {
      expect(d.measurements.trainExamples).toBe(fromTensors.measurements.trainExamples);
      expect(d.measurements.losses).toEqual(fromTensors.measurements.losses);
      expect(d.findings.map((f) => f.kind)).toEqual(fromTensors.findings.map((f) => f.kind));
    }
    expect(capped.measurements.trainExamples + capped.measurements.heldOutExamples).toBe(100);
    for (const d of [fromTensors, unbatched, batched, capped]) d.dispose();
    model.dispose();
    tf.dispose(data);
  });

  it('without verify, lists every candidate unverified in the order derived', async () => {
    const data = targets(5);
    const model = linear(3);
    const d = await diagnose(model, data, { ...fast, verify: false });
    expect(d.prescriptions.length).toBeGreaterThan(0);
    expect(d.prescriptions.every((p) => p.verified === null)).toBe(true);
    expect(d.rejected).toEqual([]);
    d.dispose();
    model.dispose();
    tf.dispose(data);
  });

  it('reports its stages in order with a never-decreasing fraction, and stops on an abort signal leaving 0 tensors', async () => {
    const data = targets(6);
    const model = linear(3);
    const seen: DiagnoseProgress[] = [];
    const d = await diagnose(model, data, { ...fast, maxCandidates: 1, onProgress: (p) => seen.push(p) });
    const stages = [...new Set(seen.map((p) => p.stage))];
    expect(stages).toEqual(['baseline', 'rangeTest', 'verify']);
    expect(seen.every((p, i) => i === 0 || p.fraction >= (seen[i - 1] as DiagnoseProgress).fraction)).toBe(true);
    expect(seen.at(-1)?.fraction).toBeCloseTo(1, 5);
    expect(seen.filter((p) => p.stage === 'verify').every((p) => p.candidate !== null)).toBe(true);
    d.dispose();

    const controller = new AbortController();
    const reason = new Error('stop');
    const left = await tensorsLeftBy(async () => {
      const run = diagnose(model, data, {
        ...fast,
        onProgress: (p) => {
          if (p.stage === 'rangeTest') controller.abort(reason);
        },
        signal: controller.signal,
      });
      await expect(run).rejects.toBe(reason);
    });
    expect(left).toBe(0);
    model.dispose();
    tf.dispose(data);
  });

  it('trains with the optimizer given (an instance copied, or a factory) and leaves it as it was', async () => {
    const data = targets(7);
    const model = linear(0.1);
    const given = tf.train.sgd(3);
    const fromInstance = await diagnose(model, data, { ...fast, optimizer: given, verify: false });
    expect(fromInstance.measurements.learningRate).toBe(3);
    expect(fromInstance.findings.map((f) => f.kind)).toContain('learningRateTooHigh');
    expect(given.iterations).toBe(0);
    const fromFactory = await diagnose(model, data, { ...fast, optimizer: () => tf.train.sgd(3), verify: false });
    expect(fromFactory.measurements.losses).toEqual(fromInstance.measurements.losses);
    for (const d of [fromInstance, fromFactory]) d.dispose();
    given.dispose();
    model.dispose();
    tf.dispose(data);
  });

  it("frees what tfjs's MomentumOptimizer.dispose() forgets: 0 tensors left with momentum trials", async () => {
    const data = targets(9);
    const model = linear(3);
    const left = await tensorsLeftBy(async () => {
      const d = await diagnose(model, data, { ...fast, optimizer: () => tf.train.momentum(3, 0.9), maxCandidates: 2 });
      expect(d.rejected.length + d.prescriptions.length).toBeGreaterThan(0);
      d.dispose();
    });
    expect(left).toBe(0);
    model.dispose();
    tf.dispose(data);
  });

  it("refuses a factory that returns the model's optimizer or the same one twice, and leaves that optimizer working", async () => {
    const data = targets(10);
    const model = linear(0.1);
    const own = await diagnose(model, data, { ...fast, optimizer: () => model.optimizer }).catch((e) => e);
    expect(own).toBeInstanceOf(GradStabError);
    expect(String(own)).toMatch(/diagnose: options.optimizer must return a new tf.Optimizer on each call/);
    const shared = tf.train.sgd(0.1);
    const twice = await diagnose(model, data, { ...fast, optimizer: () => shared }).catch((e) => e);
    expect(String(twice)).toMatch(/a new tf.Optimizer on each call/);
    // both optimizers still train
    await model.fit(data.x, data.y, { epochs: 1, verbose: 0 });
    const v = tf.variable(tf.scalar(1));
    shared.minimize(() => tf.square(v) as tf.Scalar);
    expect(v.dataSync()[0]).toBeCloseTo(0.8, 5);
    v.dispose();
    const lrFactory = await diagnose(model, data, {
      ...fast,
      optimizer: ((lr: number) => tf.train.sgd(lr)) as unknown as () => tf.Optimizer,
    }).catch((e) => e);
    shared.dispose();
    expect(lrFactory).toBeInstanceOf(GradStabError);
    expect(String(lrFactory)).toMatch(/the factory takes no argument|it takes no argument/);
    model.dispose();
    tf.dispose(data);
  });

  it('diagnoses a two-output model compiled with one loss per output', async () => {
    const data = targets(11);
    const input = tf.input({ shape: [4] });
    const a = tf.layers.dense({ units: 1, name: 'a' }).apply(input) as tf.SymbolicTensor;
    const b = tf.layers.dense({ units: 1, name: 'b', activation: 'sigmoid' }).apply(input) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: [a, b] });
    model.compile({ optimizer: tf.train.sgd(3), loss: ['meanSquaredError', 'binaryCrossentropy'] });
    const labels = tf.tidy(() => tf.cast(tf.greater(data.y, 0), 'float32'));
    const d = await diagnose(model, { x: data.x, y: [data.y, labels] }, fast);
    expect(d.findings.map((f) => f.kind)).toContain('learningRateTooHigh');
    expect(d.prescriptions[0]?.verified?.improved, d.summary()).toBe(true);
    d.dispose();
    model.dispose();
    tf.dispose([labels, data.x, data.y]);
  });

  it('passes on an error thrown by onProgress as it is, refuses a disposed model, and shuffles unless told not to', async () => {
    const data = targets(12);
    const model = linear(0.1);
    const mine = new Error('mine');
    const thrown = await diagnose(model, data, {
      ...fast,
      onProgress: () => {
        throw mine;
      },
    }).catch((e) => e);
    expect(thrown).toBe(mine);
    const shuffled = await diagnose(model, data, { ...fast, verify: false });
    const inOrder = await diagnose(model, data, { ...fast, verify: false, shuffle: false });
    expect(inOrder.measurements.losses).not.toEqual(shuffled.measurements.losses);
    shuffled.dispose();
    inOrder.dispose();
    const gone = linear(0.1);
    gone.dispose();
    const disposed = await diagnose(gone, data, fast).catch((e) => e);
    expect(String(disposed)).toMatch(/diagnose: model must not be disposed/);
    model.dispose();
    tf.dispose(data);
  });

  it('serializes to JSON without the functions, and refuses to apply a prescription once disposed', async () => {
    const data = targets(8);
    const model = linear(3);
    const d = await diagnose(model, data, { ...fast, maxCandidates: 1 });
    const json = JSON.parse(JSON.stringify(d));
    expect(json.healthy).toBe(false);
    expect(json.findings.length).toBe(d.findings.length);
    expect(json.prescriptions.every((p: object) => !('apply' in p))).toBe(true);
    expect(json.measurements.steps).toBe(30);
    d.dispose();
    d.dispose(); // twice is fine
    const appliable = [...d.prescriptions, ...d.rejected].find((p) => p.kind !== 'architecture');
    const applied = await appliable?.apply(model).catch((e) => e);
    expect(applied).toBeInstanceOf(GradStabError);
    expect(String(applied)).toMatch(/disposed/);
    model.dispose();
    tf.dispose(data);
  });
});
