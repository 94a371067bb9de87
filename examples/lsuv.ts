/**
 * LSUV initialization (Mishkin & Matas 2015, "All you need is a good init") with `lsuv(model, batch)`: a deep ReLU
 * MLP built with tfjs's default initializer (Glorot normal) halves its signal's variance at every layer, so after 16
 * layers almost nothing reaches the output and plain SGD cannot train it. `lsuv` replaces each kernel by an
 * orthogonal matrix and rescales it until the layer's output variance on a batch is 1. Prints, for each Dense layer,
 * the variance of its output (before its ReLU, where LSUV measures) with the default init and after LSUV, on the
 * LSUV batch and on fresh inputs, what LSUV did to it, and then the held-out loss of both models as they train.
 *
 *   node --import tsx examples/lsuv.ts                       # depth 16, 100 steps, wasm (or cpu)
 *   node --import tsx examples/lsuv.ts --backend cpu --steps 60 --depth 10
 *
 * The model: `depth` x [Dense(64) with seeded Glorot-normal kernels, ReLU], then Dense(1) `out`, on 16
 * standard-normal features; the target is y = tanh(1.5 x.w) for a fixed w; MSE; plain SGD at 0.02;
 * batches of 64, seeded. Both models start from the same weights; LSUV runs once, on 256 inputs, with seed 1.
 * `out` has one unit, fewer than LSUV's `minUnits` (32): a head whose scale the loss sets, so it is skipped.
 */
import * as tf from '@tensorflow/tfjs';
import { type LsuvReport, layers, lsuv } from '../src/index.js';
import { type CommandLine, parseCommandLine, runWhenExecuted, startExample, wholeFlag } from './shared/cli.js';

/** What to build and train. */
export interface LsuvExampleOptions {
  /** Hidden Dense + ReLU blocks. */
  readonly depth: number;
  /** Units per hidden layer. */
  readonly width: number;
  /** Training steps of each model. */
  readonly steps: number;
  /** The held-out loss is recorded every this many steps. */
  readonly evalEvery: number;
  /** Inputs in the LSUV batch. */
  readonly lsuvBatch: number;
}

export const DEFAULTS: LsuvExampleOptions = { depth: 16, width: 64, steps: 100, evalEvery: 20, lsuvBatch: 256 };

const FEATURES = 16;
const BATCH = 64;
const LEARNING_RATE = 0.02;

function makeModel(o: LsuvExampleOptions): tf.Sequential {
  const model = tf.sequential();
  for (let i = 1; i <= o.depth; i++) {
    model.add(
      tf.layers.dense({
        name: `dense${i}`,
        units: o.width,
        kernelInitializer: tf.initializers.glorotNormal({ seed: i }), // tfjs's default, seeded
        ...(i === 1 ? { inputShape: [FEATURES] } : {}),
      }),
    );
    model.add(layers.reLU());
  }
  model.add(tf.layers.dense({ name: 'out', units: 1, kernelInitializer: tf.initializers.glorotNormal({ seed: 99 }) }));
  return model;
}

/** The variance of every entry of each Dense layer's output on `x`, in model order. */
async function denseVariances(model: tf.LayersModel, x: tf.Tensor): Promise<number[]> {
  const dense = model.layers.filter((l) => l.getClassName() === 'Dense');
  // A model over the same layers (and weights) with every Dense output as an output. Not disposed: that would
  // dispose the shared weights; it holds no tensor of its own.
  const probe = tf.model({ inputs: model.inputs, outputs: dense.map((l) => l.output as tf.SymbolicTensor) });
  const variances = tf.tidy(() => tf.stack((probe.predict(x) as tf.Tensor[]).map((y) => tf.moments(y).variance)));
  const values = Array.from(await variances.data());
  variances.dispose();
  return values;
}

/** One Dense layer's line. */
export interface LayerLine {
  readonly name: string;
  /** Output variance with the default init, on the LSUV batch. */
  readonly defaultInit: number;
  /** Output variance after LSUV, on the LSUV batch and on fresh inputs. */
  readonly lsuvBatch: number;
  readonly fresh: number;
}

export interface LsuvExampleResult {
  readonly layers: readonly LayerLine[];
  /** What `lsuv` returned. */
  readonly report: LsuvReport;
  /** Held-out loss `[step, loss]`, from step 0, of the default-init model and of the LSUV model. */
  readonly defaultLosses: readonly (readonly [number, number])[];
  readonly lsuvLosses: readonly (readonly [number, number])[];
}

/** y = tanh(1.5 x.w) for a fixed w. */
function target(x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const w = tf.randomNormal([FEATURES, 1], 0, 1 / Math.sqrt(FEATURES), 'float32', 5);
    return tf.tanh(tf.mul(tf.matMul(x, w), 1.5)) as tf.Tensor2D;
  });
}

async function train(model: tf.LayersModel, o: LsuvExampleOptions, test: { x: tf.Tensor2D; y: tf.Tensor2D }) {
  const optimizer = tf.train.sgd(LEARNING_RATE);
  model.compile({ optimizer, loss: 'meanSquaredError' });
  const heldOut = async () => {
    const loss = model.evaluate(test.x, test.y) as tf.Scalar;
    const value = (await loss.data())[0] as number;
    loss.dispose();
    return value;
  };
  const losses: [number, number][] = [[0, await heldOut()]];
  for (let step = 1; step <= o.steps; step++) {
    const x = tf.randomNormal([BATCH, FEATURES], 0, 1, 'float32', 1000 + step) as tf.Tensor2D;
    const y = target(x);
    await model.trainOnBatch(x, y);
    tf.dispose([x, y]);
    if (step % o.evalEvery === 0 || step === o.steps) losses.push([step, await heldOut()]);
  }
  optimizer.dispose();
  return losses;
}

/** Builds the model twice, runs LSUV on one, measures both, trains both. Leaves no tensor behind. */
export async function lsuvExample(options: Partial<LsuvExampleOptions> = {}): Promise<LsuvExampleResult> {
  const o: LsuvExampleOptions = { ...DEFAULTS, ...options };
  const batch = tf.randomNormal([o.lsuvBatch, FEATURES], 0, 1, 'float32', 7);
  const fresh = tf.randomNormal([o.lsuvBatch, FEATURES], 0, 1, 'float32', 8);
  const testX = tf.randomNormal([512, FEATURES], 0, 1, 'float32', 9) as tf.Tensor2D;
  const test = { x: testX, y: target(testX) };
  const plain = makeModel(o);
  const scaled = makeModel(o); // the same weights, until LSUV
  try {
    const defaultInit = await denseVariances(plain, batch);

    const report = await lsuv(scaled, batch, { seed: 1 }); // once, before training

    const onBatch = await denseVariances(scaled, batch);
    const onFresh = await denseVariances(scaled, fresh);
    const names = scaled.layers.filter((l) => l.getClassName() === 'Dense').map((l) => l.name);
    return {
      layers: names.map((name, i) => ({
        name,
        defaultInit: defaultInit[i] as number,
        lsuvBatch: onBatch[i] as number,
        fresh: onFresh[i] as number,
      })),
      report,
      defaultLosses: await train(plain, o, test),
      lsuvLosses: await train(scaled, o, test),
    };
  } finally {
    plain.dispose();
    scaled.dispose();
    tf.dispose([batch, fresh, test]);
  }
}

const e = (v: number | null) => (v === null ? '-' : v.toExponential(2));

/** The results as printed. */
export function resultText(r: LsuvExampleResult): string {
  const lines = [
    'output variance of each Dense layer (before its ReLU):',
    'layer     default init   after LSUV  (fresh inputs)   LSUV: status, rescalings, variance after orthogonal init',
  ];
  for (const l of r.layers) {
    const rep = r.report.layers.find((x) => x.name === l.name);
    const what =
      rep?.status === 'skipped'
        ? `skipped: ${rep.reason}`
        : `${rep?.status}, ${rep?.iterations}, ${e(rep?.varianceBefore ?? null)}`;
    lines.push(
      `${l.name.padEnd(8)}  ${e(l.defaultInit).padStart(12)}  ${e(l.lsuvBatch).padStart(11)}  ${e(l.fresh).padStart(14)}   ${what}`,
    );
  }
  lines.push(
    `converged: ${r.report.converged}`,
    '',
    `held-out loss while training (SGD ${LEARNING_RATE}, batches of ${BATCH}):`,
  );
  lines.push(`step          ${r.defaultLosses.map(([s]) => String(s).padStart(6)).join(' ')}`);
  lines.push(`default init  ${r.defaultLosses.map(([, v]) => v.toFixed(3).padStart(6)).join(' ')}`);
  lines.push(`LSUV          ${r.lsuvLosses.map(([, v]) => v.toFixed(3).padStart(6)).join(' ')}`);
  return lines.join('\n');
}

const USAGE = [
  'usage: node --import tsx examples/lsuv.ts [--backend wasm|cpu] [--steps N] [--depth N]',
  '',
  "LSUV on a deep ReLU MLP built with tfjs's default initializer: prints each layer's output variance before and",
  'after, what lsuv() did to each layer, and the held-out loss of both models while they train.',
  '  --backend  tfjs backend (default wasm, falls back to cpu)',
  `  --steps    training steps of each model (default ${DEFAULTS.steps})`,
  `  --depth    hidden Dense + ReLU blocks (default ${DEFAULTS.depth})`,
].join('\n');

/** The command line, checked: `'help'` for `--help`, else the backend and the options. */
export function parseArgs(argv: readonly string[]): CommandLine<LsuvExampleOptions> {
  return parseCommandLine(argv, DEFAULTS, {
    '--steps': (value, options) => ({ ...options, steps: wholeFlag('--steps', value, 1) }),
    '--depth': (value, options) => ({ ...options, depth: wholeFlag('--depth', value, 1, 100) }),
  });
}

async function main(argv: readonly string[]): Promise<void> {
  const cli = await startExample(parseArgs(argv), USAGE);
  if (cli === undefined) return;
  const started = performance.now();
  console.log(resultText(await lsuvExample(cli.options)));
  console.log(`\nbackend ${cli.backend}, ${((performance.now() - started) / 1000).toFixed(1)} s.`);
}

runWhenExecuted(import.meta.url, main);
