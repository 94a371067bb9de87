/**
 * The diagnosis zoo: small networks with a known training fault, each with the configuration known to train well,
 * and healthy networks that must get no finding. In the spirit of AutoTrainer's (ICSE 2021) and DeepDiagnosis's
 * (ICSE 2022) benchmarks, sized for the cpu backend: the test suite diagnoses every one of them, the benchmark
 * measures the fixes on longer budgets.
 */
import * as tf from '@tensorflow/tfjs';
import { heldOutLoss, splitExamples, trainSteps } from '../../src/diagnose/trial.js';
import type { DiagnoseOptions, FindingKind } from '../../src/index.js';
import { clipOptimizer, diagnose, layers as gsLayers, heNormal, xavierNormal } from '../../src/index.js';

export interface ZooData {
  readonly x: tf.Tensor;
  readonly y: tf.Tensor;
}

export interface ZooCase {
  readonly name: string;
  /** The finding kinds of which at least one must be found (empty: healthy, none may be found). */
  readonly expected: readonly FindingKind[];
  /** Layers the expected finding must name (at least one of them), when it is about layers. */
  readonly expectedLayers?: readonly string[];
  /** Makes the data (tensors the caller disposes). */
  data(): ZooData;
  /** The faulty (or healthy) model, compiled. */
  model(): tf.LayersModel;
  /** The configuration known to train well on this task, compiled (the faulty case's textbook fix). */
  knownGood(): tf.LayersModel;
  readonly loss: string;
  /** Options for diagnose (the steps of each trial, for one). */
  readonly options?: DiagnoseOptions;
  /** The demo-sized budget the prescription and the known-good configuration are trained for. */
  readonly budget: number;
  /** Runs on the cpu backend only (wasm has no Conv2DBackpropFilter or the like in tfjs 4.22). */
  readonly cpuOnly?: boolean;
}

type Init = NonNullable<Parameters<typeof tf.layers.dense>[0]['kernelInitializer']>;

const name = (i: number) => `h${String(i + 1).padStart(2, '0')}`;

/** A classification task: the sign of a fixed random projection of `features` normal inputs. */
function linearClasses(examples: number, features: number, seed: number): ZooData {
  return tf.tidy(() => {
    const x = tf.randomNormal([examples, features], 0, 1, 'float32', seed);
    const w = tf.randomNormal([features, 1], 0, 1, 'float32', seed + 1);
    return { x, y: tf.cast(tf.greater(tf.matMul(x, w), 0), 'float32') };
  });
}

/** A non-linear task: the sign of the product of two projections (XOR-like), so depth is useful. */
function xorClasses(examples: number, features: number, seed: number): ZooData {
  return tf.tidy(() => {
    const x = tf.randomNormal([examples, features], 0, 1, 'float32', seed);
    const w = tf.randomNormal([features, 2], 0, 1, 'float32', seed + 1);
    const p = tf.matMul(x, w);
    const prod = tf.prod(p, 1, true);
    return { x, y: tf.cast(tf.greater(prod, 0), 'float32') };
  });
}

/** A regression task: a fixed random linear map plus a little noise. */
function linearRegression(examples: number, features: number, seed: number): ZooData {
  return tf.tidy(() => {
    const x = tf.randomNormal([examples, features], 0, 1, 'float32', seed);
    const w = tf.randomNormal([features, 1], 0, 1, 'float32', seed + 1);
    const noise = tf.randomNormal([examples, 1], 0, 0.1, 'float32', seed + 2);
    return { x, y: tf.add(tf.matMul(x, w), noise) };
  });
}

interface MlpSpec {
  depth: number;
  width: number;
  inputs: number;
  activation: 'sigmoid' | 'tanh' | 'relu';
  init: (i: number) => Init;
  bias?: (i: number) => Init;
  batchNorm?: boolean;
  out?: 'sigmoid' | 'linear';
}

function mlp(spec: MlpSpec): tf.Sequential {
  const model = tf.sequential();
  for (let i = 0; i < spec.depth; i++) {
    const first = i === 0 ? { inputShape: [spec.inputs] } : {};
    if (spec.batchNorm) {
      model.add(tf.layers.dense({ name: name(i), units: spec.width, kernelInitializer: spec.init(i), ...first }));
      model.add(gsLayers.batchNormalization({ name: `${name(i)}_bn` }));
      model.add(tf.layers.activation({ name: `${name(i)}_act`, activation: spec.activation }));
    } else {
      model.add(
        tf.layers.dense({
          name: name(i),
          units: spec.width,
          activation: spec.activation,
          kernelInitializer: spec.init(i),
          ...(spec.bias ? { biasInitializer: spec.bias(i) } : {}),
          ...first,
        }),
      );
    }
  }
  model.add(
    tf.layers.dense({
      name: 'out',
      units: 1,
      activation: spec.out ?? 'sigmoid',
      kernelInitializer: tf.initializers.glorotUniform({ seed: 99 }),
      ...(spec.depth === 0 ? { inputShape: [spec.inputs] } : {}),
    }),
  );
  return model;
}

const glorot = (i: number) => tf.initializers.glorotUniform({ seed: 10 + i });
const he = (i: number) => heNormal({ seed: 10 + i });
const compiled = <M extends tf.LayersModel>(model: M, optimizer: tf.Optimizer, loss: string): M => {
  model.compile({ optimizer, loss });
  return model;
};

/** A small convolutional net on 6x6 single-channel images; the task: is the top half brighter than the bottom. */
function imageClasses(examples: number, seed: number): ZooData {
  return tf.tidy(() => {
    const x = tf.randomNormal([examples, 6, 6, 1], 0, 1, 'float32', seed);
    const top = tf.sum(tf.slice(x, [0, 0, 0, 0], [examples, 3, 6, 1]), [1, 2, 3]);
    const bottom = tf.sum(tf.slice(x, [0, 3, 0, 0], [examples, 3, 6, 1]), [1, 2, 3]);
    return { x, y: tf.reshape(tf.cast(tf.greater(top, bottom), 'float32'), [examples, 1]) };
  });
}

function convNet(depth: number, activation: 'sigmoid' | 'relu', batchNorm: boolean, seed: number): tf.Sequential {
  const model = tf.sequential();
  for (let i = 0; i < depth; i++) {
    const first = i === 0 ? { inputShape: [6, 6, 1] } : {};
    const init =
      activation === 'relu' ? heNormal({ seed: seed + i }) : tf.initializers.glorotUniform({ seed: seed + i });
    model.add(
      tf.layers.conv2d({
        name: `c${String(i + 1).padStart(2, '0')}`,
        filters: 4,
        kernelSize: 3,
        padding: 'same',
        activation: batchNorm ? 'linear' : activation,
        kernelInitializer: init,
        ...first,
      }),
    );
    if (batchNorm) {
      model.add(gsLayers.batchNormalization({ name: `c${i + 1}_bn` }));
      model.add(tf.layers.activation({ name: `c${i + 1}_act`, activation }));
    }
  }
  model.add(tf.layers.flatten({ name: 'flat' }));
  model.add(tf.layers.dense({ name: 'out', units: 1, activation: 'sigmoid', kernelInitializer: glorot(50) }));
  return model;
}

/** Sequences of `steps` scalars; the target is the sign of their sum (so the gradient must cross all steps). */
function sequenceClasses(examples: number, steps: number, seed: number): ZooData {
  return tf.tidy(() => {
    const x = tf.randomNormal([examples, steps, 1], 0, 1, 'float32', seed);
    return { x, y: tf.reshape(tf.cast(tf.greater(tf.sum(x, [1, 2]), 0), 'float32'), [examples, 1]) };
  });
}

function recurrent(kind: 'simpleRNN' | 'lstm', recurrentInit: Init, steps: number): tf.Sequential {
  const model = tf.sequential();
  const args = {
    name: 'rnn',
    units: 16,
    inputShape: [steps, 1],
    recurrentInitializer: recurrentInit,
    kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }),
  };
  model.add(kind === 'simpleRNN' ? tf.layers.simpleRNN(args) : tf.layers.lstm(args));
  model.add(tf.layers.dense({ name: 'out', units: 1, activation: 'sigmoid', kernelInitializer: glorot(60) }));
  return model;
}

const BCE = 'binaryCrossentropy';
const MSE = 'meanSquaredError';

export const ZOO: readonly ZooCase[] = [
  {
    name: 'deep sigmoid MLP, default init',
    expected: ['vanishing'],
    expectedLayers: ['h01', 'h02'],
    data: () => linearClasses(320, 4, 1),
    model: () =>
      compiled(mlp({ depth: 10, width: 16, inputs: 4, activation: 'sigmoid', init: glorot }), tf.train.sgd(0.5), BCE),
    knownGood: () =>
      compiled(
        mlp({ depth: 10, width: 16, inputs: 4, activation: 'sigmoid', init: glorot, batchNorm: true }),
        tf.train.sgd(0.5),
        BCE,
      ),
    loss: BCE,
    budget: 300,
  },
  {
    name: 'deep ReLU MLP, Xavier init',
    expected: ['vanishing'],
    expectedLayers: ['h01', 'h02'],
    data: () => linearClasses(320, 4, 2),
    model: () =>
      compiled(mlp({ depth: 32, width: 16, inputs: 4, activation: 'relu', init: glorot }), tf.train.sgd(0.05), BCE),
    knownGood: () =>
      compiled(mlp({ depth: 32, width: 16, inputs: 4, activation: 'relu', init: he }), tf.train.sgd(0.05), BCE),
    loss: BCE,
    budget: 300,
  },
  {
    name: 'deep tanh MLP, normal init with std 1',
    expected: ['saturated', 'exploding'],
    data: () => xorClasses(320, 4, 3),
    model: () =>
      compiled(
        mlp({
          depth: 8,
          width: 32,
          inputs: 4,
          activation: 'tanh',
          init: (i) => tf.initializers.randomNormal({ stddev: 1, seed: 20 + i }),
        }),
        tf.train.sgd(0.1),
        BCE,
      ),
    knownGood: () =>
      compiled(
        mlp({ depth: 8, width: 32, inputs: 4, activation: 'tanh', init: (i) => xavierNormal({ seed: 20 + i }) }),
        tf.train.sgd(0.1),
        BCE,
      ),
    loss: BCE,
    budget: 300,
  },
  {
    name: 'learning rate far too high (NaN)',
    expected: ['nonFinite', 'learningRateTooHigh'],
    data: () => linearClasses(320, 8, 4),
    model: () =>
      compiled(mlp({ depth: 3, width: 32, inputs: 8, activation: 'relu', init: he }), tf.train.sgd(200), BCE),
    knownGood: () =>
      compiled(mlp({ depth: 3, width: 32, inputs: 8, activation: 'relu', init: he }), tf.train.sgd(0.1), BCE),
    loss: BCE,
    budget: 200,
  },
  {
    name: 'learning rate far too low',
    expected: ['learningRateTooLow'],
    data: () => linearClasses(320, 8, 5),
    model: () =>
      compiled(mlp({ depth: 3, width: 32, inputs: 8, activation: 'relu', init: he }), tf.train.sgd(1e-5), BCE),
    knownGood: () =>
      compiled(mlp({ depth: 3, width: 32, inputs: 8, activation: 'relu', init: he }), tf.train.sgd(0.1), BCE),
    loss: BCE,
    budget: 200,
  },
  {
    name: "SimpleRNN on long sequences (Pascanu's exploding case)",
    // The family of the exploding gradient: on cpu the monitor sees the norm spikes (exploding, in rnn); on wasm,
    // whose rounding differs, the same run reads as a learning rate too high (the loss went up 2x) first.
    expected: ['exploding', 'learningRateTooHigh', 'nonFinite', 'unstableLoss'],
    data: () => sequenceClasses(320, 20, 6),
    model: () =>
      compiled(recurrent('simpleRNN', tf.initializers.orthogonal({ gain: 1.5, seed: 6 }), 20), tf.train.sgd(2), BCE),
    knownGood: () =>
      compiled(
        recurrent('simpleRNN', tf.initializers.orthogonal({ gain: 1.5, seed: 6 }), 20),
        clipOptimizer(tf.train.sgd(0.3), { globalClipNorm: 1 }),
        BCE,
      ),
    loss: BCE,
    budget: 200,
  },
  {
    name: 'dying ReLU (negative bias init)',
    expected: ['deadUnits'],
    data: () => linearClasses(320, 8, 7),
    model: () =>
      compiled(
        mlp({
          depth: 4,
          width: 32,
          inputs: 8,
          activation: 'relu',
          init: he,
          bias: () => tf.initializers.constant({ value: -3 }),
        }),
        tf.train.adam(0.01),
        BCE,
      ),
    knownGood: () =>
      compiled(mlp({ depth: 4, width: 32, inputs: 8, activation: 'relu', init: he }), tf.train.adam(0.01), BCE),
    loss: BCE,
    budget: 200,
  },
  {
    name: 'deep conv net without batch norm (sigmoid)',
    expected: ['vanishing', 'saturated'],
    data: () => imageClasses(160, 8),
    model: () => compiled(convNet(6, 'sigmoid', false, 30), tf.train.sgd(0.5), BCE),
    knownGood: () => compiled(convNet(6, 'sigmoid', true, 30), tf.train.sgd(0.5), BCE),
    loss: BCE,
    budget: 200,
    cpuOnly: true,
  },
  {
    name: 'oscillating loss (linear regression near its stability limit)',
    expected: ['unstableLoss', 'learningRateTooHigh'],
    data: () => linearRegression(320, 8, 9),
    model: () =>
      compiled(
        mlp({ depth: 0, width: 1, inputs: 8, activation: 'relu', init: he, out: 'linear' }),
        tf.train.sgd(0.9),
        'meanSquaredError',
      ),
    knownGood: () =>
      compiled(
        mlp({ depth: 0, width: 1, inputs: 8, activation: 'relu', init: he, out: 'linear' }),
        tf.train.sgd(0.1),
        'meanSquaredError',
      ),
    loss: 'meanSquaredError',
    budget: 200,
  },
  {
    name: 'deep ReLU MLP, init 3x too large',
    expected: ['exploding', 'nonFinite', 'learningRateTooHigh', 'unstableLoss'],
    data: () => linearRegression(320, 8, 10),
    model: () =>
      compiled(
        mlp({
          depth: 10,
          width: 32,
          inputs: 8,
          activation: 'relu',
          out: 'linear',
          init: (i) => tf.initializers.randomNormal({ stddev: 3 * Math.sqrt(2 / 32), seed: 40 + i }),
        }),
        tf.train.sgd(0.001),
        MSE,
      ),
    knownGood: () =>
      compiled(
        mlp({ depth: 10, width: 32, inputs: 8, activation: 'relu', out: 'linear', init: he }),
        tf.train.sgd(0.001),
        MSE,
      ),
    loss: MSE,
    budget: 200,
  },
  {
    name: 'healthy: He-init ReLU MLP with Adam',
    expected: [],
    data: () => xorClasses(320, 4, 11),
    model: () =>
      compiled(mlp({ depth: 3, width: 32, inputs: 4, activation: 'relu', init: he }), tf.train.adam(0.01), BCE),
    knownGood: () =>
      compiled(mlp({ depth: 3, width: 32, inputs: 4, activation: 'relu', init: he }), tf.train.adam(0.01), BCE),
    loss: BCE,
    budget: 200,
  },
  {
    name: 'healthy: small conv net with batch norm',
    expected: [],
    data: () => imageClasses(160, 12),
    model: () => compiled(convNet(3, 'relu', true, 70), tf.train.adam(0.01), BCE),
    knownGood: () => compiled(convNet(3, 'relu', true, 70), tf.train.adam(0.01), BCE),
    loss: BCE,
    budget: 200,
    cpuOnly: true,
  },
  {
    name: 'healthy: LSTM with clipping',
    expected: [],
    data: () => sequenceClasses(320, 10, 13),
    model: () =>
      compiled(
        recurrent('lstm', tf.initializers.orthogonal({ gain: 1, seed: 13 }), 10),
        clipOptimizer(tf.train.adam(0.01), { globalClipNorm: 1 }),
        BCE,
      ),
    knownGood: () =>
      compiled(
        recurrent('lstm', tf.initializers.orthogonal({ gain: 1, seed: 13 }), 10),
        clipOptimizer(tf.train.adam(0.01), { globalClipNorm: 1 }),
        BCE,
      ),
    loss: BCE,
    budget: 200,
  },
  {
    name: 'healthy: logistic regression',
    expected: [],
    data: () => linearClasses(320, 8, 14),
    model: () => compiled(mlp({ depth: 0, width: 1, inputs: 8, activation: 'relu', init: he }), tf.train.sgd(0.5), BCE),
    knownGood: () =>
      compiled(mlp({ depth: 0, width: 1, inputs: 8, activation: 'relu', init: he }), tf.train.sgd(0.5), BCE),
    loss: BCE,
    budget: 200,
  },
];

/** What {@link checkZooCase} measured for one case of the zoo. */
export interface ZooOutcome {
  readonly name: string;
  readonly expected: readonly FindingKind[];
  readonly found: readonly FindingKind[];
  /** Whether the finding kinds are right: one expected kind (with one expected layer) found, or none for a healthy case. */
  readonly rightFinding: boolean;
  readonly healthy: boolean;
  /** The winning prescription's kind, or null. */
  readonly winner: string | null;
  readonly winnerDescription: string | null;
  /** Held-out losses after `budget` steps: the unchanged model, the winner applied, the known-good configuration. */
  readonly baselineLoss: number;
  readonly fixedLoss: number | null;
  readonly knownGoodLoss: number;
  /** Whether the winner came within 20% of the known-good loss (null for the healthy cases, or without `compare`). */
  readonly fixed: boolean | null;
  readonly seconds: number;
  readonly summary: string;
}

/** Trains a compiled model for `steps` steps on the first 80% of the examples and returns the loss on the rest. */
async function trainedLoss(model: tf.LayersModel, data: ZooData, steps: number): Promise<number> {
  const count = data.x.shape[0] as number;
  const held = Math.round(count * 0.2);
  const { train, heldOut } = splitExamples({ x: [data.x], y: [data.y], count }, held);
  try {
    await trainSteps(model, train, steps, 32, { afterStep: (_, loss) => Number.isFinite(loss) });
    return await heldOutLoss(model, heldOut, 32);
  } finally {
    tf.dispose([...train.x, ...train.y, ...heldOut.x, ...heldOut.y]);
  }
}

/**
 * Diagnoses one case of the zoo, then (with `compare`) trains the unchanged model, the winning prescription
 * applied and the known-good configuration for the case's budget, on the same batches, and compares their
 * held-out losses (NaN when not compared).
 */
export async function checkZooCase(c: ZooCase, options: DiagnoseOptions = {}, compare = true): Promise<ZooOutcome> {
  const done = (m: tf.LayersModel) => {
    m.optimizer?.dispose(); // (model.dispose() leaves the optimizer: SGD's rate scalar, Adam's moments)
    m.dispose();
  };
  const data = c.data();
  const model = c.model();
  const started = performance.now();
  const diagnosis = await diagnose(model, data, { ...c.options, ...options });
  const seconds = (performance.now() - started) / 1000;
  try {
    const found = diagnosis.findings.map((f) => f.kind);
    const rightFinding =
      c.expected.length === 0
        ? diagnosis.healthy && found.length === 0
        : diagnosis.findings.some(
            (f) =>
              c.expected.includes(f.kind) && (!c.expectedLayers || c.expectedLayers.some((l) => f.layers.includes(l))),
          );
    const winner = diagnosis.prescriptions.find((p) => p.verified !== null) ?? null;
    let baselineLoss = Number.NaN;
    let knownGoodLoss = Number.NaN;
    let fixedLoss: number | null = null;
    if (compare) {
      const baseline = c.model();
      baselineLoss = await trainedLoss(baseline, data, c.budget);
      done(baseline);
      const good = c.knownGood();
      knownGoodLoss = await trainedLoss(good, data, c.budget);
      done(good);
      if (winner) {
        const fresh = c.model();
        const applied = await winner.apply(fresh);
        fixedLoss = await trainedLoss(applied.model, data, c.budget);
        done(applied.model);
        done(fresh);
      }
    }
    return {
      name: c.name,
      expected: c.expected,
      found,
      rightFinding,
      healthy: diagnosis.healthy,
      winner: winner?.kind ?? null,
      winnerDescription: winner?.description ?? null,
      baselineLoss,
      fixedLoss,
      knownGoodLoss,
      fixed: c.expected.length === 0 || !compare ? null : fixedLoss !== null && fixedLoss <= 1.2 * knownGoodLoss,
      seconds,
      summary: diagnosis.summary(),
    };
  } finally {
    diagnosis.dispose();
    done(model);
    tf.dispose([data.x, data.y]);
  }
}
