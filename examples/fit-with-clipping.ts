/**
 * Gradient clipping in `model.fit`: the same seeded MLP trained with Adam on data with outlier batches (a few
 * targets of 1000 among targets in [-1, 1]), without and with clipping, then on the same data with a few corrupt
 * records (a NaN input) added. Prints, for each run, the loss on clean held-out data before and after training and
 * whether the weights stayed finite; for the guarded run, how many steps were clipped (raw global gradient norm
 * above the limit, counted by a `GradientHealthMonitor` tap in front of the clip) and how many were skipped. Last,
 * saves the guarded model with `includeOptimizer`, loads it back and checks that the optimizer came back whole.
 *
 *   node --import tsx examples/fit-with-clipping.ts                  # 20 epochs of 16 batches, wasm (or cpu)
 *   node --import tsx examples/fit-with-clipping.ts --backend cpu --steps 160
 *
 * The runs (4-32-32-1 tanh MLP, seeded Glorot weights, MSE, Adam 0.01, batches of 32 in a fixed order; in every 8
 * batches, the 4th has two targets of 1000 and, in the corrupt data, the 7th has a NaN in its first example):
 * - `adam`: `tf.train.adam(lr)` on the outlier data.
 * - `clipOptimizer`: `clipOptimizer(tf.train.adam(lr), {globalClipNorm: 1})` on the outlier data.
 * - `clipOptimizer + NaN`: the same on the corrupt data: clipping scales a NaN gradient to NaN (as PyTorch does).
 * - `skip + clip + NaN`: `withTransforms(tf.train.adam(lr), monitor.tap, skipNonFinite(), clipByGlobalNorm(1))`
 *   on the corrupt data: NaN steps are dropped, the others clipped.
 */
import * as tf from '@tensorflow/tfjs';
import {
  clipByGlobalNorm,
  clipOptimizer,
  GradientHealthMonitor,
  skipNonFinite,
  type TransformedOptimizer,
  withTransforms,
} from '../src/index.js';
import { type CommandLine, parseCommandLine, runWhenExecuted, startExample, wholeFlag } from './shared/cli.js';
import { saveToMemory } from './shared/save-to-memory.js';

type DenseArgs = Partial<Parameters<typeof tf.layers.dense>[0]>;

/** What to train. */
export interface FitClippingOptions {
  /** Training steps (batches) per run; a multiple of the batches per epoch. */
  readonly steps: number;
  /** Training examples; a multiple of `batchSize`. */
  readonly examples: number;
  /** Examples per step. */
  readonly batchSize: number;
  /** Adam's learning rate. */
  readonly learningRate: number;
  /** The clipping limit on the global L2 norm of the gradients. */
  readonly maxNorm: number;
  /** Seeds the data (the weights are seeded on their own, the same in every run). */
  readonly seed: number;
}

export const DEFAULTS: FitClippingOptions = {
  steps: 320,
  examples: 512,
  batchSize: 32,
  learningRate: 0.01,
  maxNorm: 1,
  seed: 1,
};

const FEATURES = 4;
const OUTLIER = 1000;

/** The clean target: y = sin(1.5 x.w) for a fixed w. */
function target(x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.sin(tf.mul(tf.matMul(x, tf.tensor2d([[1.5], [-2], [0.5], [1]])), 1.5)) as tf.Tensor2D);
}

/**
 * The training data: in every 8 batches, batch 3 (from 0) has two targets replaced by 1000 and, with `nanRecord`,
 * batch 6 has a NaN as the first feature of its first example.
 */
function trainingData(o: FitClippingOptions, nanRecord: boolean): { x: tf.Tensor2D; y: tf.Tensor2D } {
  return tf.tidy(() => {
    const n = o.examples;
    const batchOf = (i: number) => Math.floor(i / o.batchSize) % 8;
    const inBatch = (i: number) => i % o.batchSize;
    const outlier = Array.from({ length: n }, (_, i) => batchOf(i) === 3 && [5, 20].includes(inBatch(i)));
    const nan = Array.from({ length: n * FEATURES }, (_, j) => {
      const i = Math.floor(j / FEATURES);
      return nanRecord && batchOf(i) === 6 && inBatch(i) === 0 && j % FEATURES === 0;
    });
    const x = tf.randomUniform([n, FEATURES], -1, 1, 'float32', o.seed) as tf.Tensor2D;
    const y = tf.where(tf.tensor2d(outlier, [n, 1], 'bool'), tf.fill([n, 1], OUTLIER), target(x)) as tf.Tensor2D;
    return { x: tf.where(tf.tensor2d(nan, [n, FEATURES], 'bool'), tf.fill(x.shape, Number.NaN), x), y };
  });
}

/** 4-32-32-1 tanh MLP with seeded weights: the same starting point in every run. */
function makeModel(): tf.Sequential {
  const dense = (units: number, seed: number, extra: DenseArgs = {}) =>
    tf.layers.dense({ units, kernelInitializer: tf.initializers.glorotUniform({ seed }), ...extra });
  return tf.sequential({
    layers: [
      dense(32, 1, { activation: 'tanh', inputShape: [FEATURES] }),
      dense(32, 2, { activation: 'tanh' }),
      dense(1, 3),
    ],
  });
}

/** One run's results. */
export interface FitRun {
  readonly name: string;
  /** The optimizer, as code. */
  readonly optimizer: string;
  /** Whether the training data had the NaN record. */
  readonly nanRecord: boolean;
  /** MSE on clean held-out data before and after training (NaN once the weights are NaN). */
  readonly lossBefore: number;
  readonly lossAfter: number;
  readonly weightsFinite: boolean;
  /** Steps `fit` ran, and `optimizer.iterations` after it (skipped steps do not count). */
  readonly steps: number;
  readonly iterations: number;
  /** Monitored runs only: steps with a finite raw global norm above the limit (so clipped), and the largest. */
  readonly clippedSteps?: number;
  readonly maxRawNorm?: number;
  /** Monitored runs only: steps with NaN/Inf gradients, and the steps `skipNonFinite` dropped. */
  readonly nonFiniteSteps?: number;
  readonly skippedSteps?: number;
}

/** What the save/load round trip with `includeOptimizer` brought back. */
export interface SaveLoadCheck {
  /** The loaded optimizer's class, inner optimizer and transforms. */
  readonly optimizerClass: string;
  readonly innerOptimizer: string;
  readonly transforms: readonly string[];
  /** `iterations` of the saved and of the loaded optimizer. */
  readonly iterationsSaved: number;
  readonly iterationsLoaded: number;
  /** `skipNonFinite`'s saved count of skipped steps, as `readState()` of the loaded optimizer reports it. */
  readonly totalSkippedLoaded: number;
  /** Largest |difference| between the two models' predictions on the held-out data. */
  readonly maxPredictionDiff: number;
  /** Held-out loss of the loaded model after one more epoch on the corrupt data. */
  readonly lossAfterResuming: number;
}

export interface FitClippingResult {
  readonly runs: readonly FitRun[];
  readonly saveLoad: SaveLoadCheck;
}

async function scalar(t: tf.Tensor): Promise<number> {
  const v = (await t.data())[0] as number;
  t.dispose();
  return v;
}

async function heldOutLoss(model: tf.LayersModel, x: tf.Tensor2D, y: tf.Tensor2D): Promise<number> {
  return scalar(tf.tidy(() => tf.losses.meanSquaredError(y, model.predict(x) as tf.Tensor)));
}

async function allFinite(model: tf.LayersModel): Promise<boolean> {
  const values = await Promise.all(model.getWeights().map((w) => w.data()));
  return values.every((v) => v.every(Number.isFinite));
}

/** Saves the model with its optimizer to memory, loads it back, and compares. Disposes the loaded model. */
async function saveAndLoad(
  model: tf.LayersModel,
  data: { x: tf.Tensor2D; y: tf.Tensor2D },
  test: { x: tf.Tensor2D; y: tf.Tensor2D },
  o: FitClippingOptions,
): Promise<SaveLoadCheck> {
  const artifacts = await saveToMemory(model, { includeOptimizer: true });
  const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
  const saved = model.optimizer as TransformedOptimizer;
  const restored = loaded.optimizer as TransformedOptimizer; // a TransformedOptimizer again, with its state
  const state = await restored.readState();
  const iterationsLoaded = restored.iterations;
  const maxPredictionDiff = await scalar(
    tf.tidy(() => tf.max(tf.abs(tf.sub(model.predict(test.x) as tf.Tensor, loaded.predict(test.x) as tf.Tensor)))),
  );
  await loaded.fit(data.x, data.y, { batchSize: o.batchSize, epochs: 1, shuffle: false, verbose: 0 });
  const check: SaveLoadCheck = {
    optimizerClass: restored.getClassName(),
    innerOptimizer: restored.optimizer.getClassName(),
    transforms: restored.transforms.map((t) => t.kind),
    iterationsSaved: saved.iterations,
    iterationsLoaded,
    // State keys are `<transform index>/<name>`: skipNonFinite is transform 1 of [tap, skipNonFinite, clip].
    totalSkippedLoaded: state['1/totalSkipped'] as number,
    maxPredictionDiff,
    lossAfterResuming: await heldOutLoss(loaded, test.x, test.y),
  };
  restored.dispose(); // loadLayersModel compiled it; the model does not dispose it
  loaded.dispose();
  return check;
}

/** Trains the four runs, then saves and loads the last one. Leaves no tensor behind. */
export async function fitWithClipping(options: Partial<FitClippingOptions> = {}): Promise<FitClippingResult> {
  const o: FitClippingOptions = { ...DEFAULTS, ...options };
  const perEpoch = o.examples / o.batchSize;
  if (!Number.isInteger(perEpoch) || o.steps % perEpoch !== 0) {
    throw new Error(`steps (${o.steps}) must be a multiple of examples / batchSize (${perEpoch})`);
  }
  const outliers = trainingData(o, false);
  const corrupt = trainingData(o, true);
  const x = tf.randomUniform([256, FEATURES], -1, 1, 'float32', o.seed + 1) as tf.Tensor2D;
  const test = { x, y: target(x) };
  const runs: FitRun[] = [];
  const lr = o.learningRate;

  const plan: { name: string; nanRecord: boolean; code: string; optimizer: () => tf.Optimizer }[] = [
    { name: 'adam', nanRecord: false, code: `tf.train.adam(${lr})`, optimizer: () => tf.train.adam(lr) },
    {
      name: 'clipOptimizer',
      nanRecord: false,
      code: `clipOptimizer(adam, {globalClipNorm: ${o.maxNorm}})`,
      optimizer: () => clipOptimizer(tf.train.adam(lr), { globalClipNorm: o.maxNorm }),
    },
    {
      name: 'clipOptimizer + NaN',
      nanRecord: true,
      code: `clipOptimizer(adam, {globalClipNorm: ${o.maxNorm}})`,
      optimizer: () => clipOptimizer(tf.train.adam(lr), { globalClipNorm: o.maxNorm }),
    },
  ];
  // Every run: o.steps steps in a fixed batch order.
  const fitArgs = { batchSize: o.batchSize, epochs: o.steps / perEpoch, shuffle: false, verbose: 0 } as const;
  try {
    for (const run of plan) {
      const model = makeModel();
      const optimizer = run.optimizer();
      model.compile({ optimizer, loss: 'meanSquaredError' });
      const data = run.nanRecord ? corrupt : outliers;
      const lossBefore = await heldOutLoss(model, test.x, test.y);
      await model.fit(data.x, data.y, fitArgs);
      runs.push({
        name: run.name,
        optimizer: run.code,
        nanRecord: run.nanRecord,
        lossBefore,
        lossAfter: await heldOutLoss(model, test.x, test.y),
        weightsFinite: await allFinite(model),
        steps: o.steps,
        iterations: optimizer.iterations,
      });
      optimizer.dispose(); // compile() with an optimizer object: the model does not own it
      model.dispose();
    }

    // The guarded run. The monitor's tap comes first, so it sees the raw gradients (and passes them on unchanged):
    // its history tells how many steps the clip scaled down. Without it, this is
    // withTransforms(tf.train.adam(lr), skipNonFinite(), clipByGlobalNorm(maxNorm)).
    const model = makeModel();
    const monitor = new GradientHealthMonitor();
    const optimizer = withTransforms(tf.train.adam(lr), monitor.tap, skipNonFinite(), clipByGlobalNorm(o.maxNorm));
    model.compile({ optimizer, loss: 'meanSquaredError' });
    const lossBefore = await heldOutLoss(model, test.x, test.y);
    // The callback reads the monitor's figures at each epoch's end.
    await model.fit(corrupt.x, corrupt.y, { ...fitArgs, callbacks: [monitor.callback()] });
    await monitor.flush();
    const norms = monitor.history.map((r) => r.globalNorm);
    const finiteNorms = norms.filter(Number.isFinite);
    runs.push({
      name: 'skip + clip + NaN',
      optimizer: `withTransforms(adam, monitor.tap, skipNonFinite(), clipByGlobalNorm(${o.maxNorm}))`,
      nanRecord: true,
      lossBefore,
      lossAfter: await heldOutLoss(model, test.x, test.y),
      weightsFinite: await allFinite(model),
      steps: o.steps,
      iterations: optimizer.iterations,
      clippedSteps: finiteNorms.filter((n) => n > o.maxNorm).length,
      maxRawNorm: Math.max(...finiteNorms),
      nonFiniteSteps: norms.length - finiteNorms.length,
      skippedSteps: optimizer.skippedSteps,
    });
    const saveLoad = await saveAndLoad(model, corrupt, test, o);
    monitor.dispose();
    optimizer.dispose();
    model.dispose();
    return { runs, saveLoad };
  } finally {
    tf.dispose([outliers, corrupt, test]);
  }
}

const fmt = (v: number) => (Number.isFinite(v) && v !== 0 ? v.toPrecision(3) : String(v));

/** The results as printed. */
export function resultText(r: FitClippingResult, o: FitClippingOptions = DEFAULTS): string {
  const lines = ['run                    data              loss before -> after   weights finite  optimizer'];
  for (const run of r.runs) {
    lines.push(
      [
        run.name.padEnd(21),
        (run.nanRecord ? 'outliers + NaN' : 'outliers').padEnd(16),
        `${fmt(run.lossBefore).padStart(9)} -> ${fmt(run.lossAfter).padEnd(9)}`,
        String(run.weightsFinite).padEnd(14),
        run.optimizer,
      ].join('  '),
    );
  }
  const g = r.runs.find((run) => run.clippedSteps !== undefined);
  if (g) {
    lines.push(
      '',
      `${g.name}: of ${g.steps} steps, ${g.clippedSteps} had a raw global gradient norm above ${o.maxNorm} and were ` +
        `clipped to it (largest ${fmt(g.maxRawNorm ?? Number.NaN)}); ${g.nonFiniteSteps} had NaN/Inf gradients and ` +
        `${g.skippedSteps} were skipped (optimizer.iterations = ${g.iterations}).`,
    );
  }
  const s = r.saveLoad;
  lines.push(
    '',
    `save/load with includeOptimizer: ${s.optimizerClass}(${s.innerOptimizer}, [${s.transforms.join(', ')}]), ` +
      `iterations ${s.iterationsSaved} -> ${s.iterationsLoaded}, skipNonFinite's totalSkipped ${s.totalSkippedLoaded}, ` +
      `largest prediction difference ${fmt(s.maxPredictionDiff)}; one more epoch: loss ${fmt(s.lossAfterResuming)}.`,
  );
  return lines.join('\n');
}

const USAGE = [
  'usage: node --import tsx examples/fit-with-clipping.ts [--backend wasm|cpu] [--steps N]',
  '',
  'Trains a small MLP with model.fit and Adam on data with outlier batches (and a NaN record), without and with',
  'gradstab clipping; prints the clean loss, how many steps were clipped and skipped, and a save/load check.',
  '  --backend  tfjs backend (default wasm, falls back to cpu)',
  `  --steps    training steps per run, a multiple of ${DEFAULTS.examples / DEFAULTS.batchSize} (default ${DEFAULTS.steps})`,
].join('\n');

/** The command line, checked: `'help'` for `--help`, else the backend and the options. */
export function parseArgs(argv: readonly string[]): CommandLine<FitClippingOptions> {
  return parseCommandLine(argv, DEFAULTS, {
    '--steps': (value, options) => ({ ...options, steps: wholeFlag('--steps', value, 1) }),
  });
}

async function main(argv: readonly string[]): Promise<void> {
  const cli = await startExample(parseArgs(argv), USAGE);
  if (cli === undefined) return;
  const started = performance.now();
  const result = await fitWithClipping(cli.options);
  console.log(resultText(result, cli.options));
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`\n${cli.options.steps} steps per run, backend ${cli.backend}, ${seconds} s.`);
}

runWhenExecuted(import.meta.url, main);
