/**
 * A hand-written `tf.variableGrads` training loop with gradstab: the gradients go through a `gradientPipeline`
 * (`skipNonFinite()` then `clipByGlobalNorm`) before the optimizer, and a `GradientHealthMonitor` watches the raw
 * gradients with `monitor.observe(grads, params)`. Two bad batches are injected: at half the steps, labels scaled
 * by 1000 (a spike); at three quarters, a NaN input (non-finite gradients, skipped). Prints the monitor's events as
 * they arrive (`monitor.on('vanishing' | 'exploding' | 'nonFinite' | 'spike', ...)`), the held-out loss as it
 * trains, and `monitor.summary()` at the end: per layer, the gradient norms, the depth profile, max |g|, the
 * non-finite steps, the weight norm and the update ratio.
 *
 *   node --import tsx examples/custom-loop-monitor.ts                 # 200 steps, wasm (or cpu)
 *   node --import tsx examples/custom-loop-monitor.ts --backend cpu --steps 100
 *
 * The model: 8-32-32-32-1 relu MLP (layers h1, h2, h3, out; seeded He-normal weights) fitting y = sin(x.w) for a
 * fixed w, MSE, Adam 0.01, a fresh seeded batch of 32 standard-normal inputs at every step, global-norm limit 1.
 * The spike event needs at least 26 steps before the spike (the monitor's spike statistics warm up over 25).
 */
import * as tf from '@tensorflow/tfjs';
import {
  clipByGlobalNorm,
  GradientHealthMonitor,
  gradientPipeline,
  type HealthReport,
  heNormal,
  type MonitorEvent,
  type MonitorEventName,
  skipNonFinite,
} from '../src/index.js';
import { type CommandLine, parseCommandLine, runWhenExecuted, startExample, wholeFlag } from './shared/cli.js';

type DenseArgs = Partial<Parameters<typeof tf.layers.dense>[0]>;

/** What to train. */
export interface LoopOptions {
  /** Training steps. */
  readonly steps: number;
  /** Examples per step. */
  readonly batchSize: number;
  /** Adam's learning rate. */
  readonly learningRate: number;
  /** `clipByGlobalNorm`'s limit. */
  readonly maxNorm: number;
  /** The held-out loss is printed every this many steps. */
  readonly logEvery: number;
}

export const DEFAULTS: LoopOptions = { steps: 200, batchSize: 32, learningRate: 0.01, maxNorm: 1, logEvery: 25 };

const FEATURES = 8;
const W = [0.9, -0.6, 0.3, 0.5, -0.8, 0.2, 0.7, -0.4];

/** The steps (from 1) whose batch is corrupted: labels x1000 at half the steps, a NaN input at three quarters. */
export function badSteps(steps: number): { spike: number; nan: number } {
  return { spike: Math.round(steps / 2), nan: Math.round((3 * steps) / 4) };
}

/** The batch of step `step`: seeded, so every run sees the same data. */
function batchFor(step: number, o: LoopOptions): { x: tf.Tensor2D; y: tf.Tensor2D } {
  return tf.tidy(() => {
    let x = tf.randomNormal([o.batchSize, FEATURES], 0, 1, 'float32', step) as tf.Tensor2D;
    let y = tf.sin(tf.matMul(x, tf.tensor2d(W, [FEATURES, 1]))) as tf.Tensor2D;
    const bad = badSteps(o.steps);
    if (step === bad.spike) y = tf.mul(y, 1000);
    if (step === bad.nan) x = tf.concat([tf.fill([1, FEATURES], Number.NaN), x.slice([1, 0])]) as tf.Tensor2D;
    return { x, y };
  });
}

function makeModel(): tf.Sequential {
  const dense = (name: string, units: number, seed: number, extra: DenseArgs = {}) =>
    tf.layers.dense({ name, units, kernelInitializer: heNormal({ seed }), ...extra });
  return tf.sequential({
    layers: [
      dense('h1', 32, 1, { activation: 'relu', inputShape: [FEATURES] }),
      dense('h2', 32, 2, { activation: 'relu' }),
      dense('h3', 32, 3, { activation: 'relu' }),
      dense('out', 1, 4),
    ],
  });
}

/** What the loop did and what the monitor saw. */
export interface LoopResult {
  /** Held-out MSE before training, every `logEvery` steps (`[step, loss]`), and at the end. */
  readonly lossBefore: number;
  readonly losses: readonly (readonly [number, number])[];
  readonly lossAfter: number;
  /** Steps the pipeline said to skip (NaN/Inf gradients), and steps whose raw global norm exceeded the limit. */
  readonly skipped: readonly number[];
  readonly clipped: number;
  /** Every event, in the order the monitor emitted them. */
  readonly events: readonly MonitorEvent[];
  readonly report: HealthReport;
  readonly summary: string;
}

async function mse(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor): Promise<number> {
  const loss = tf.tidy(() => tf.losses.meanSquaredError(y, model.predict(x) as tf.Tensor));
  const value = (await loss.data())[0] as number;
  loss.dispose();
  return value;
}

/**
 * Trains with a hand-written loop. `log` receives each line as it happens (events, losses); the result has all
 * the figures. Leaves no tensor behind.
 */
export async function customLoopMonitor(
  options: Partial<LoopOptions> = {},
  log: (line: string) => void = () => {},
): Promise<LoopResult> {
  const o: LoopOptions = { ...DEFAULTS, ...options };
  const model = makeModel();
  const optimizer: tf.Optimizer = tf.train.adam(o.learningRate);
  const pipeline = gradientPipeline(skipNonFinite(), clipByGlobalNorm(o.maxNorm));
  const monitor = new GradientHealthMonitor();
  const events: MonitorEvent[] = [];
  for (const kind of ['vanishing', 'exploding', 'nonFinite', 'spike'] as MonitorEventName[]) {
    monitor.on(kind, (e) => {
      events.push(e);
      log(`  [${e.kind}] step ${e.step}: ${e.reason}`);
    });
  }
  const testX = tf.randomNormal([512, FEATURES], 0, 1, 'float32', 1e6);
  const testY = tf.tidy(() => tf.sin(tf.matMul(testX, tf.tensor2d(W, [FEATURES, 1]))));

  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const lossBefore = await mse(model, testX, testY);
  const losses: [number, number][] = [];
  const skipped: number[] = [];
  try {
    for (let step = 1; step <= o.steps; step++) {
      const { x, y } = batchFor(step, o);
      const { value, grads } = tf.variableGrads(
        () => tf.losses.meanSquaredError(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
        vars,
      );
      // The current weights under the gradients' names: the monitor uses them for weight norms and update ratios.
      const params = Object.fromEntries(vars.map((v) => [v.name, v]));
      monitor.observe(grads, params); // the raw gradients, before clipping
      const out = pipeline.apply(grads, params);
      if (out.skip) skipped.push(step);
      else optimizer.applyGradients(out.grads);
      tf.dispose([x, y, value, grads, out.grads]);
      if (step % o.logEvery === 0) {
        const loss = await mse(model, testX, testY); // awaiting also lets the monitor's reads land: events print
        losses.push([step, loss]);
        log(`step ${String(step).padStart(4)}: held-out loss ${loss.toPrecision(3)}`);
      }
    }
    await monitor.flush(); // the last steps' figures (and their events)
    const lossAfter = await mse(model, testX, testY);
    const report = monitor.report();
    const clipped = monitor.history.filter((r) => r.globalNorm > o.maxNorm).length; // NaN > 1 is false
    return { lossBefore, losses, lossAfter, skipped, clipped, events, report, summary: monitor.summary() };
  } finally {
    monitor.dispose();
    pipeline.dispose();
    optimizer.dispose();
    model.dispose();
    tf.dispose([testX, testY]);
  }
}

const USAGE = [
  'usage: node --import tsx examples/custom-loop-monitor.ts [--backend wasm|cpu] [--steps N]',
  '',
  'A tf.variableGrads loop with gradientPipeline(skipNonFinite(), clipByGlobalNorm(1)) and a GradientHealthMonitor',
  'fed by monitor.observe; a spike batch at half the steps and a NaN batch at three quarters. Prints the events as',
  'they arrive, the held-out loss, and monitor.summary().',
  '  --backend  tfjs backend (default wasm, falls back to cpu)',
  `  --steps    training steps (default ${DEFAULTS.steps}; at least 52 for a spike event)`,
].join('\n');

/** The command line, checked: `'help'` for `--help`, else the backend and the options. */
export function parseArgs(argv: readonly string[]): CommandLine<LoopOptions> {
  return parseCommandLine(argv, DEFAULTS, {
    '--steps': (value, options) => ({ ...options, steps: wholeFlag('--steps', value, 4) }),
  });
}

async function main(argv: readonly string[]): Promise<void> {
  const cli = await startExample(parseArgs(argv), USAGE);
  if (cli === undefined) return;
  const { backend, options: o } = cli;
  const bad = badSteps(o.steps);
  console.log(`${o.steps} steps on ${backend}; labels x1000 at step ${bad.spike}, a NaN input at step ${bad.nan}\n`);
  const started = performance.now();
  const r = await customLoopMonitor(o, (line) => console.log(line));
  console.log(
    `\nheld-out loss ${r.lossBefore.toPrecision(3)} -> ${r.lossAfter.toPrecision(3)}; ` +
      `${r.clipped} steps clipped (raw global norm > ${o.maxNorm}), skipped steps: [${r.skipped.join(', ')}]\n`,
  );
  console.log(r.summary);
  console.log(`\n${((performance.now() - started) / 1000).toFixed(1)} s.`);
}

runWhenExecuted(import.meta.url, main);
