/**
 * Why batch normalization exists: a 20-layer sigmoid MLP, trained with plain SGD on two concentric rings, does
 * not learn (its first layers get gradients ~1e-13 of the last ones, as sigmoid' <= 1/4 multiplies at every
 * layer); the same network with `layers.batchNormalization()` before each sigmoid learns the task.
 *
 *   node --import tsx examples/batch-norm-depth.ts                 # depth 20, width 32, 20 epochs, wasm (or cpu)
 *   node --import tsx examples/batch-norm-depth.ts --backend cpu --epochs 10
 *
 * Both networks use tfjs's default initializer (Glorot uniform, seeded) and the same data (seeded), batches of
 * 64 in a fixed order, SGD at 0.2, batch-norm momentum 0.9 (PyTorch's 0.1) so the moving statistics keep up with
 * the short run. Prints one row per network: loss and accuracy before and after training, and the ratio of
 * the first to the last hidden layer's kernel-gradient norm at initialization.
 */
import * as tf from '@tensorflow/tfjs';
import { layers } from '../src/index.js';
import { parseCommandLine, runWhenExecuted, startExample, wholeFlag } from './shared/cli.js';

/** What to train. */
export interface DepthOptions {
  /** Hidden layers. */
  readonly depth: number;
  /** Units per hidden layer. */
  readonly width: number;
  /** Passes over the data. */
  readonly epochs: number;
  /** Training examples (half per ring). */
  readonly examples: number;
  /** Examples per SGD step. */
  readonly batchSize: number;
  /** SGD learning rate. */
  readonly learningRate: number;
}

export const DEFAULTS: DepthOptions = {
  depth: 20,
  width: 32,
  epochs: 20,
  examples: 512,
  batchSize: 64,
  learningRate: 0.2,
};

/** One trained network's figures. */
export interface DepthRow {
  readonly network: 'sigmoid' | 'sigmoid + batchNormalization';
  readonly lossBefore: number;
  readonly lossAfter: number;
  readonly accuracyAfter: number;
  /** ||dL/dW_first|| / ||dL/dW_last|| over the hidden kernels, at initialization: how much gradient survives depth. */
  readonly firstToLastGradient: number;
}

/** Two noisy rings in the plane, radius 1 (label 0) and 2 (label 1), seeded. */
export function rings(n: number, seed: number): { x: tf.Tensor2D; y: tf.Tensor2D } {
  return tf.tidy(() => {
    const label = tf.cast(tf.greater(tf.randomUniform([n, 1], 0, 1, 'float32', seed), 0.5), 'float32');
    const radius = tf.add(label, tf.randomNormal([n, 1], 1, 0.15, 'float32', seed + 1));
    const angle = tf.randomUniform([n, 1], 0, 2 * Math.PI, 'float32', seed + 2);
    const x = tf.concat([tf.mul(radius, tf.cos(angle)), tf.mul(radius, tf.sin(angle))], 1) as tf.Tensor2D;
    return { x, y: label as tf.Tensor2D };
  });
}

/** depth x (dense -> [batch norm] -> sigmoid), then a sigmoid output unit. */
function network(o: DepthOptions, withBatchNorm: boolean): tf.Sequential {
  const model = tf.sequential();
  for (let i = 0; i < o.depth; i++) {
    model.add(
      tf.layers.dense({
        units: o.width,
        activation: withBatchNorm ? 'linear' : 'sigmoid',
        useBias: !withBatchNorm, // batch norm's beta is the bias
        kernelInitializer: tf.initializers.glorotUniform({ seed: i + 1 }),
        ...(i === 0 ? { inputShape: [2] } : {}),
      }),
    );
    if (withBatchNorm) {
      model.add(layers.batchNormalization({ momentum: 0.9 }));
      model.add(tf.layers.activation({ activation: 'sigmoid' }));
    }
  }
  model.add(
    tf.layers.dense({
      units: 1,
      activation: 'sigmoid',
      kernelInitializer: tf.initializers.glorotUniform({ seed: 99 }),
    }),
  );
  return model;
}

/**
 * First over last hidden kernel-gradient norm on the whole data set, at initialization, in training mode (batch
 * statistics, as fit sees it). Measured on a twin of the network (same seeds) so the one trained is untouched.
 */
function gradientRatio(o: DepthOptions, withBatchNorm: boolean, x: tf.Tensor2D, y: tf.Tensor2D): number {
  const model = network(o, withBatchNorm);
  const ratio = tf.tidy(() => {
    const kernels = model.layers
      .filter((l) => l.getClassName() === 'Dense')
      .slice(0, o.depth)
      .map((l) => l.trainableWeights[0]?.read() as tf.Variable);
    const { grads } = tf.variableGrads(
      () => tf.metrics.binaryCrossentropy(y, model.apply(x, { training: true }) as tf.Tensor).mean() as tf.Scalar,
      kernels,
    );
    const norm = (v: tf.Variable) => tf.norm(grads[v.name] as tf.Tensor).dataSync()[0] as number;
    return norm(kernels[0] as tf.Variable) / norm(kernels[kernels.length - 1] as tf.Variable);
  });
  model.dispose();
  return ratio;
}

/** Trains the plain and the batch-normalized network on the same data and returns their figures. */
export async function compareDepth(o: DepthOptions = DEFAULTS): Promise<DepthRow[]> {
  const { x, y } = rings(o.examples, 1);
  const rows: DepthRow[] = [];
  for (const withBatchNorm of [false, true]) {
    const model = network(o, withBatchNorm);
    model.compile({ optimizer: tf.train.sgd(o.learningRate), loss: 'binaryCrossentropy', metrics: ['accuracy'] });
    const ratio = gradientRatio(o, withBatchNorm, x, y);
    const [lossBefore] = (model.evaluate(x, y) as tf.Scalar[]).map((t) => t.dataSync()[0] as number);
    await model.fit(x, y, { epochs: o.epochs, batchSize: o.batchSize, shuffle: false, verbose: 0 });
    const [lossAfter, accuracyAfter] = (model.evaluate(x, y) as tf.Scalar[]).map((t) => t.dataSync()[0] as number);
    rows.push({
      network: withBatchNorm ? 'sigmoid + batchNormalization' : 'sigmoid',
      lossBefore: lossBefore as number,
      lossAfter: lossAfter as number,
      accuracyAfter: accuracyAfter as number,
      firstToLastGradient: ratio,
    });
    model.dispose();
  }
  tf.dispose([x, y]);
  return rows;
}

/** The rows as a markdown table. */
export function depthTable(rows: readonly DepthRow[]): string {
  const lines = [
    '| network | loss before | loss after | accuracy after | first/last layer gradient norm at init |',
    '|---|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.network} | ${r.lossBefore.toFixed(3)} | ${r.lossAfter.toFixed(3)} | ${(100 * r.accuracyAfter).toFixed(1)}% | ${r.firstToLastGradient.toExponential(1)} |`,
    ),
  ];
  return lines.join('\n');
}

const USAGE = [
  'usage: node --import tsx examples/batch-norm-depth.ts [--backend wasm|cpu] [--depth N] [--epochs N]',
  '',
  'Trains a deep sigmoid MLP on two rings with SGD, without and with batch normalization, and prints a table.',
  `  --backend  tfjs backend (default wasm, falls back to cpu)`,
  `  --depth    hidden layers (default ${DEFAULTS.depth})`,
  `  --epochs   passes over the ${DEFAULTS.examples} examples (default ${DEFAULTS.epochs})`,
].join('\n');

/** The command line, checked: `'help'` for `--help`, else the backend and the options. */
function parseArgs(argv: readonly string[]) {
  return parseCommandLine(argv, DEFAULTS, {
    '--depth': (value, o) => ({ ...o, depth: wholeFlag('--depth', value, 1) }),
    '--epochs': (value, o) => ({ ...o, epochs: wholeFlag('--epochs', value, 1) }),
  });
}

async function main(argv: readonly string[]): Promise<void> {
  const cli = await startExample(parseArgs(argv), USAGE);
  if (cli === undefined) return;
  const { backend: used, options: o } = cli;
  const started = performance.now();
  const rows = await compareDepth(o);
  console.log(depthTable(rows));
  console.log(
    `\n${o.depth} hidden layers of ${o.width}, SGD ${o.learningRate}, ${o.epochs} epochs of ${o.examples} examples, ` +
      `backend ${used}, ${((performance.now() - started) / 1000).toFixed(1)} s.`,
  );
}

runWhenExecuted(import.meta.url, main);
