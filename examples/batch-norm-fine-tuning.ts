/**
 * Fine-tuning a model that has batch normalization: pre-train a small MLP with gradstab's
 * `layers.batchNormalization`, save it (`tf.io.withSaveHandler`) and load it back (`tf.io.fromMemory`), freeze its
 * layers (`layer.trainable = false`), put a new head on top and train only the head on shifted data. A frozen
 * gradstab batch-norm layer runs in inference mode, as in Keras 2+: it normalizes with the moving statistics it
 * learned in pre-training and leaves them as they are. Prints how far the frozen weights and the moving statistics
 * moved (0) while the head's loss fell; then the same with `tf.layers.batchNormalization`, whose frozen layer keeps
 * updating its moving statistics from the new data (tfjs 4.22).
 *
 *   node --import tsx examples/batch-norm-fine-tuning.ts                 # 160 pre-training + 80 fine-tuning steps
 *   node --import tsx examples/batch-norm-fine-tuning.ts --backend cpu --steps 40
 *
 * The model: Dense(16, no bias) -> batch norm -> ReLU, twice (the base), then Dense(1) (the head); seeded weights;
 * batch-norm momentum 0.9 so the moving statistics keep up with a short pre-training. Pre-training: 512 examples of
 * 4 standard-normal features, y = sin(x.a); fine-tuning: 256 examples shifted by +1.5 (x ~ N(1.5, 1)), a new
 * target y = tanh(x.b), and a new Dense(1) head. Adam 0.01, batches of 32; `--steps` sets the fine-tuning steps
 * (pre-training takes twice as many).
 */
import * as tf from '@tensorflow/tfjs';
import { layers } from '../src/index.js';
import { type CommandLine, parseCommandLine, runWhenExecuted, startExample, wholeFlag } from './shared/cli.js';
import { saveToMemory } from './shared/save-to-memory.js';

type DenseArgs = Partial<Parameters<typeof tf.layers.dense>[0]>;

/** What to train. */
export interface FineTuneOptions {
  /** Fine-tuning steps (batches of 32 over 256 examples: a multiple of 8); pre-training takes twice as many. */
  readonly steps: number;
  /** Which batch-norm layer: gradstab's, or tfjs's for the contrast. */
  readonly batchNorms: readonly ('gradstab' | 'tfjs')[];
}

export const DEFAULTS: FineTuneOptions = { steps: 80, batchNorms: ['gradstab', 'tfjs'] };

const FEATURES = 4;
const BATCH = 32;
const PRETRAIN_EXAMPLES = 512;
const FINETUNE_EXAMPLES = 256;

/** The pre-trained model: a base of two Dense -> batch norm -> ReLU blocks, and a Dense(1) head. */
function pretrainedShape(bn: 'gradstab' | 'tfjs'): tf.Sequential {
  const norm = (name: string) =>
    bn === 'gradstab'
      ? layers.batchNormalization({ name, momentum: 0.9 })
      : tf.layers.batchNormalization({ name, momentum: 0.9 });
  const dense = (name: string, seed: number, extra: DenseArgs = {}) =>
    tf.layers.dense({
      name,
      units: 16,
      useBias: false,
      kernelInitializer: tf.initializers.heNormal({ seed }),
      ...extra,
    });
  return tf.sequential({
    layers: [
      dense('base1', 1, { inputShape: [FEATURES] }),
      norm('bn1'),
      tf.layers.reLU({ name: 'relu1' }),
      dense('base2', 2),
      norm('bn2'),
      tf.layers.reLU({ name: 'relu2' }),
      tf.layers.dense({ name: 'head', units: 1, kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }),
    ],
  });
}

/** n examples: x ~ N(shift, 1) with seed `seed`, and the target of x. */
function examples(n: number, shift: number, seed: number, target: (x: tf.Tensor2D) => tf.Tensor) {
  return tf.tidy(() => {
    const x = tf.randomNormal([n, FEATURES], shift, 1, 'float32', seed) as tf.Tensor2D;
    return { x, y: target(x) as tf.Tensor2D };
  });
}
const taskA = (x: tf.Tensor2D) => tf.sin(tf.matMul(x, tf.tensor2d([[0.8], [-0.5], [0.3], [0.6]])));
const taskB = (x: tf.Tensor2D) => tf.tanh(tf.matMul(x, tf.tensor2d([[-0.4], [0.7], [0.5], [-0.3]])));

/** A copy of the model's weights, by name. */
function snapshot(model: tf.LayersModel): Map<string, tf.Tensor> {
  return new Map(model.weights.map((w) => [w.originalName, tf.clone(w.read())]));
}

/** The largest |now - before| over the weights whose name matches. */
async function largestChange(model: tf.LayersModel, before: Map<string, tf.Tensor>, which: RegExp): Promise<number> {
  const changes = tf.tidy(() =>
    tf.stack(
      model.weights
        .filter((w) => which.test(w.originalName) && before.has(w.originalName))
        .map((w) => tf.max(tf.abs(tf.sub(w.read(), before.get(w.originalName) as tf.Tensor)))),
    ),
  );
  const largest = Math.max(...(await changes.data()));
  changes.dispose();
  return largest;
}

async function mse(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor): Promise<number> {
  const loss = tf.tidy(() => tf.losses.meanSquaredError(y, model.predict(x) as tf.Tensor));
  const value = (await loss.data())[0] as number;
  loss.dispose();
  return value;
}

/** One fine-tuning run. */
export interface FineTuneRun {
  readonly batchNorm: 'gradstab' | 'tfjs';
  /** Held-out loss of the pre-trained model on its own task, before saving and after loading. */
  readonly pretrainLoss: number;
  readonly loadedLoss: number;
  /** The class of the loaded model's batch-norm layers (the class name it was saved under). */
  readonly loadedClass: string;
  /** `trainable` of the fine-tuned model's weights: the new head's only. */
  readonly trainableWeights: readonly string[];
  /** Held-out loss on the shifted task, with the new head, before and after fine-tuning. */
  readonly headLossBefore: number;
  readonly headLossAfter: number;
  /** Largest change of the frozen base's kernels, gamma and beta; and of the batch norms' moving statistics. */
  readonly frozenWeightsChange: number;
  readonly movingMeanChange: number;
  readonly movingVarianceChange: number;
}

async function fineTune(bn: 'gradstab' | 'tfjs', o: FineTuneOptions): Promise<FineTuneRun> {
  const a = examples(PRETRAIN_EXAMPLES, 0, 1, taskA);
  const aTest = examples(256, 0, 2, taskA);
  const b = examples(FINETUNE_EXAMPLES, 1.5, 3, taskB);
  const bTest = examples(256, 1.5, 4, taskB);
  const adam = () => tf.train.adam(0.01);
  const fitArgs = { batchSize: BATCH, shuffle: false, verbose: 0 } as const;

  // 1. Pre-train, then save to memory (a file or IndexedDB works the same way).
  const pretrained = pretrainedShape(bn);
  const pretrainOptimizer = adam();
  pretrained.compile({ optimizer: pretrainOptimizer, loss: 'meanSquaredError' });
  await pretrained.fit(a.x, a.y, { ...fitArgs, epochs: (2 * o.steps * BATCH) / PRETRAIN_EXAMPLES });
  const pretrainLoss = await mse(pretrained, aTest.x, aTest.y);
  const saved = await saveToMemory(pretrained);
  pretrainOptimizer.dispose();
  pretrained.dispose();

  // 2. Load it (gradstab's layers are registered by importing gradstab), freeze every layer, add a new head.
  const loaded = await tf.loadLayersModel(tf.io.fromMemory(saved));
  const loadedLoss = await mse(loaded, aTest.x, aTest.y);
  for (const layer of loaded.layers) layer.trainable = false; // batch norm too: inference mode, statistics kept
  const features = loaded.getLayer('relu2').output as tf.SymbolicTensor;
  const head = tf.layers.dense({
    name: 'newHead',
    units: 1,
    kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }),
  });
  const model = tf.model({ inputs: loaded.inputs, outputs: head.apply(features) as tf.SymbolicTensor });
  const optimizer = adam();
  model.compile({ optimizer, loss: 'meanSquaredError' });

  // 3. Train the head on the shifted data, and measure what moved.
  const before = snapshot(model);
  const headLossBefore = await mse(model, bTest.x, bTest.y);
  await model.fit(b.x, b.y, { ...fitArgs, epochs: (o.steps * BATCH) / FINETUNE_EXAMPLES });
  const run: FineTuneRun = {
    batchNorm: bn,
    pretrainLoss,
    loadedLoss,
    loadedClass: loaded.getLayer('bn1').getClassName(),
    trainableWeights: model.trainableWeights.map((w) => w.originalName),
    headLossBefore,
    headLossAfter: await mse(model, bTest.x, bTest.y),
    frozenWeightsChange: await largestChange(model, before, /^(base|bn).*\/(kernel|gamma|beta)$/),
    movingMeanChange: await largestChange(model, before, /moving_mean$/),
    movingVarianceChange: await largestChange(model, before, /moving_variance$/),
  };
  tf.dispose([...before.values(), a, aTest, b, bTest]);
  optimizer.dispose();
  model.dispose(); // its layers: the loaded base and the new head
  loaded.getLayer('head').dispose(); // the old head, not part of the new model
  return run;
}

/** Pre-trains, saves, loads, freezes and fine-tunes, once per batch-norm layer. Leaves no tensor behind. */
export async function batchNormFineTuning(options: Partial<FineTuneOptions> = {}): Promise<FineTuneRun[]> {
  const o: FineTuneOptions = { ...DEFAULTS, ...options };
  if (o.steps % (FINETUNE_EXAMPLES / BATCH) !== 0) throw new Error(`steps must be a multiple of 8, got ${o.steps}`);
  const runs: FineTuneRun[] = [];
  for (const bn of o.batchNorms) runs.push(await fineTune(bn, o));
  return runs;
}

const f = (v: number) => (v === 0 ? '0' : Math.abs(v) < 1e-3 ? v.toExponential(2) : v.toFixed(4));

/** The results as printed. */
export function resultText(runs: readonly FineTuneRun[]): string {
  const lines: string[] = [];
  for (const r of runs) {
    const name = r.batchNorm === 'gradstab' ? 'gradstab layers.batchNormalization' : 'tf.layers.batchNormalization';
    lines.push(
      `=== ${name}`,
      `pre-trained loss ${f(r.pretrainLoss)}; after save and load ${f(r.loadedLoss)} (batch norm: ${r.loadedClass})`,
      `fine-tuning trains only [${r.trainableWeights.join(', ')}]`,
      `new head, loss on the shifted task: ${f(r.headLossBefore)} -> ${f(r.headLossAfter)}`,
      `frozen kernels, gamma, beta: largest change ${f(r.frozenWeightsChange)}`,
      `frozen moving statistics: largest change of a moving mean ${f(r.movingMeanChange)}, ` +
        `of a moving variance ${f(r.movingVarianceChange)}`,
      '',
    );
  }
  return lines.join('\n').trimEnd();
}

const USAGE = [
  'usage: node --import tsx examples/batch-norm-fine-tuning.ts [--backend wasm|cpu] [--steps N]',
  '',
  "Pre-trains a small MLP with gradstab's batch norm, saves and loads it, freezes it and trains a new head on shifted",
  "data; prints how far the frozen moving statistics moved (gradstab's: 0) and the head's loss; then the same with",
  'tf.layers.batchNormalization, whose frozen layer keeps updating them.',
  '  --backend  tfjs backend (default wasm, falls back to cpu)',
  `  --steps    fine-tuning steps, a multiple of 8 (default ${DEFAULTS.steps}); pre-training takes twice as many`,
].join('\n');

/** The command line, checked: `'help'` for `--help`, else the backend and the options. */
export function parseArgs(argv: readonly string[]): CommandLine<FineTuneOptions> {
  return parseCommandLine(argv, DEFAULTS, {
    '--steps': (value, options) => {
      const steps = wholeFlag('--steps', value, 8);
      if (steps % 8 !== 0) throw new Error(`--steps must be a multiple of 8, got ${steps}`);
      return { ...options, steps };
    },
  });
}

async function main(argv: readonly string[]): Promise<void> {
  const cli = await startExample(parseArgs(argv), USAGE);
  if (cli === undefined) return;
  const started = performance.now();
  console.log(resultText(await batchNormFineTuning(cli.options)));
  console.log(`\nbackend ${cli.backend}, ${((performance.now() - started) / 1000).toFixed(1)} s.`);
}

runWhenExecuted(import.meta.url, main);
