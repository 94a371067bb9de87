/**
 * Diagnosing gradients with `GradientHealthMonitor`: the same 20-layer MLP on two concentric rings, trained with
 * `fit` in four set-ups, each watched by a monitor attached with `withTransforms(optimizer, monitor.tap)` and
 * `monitor.callback()`. Prints, for each, the monitor's `summary()`, the events it emitted and a
 * `probeActivations` table of the trained model, and writes its picture (`writeGradientHealthSvg`) to
 * `<out-dir>/<run>.svg`. The pictures of docs/diagnosing-gradients.md are made with `--out-dir docs/images`.
 *
 *   node --import tsx examples/diagnose-gradients.ts                         # 192 steps per run, wasm (or cpu)
 *   node --import tsx examples/diagnose-gradients.ts --out-dir docs/images   # the guide's pictures
 *   node --import tsx examples/diagnose-gradients.ts --backend cpu --steps 48
 *
 * The runs (20 hidden Dense(32) layers named h01..h20, then a linear Dense(1) `out` giving a logit; sigmoid
 * cross-entropy; 512 seeded examples of `rings` from batch-norm-depth.ts, batches of 32 in a fixed order):
 * - `vanishing`: sigmoid hidden layers with tfjs's default initializer (Glorot uniform, seeded), SGD 0.02.
 * - `healthy`: ReLU hidden layers with `heNormal()` (seeded), SGD 0.02.
 * - `exploding`: the healthy network trained with Adam at 0.2, 200 times the usual 1e-3.
 * - `nan-batch`: the healthy run with one corrupt example (a NaN feature) in the data, so one batch in each epoch
 *   has NaN gradients; `skipNonFinite()` after the tap skips those steps and training goes on.
 */
import { mkdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import {
  type ActivationProbe,
  GradientHealthMonitor,
  type GradientTransform,
  type HealthReport,
  heNormal,
  type MonitorEvent,
  type MonitorEventName,
  probeActivations,
  type StepRecord,
  skipNonFinite,
  withTransforms,
  writeGradientHealthSvg,
} from '../src/index.js';
import { rings } from './batch-norm-depth.js';
import { parseCommandLine, runWhenExecuted, startExample, wholeFlag } from './shared/cli.js';

/** The four set-ups, in the order they run. */
export const RUN_NAMES = ['vanishing', 'healthy', 'exploding', 'nan-batch'] as const;
export type RunName = (typeof RUN_NAMES)[number];

/** What to train. */
export interface DiagnoseOptions {
  /** Training steps (batches) per run. */
  readonly steps: number;
  /** Hidden layers. */
  readonly depth: number;
  /** Units per hidden layer. */
  readonly width: number;
  /** Training examples (half per ring). */
  readonly examples: number;
  /** Examples per step. */
  readonly batchSize: number;
  /** Where the pictures go (created if missing). */
  readonly outDir: string;
  /** Which runs, in this order. */
  readonly runs: readonly RunName[];
}

export const DEFAULT_OUT_DIR = join(tmpdir(), 'gradstab-gradient-health');

export const DEFAULTS: DiagnoseOptions = {
  steps: 192,
  depth: 20,
  width: 32,
  examples: 512,
  batchSize: 32,
  outDir: DEFAULT_OUT_DIR,
  runs: RUN_NAMES,
};

/** The example that `nan-batch` corrupts: in the 4th batch of every epoch (batches of 32). */
export const CORRUPT_EXAMPLE = 100;
/** The SGD learning rate of the vanishing, healthy and nan-batch runs. */
const LR = 0.02;

/** One run's results. */
export interface RunResult {
  readonly name: RunName;
  /** What was trained, in a line. */
  readonly setup: string;
  /** Steps the monitor observed. */
  readonly steps: number;
  /** Loss and accuracy on the (clean) training data, before and after. */
  readonly lossBefore: number;
  readonly lossAfter: number;
  readonly accuracyAfter: number;
  readonly report: HealthReport;
  /** `monitor.history`: every step's figures. */
  readonly history: readonly StepRecord[];
  /** `monitor.summary()`. */
  readonly summary: string;
  /** Every event the monitor emitted, in order. */
  readonly events: readonly MonitorEvent[];
  /** `nonFiniteSteps` of each epoch, from the epoch logs that `monitor.callback()` fills. */
  readonly nonFiniteStepsPerEpoch: readonly number[];
  /** Steps `skipNonFinite` skipped (nan-batch only; 0 elsewhere). */
  readonly skippedSteps: number;
  /** `probeActivations` of the trained model on the clean training data. */
  readonly probe: ActivationProbe;
  /** The picture: its path and size in bytes. */
  readonly svgPath: string;
  readonly svgBytes: number;
  /** Wall time of the run (training, probe and picture), in seconds. */
  readonly seconds: number;
}

interface Setup {
  readonly activation: 'sigmoid' | 'relu';
  readonly optimizer: () => tf.Optimizer;
  readonly corrupt: boolean;
  readonly text: string;
}

function setupOf(name: RunName, o: DiagnoseOptions): Setup {
  const shape = `${o.depth} x Dense(${o.width}`;
  switch (name) {
    case 'vanishing':
      return {
        activation: 'sigmoid',
        optimizer: () => tf.train.sgd(LR),
        corrupt: false,
        text: `${shape}, sigmoid), Glorot uniform (tfjs's default), SGD ${LR}`,
      };
    case 'healthy':
      return {
        activation: 'relu',
        optimizer: () => tf.train.sgd(LR),
        corrupt: false,
        text: `${shape}, relu), heNormal(), SGD ${LR}`,
      };
    case 'exploding':
      return {
        activation: 'relu',
        optimizer: () => tf.train.adam(0.2),
        corrupt: false,
        text: `${shape}, relu), heNormal(), Adam 0.2 (200x the usual 1e-3)`,
      };
    case 'nan-batch':
      return {
        activation: 'relu',
        optimizer: () => tf.train.sgd(LR),
        corrupt: true,
        text: `${shape}, relu), heNormal(), SGD ${LR}, one NaN example, tap then skipNonFinite()`,
      };
  }
}

/** depth x Dense(width, activation) named h01, h02, ..., then a linear Dense(1) named `out` (a logit); seeded. */
function network(o: DiagnoseOptions, activation: 'sigmoid' | 'relu'): tf.Sequential {
  const model = tf.sequential();
  for (let i = 0; i < o.depth; i++) {
    model.add(
      tf.layers.dense({
        name: `h${String(i + 1).padStart(2, '0')}`,
        units: o.width,
        activation,
        kernelInitializer:
          activation === 'relu' ? heNormal({ seed: i + 1 }) : tf.initializers.glorotUniform({ seed: i + 1 }),
        ...(i === 0 ? { inputShape: [2] } : {}),
      }),
    );
  }
  model.add(tf.layers.dense({ name: 'out', units: 1, kernelInitializer: tf.initializers.glorotUniform({ seed: 99 }) }));
  return model;
}

const loss = (labels: tf.Tensor, logits: tf.Tensor) => tf.losses.sigmoidCrossEntropy(labels, logits);

/** Loss and accuracy of the model on (x, y). */
function evaluate(model: tf.LayersModel, x: tf.Tensor2D, y: tf.Tensor2D): { loss: number; accuracy: number } {
  return tf.tidy(() => {
    const logits = model.predict(x) as tf.Tensor;
    const hits = tf.equal(tf.cast(tf.greater(logits, 0), 'float32'), y);
    return {
      loss: loss(y, logits).dataSync()[0] as number,
      accuracy: tf.mean(tf.cast(hits, 'float32')).dataSync()[0] as number,
    };
  });
}

/** x with the first feature of example `index` replaced by NaN. */
function corrupted(x: tf.Tensor2D, index: number): tf.Tensor2D {
  return tf.tidy(() => {
    const mask = tf.oneHot(tf.tensor1d([index * 2], 'int32'), x.size).reshape(x.shape);
    return tf.where(tf.cast(mask, 'bool'), tf.fill(x.shape, Number.NaN), x) as tf.Tensor2D;
  });
}

async function run(name: RunName, o: DiagnoseOptions, x: tf.Tensor2D, y: tf.Tensor2D): Promise<RunResult> {
  const started = performance.now();
  const setup = setupOf(name, o);
  const model = network(o, setup.activation);

  // The monitor: its tap goes first in the chain, so it sees the raw gradients (a NaN included).
  const monitor = new GradientHealthMonitor();
  const events: MonitorEvent[] = [];
  for (const kind of ['vanishing', 'exploding', 'nonFinite', 'spike'] as MonitorEventName[]) {
    monitor.on(kind, (e) => events.push(e));
  }
  const transforms: GradientTransform[] = [monitor.tap, ...(setup.corrupt ? [skipNonFinite()] : [])];
  const optimizer = withTransforms(setup.optimizer(), ...transforms);
  model.compile({ optimizer, loss });

  const before = evaluate(model, x, y);
  const trainX = setup.corrupt ? corrupted(x, CORRUPT_EXAMPLE) : x;
  const perEpoch = Math.ceil(o.examples / o.batchSize);
  let batches = 0;
  const stopAfterSteps = new tf.CustomCallback({
    onBatchEnd: async () => {
      if (++batches >= o.steps) model.stopTraining = true;
    },
  });
  const history = await model.fit(trainX, y, {
    epochs: Math.ceil(o.steps / perEpoch),
    batchSize: o.batchSize,
    shuffle: false,
    verbose: 0,
    callbacks: [monitor.callback(), stopAfterSteps],
  });
  await monitor.flush(); // the callback flushes at each epoch's end; this is for a run stopped mid-epoch
  const after = evaluate(model, x, y);
  const probe = await probeActivations(model, x);

  mkdirSync(o.outDir, { recursive: true });
  const svgPath = await writeGradientHealthSvg(monitor.history, join(o.outDir, `${name}.svg`), {
    title: `${name}: ${setup.text}`,
  });

  const result: RunResult = {
    name,
    setup: setup.text,
    steps: monitor.steps,
    lossBefore: before.loss,
    lossAfter: after.loss,
    accuracyAfter: after.accuracy,
    report: monitor.report(),
    history: monitor.history,
    summary: monitor.summary(),
    events,
    nonFiniteStepsPerEpoch: (history.history.nonFiniteSteps ?? []) as number[],
    skippedSteps: optimizer.skippedSteps,
    probe,
    svgPath,
    svgBytes: statSync(svgPath).size,
    seconds: (performance.now() - started) / 1000,
  };
  if (trainX !== x) trainX.dispose();
  monitor.dispose();
  optimizer.dispose();
  model.dispose();
  return result;
}

/** Trains the runs one after the other and returns their results (the pictures are written as it goes). */
export async function diagnoseGradients(options: Partial<DiagnoseOptions> = {}): Promise<RunResult[]> {
  const o: DiagnoseOptions = { ...DEFAULTS, ...options };
  const { x, y } = rings(o.examples, 1);
  const results: RunResult[] = [];
  try {
    for (const name of o.runs) results.push(await run(name, o, x, y));
  } finally {
    tf.dispose([x, y]);
  }
  return results;
}

const fmt = (v: number | null) => (v === null ? '-' : Number.isFinite(v) ? v.toPrecision(3) : String(v));

/** The probe as a small table: one line per layer, then its verdicts. */
export function probeTable(probe: ActivationProbe): string {
  const lines = ['layer  activation     mean       std   dead  saturated'];
  for (const l of probe.layers) {
    lines.push(
      [
        l.layer.padEnd(5),
        String(l.activation).padEnd(10),
        fmt(l.mean).padStart(8),
        fmt(l.std).padStart(9),
        fmt(l.deadFraction).padStart(6),
        fmt(l.saturatedFraction).padStart(10),
      ].join('  '),
    );
  }
  lines.push(probe.verdicts.length === 0 ? 'probe verdicts: none' : 'probe verdicts:');
  for (const v of probe.verdicts) lines.push(`  ${v.kind}: ${v.reason}`);
  return lines.join('\n');
}

/** The events, counted by kind (kinds in the order they first happened), with the first few of each kind. */
export function eventLines(events: readonly MonitorEvent[], firstOfEach = 3): string {
  if (events.length === 0) return 'events: none';
  const lines = ['events:'];
  const kinds = [...new Set(events.map((e) => e.kind))]; // in the order they first happened
  for (const kind of kinds) {
    const some = events.filter((e) => e.kind === kind);
    lines.push(`  ${kind}: ${some.length} event${some.length === 1 ? '' : 's'}`);
    for (const e of some.slice(0, firstOfEach)) lines.push(`    step ${e.step}: ${e.reason}`);
    if (some.length > firstOfEach) lines.push(`    ... and ${some.length - firstOfEach} more`);
  }
  return lines.join('\n');
}

/** Everything printed for one run. */
export function runText(r: RunResult): string {
  const skipped = r.name === 'nan-batch' ? `, ${r.skippedSteps} steps skipped by skipNonFinite` : '';
  return [
    `=== ${r.name}: ${r.setup}`,
    `loss ${r.lossBefore.toFixed(3)} -> ${r.lossAfter.toFixed(3)}, accuracy ${(100 * r.accuracyAfter).toFixed(1)}% ` +
      `after ${r.steps} steps${skipped}; nonFiniteSteps per epoch (epoch logs): [${r.nonFiniteStepsPerEpoch.join(', ')}]`,
    '',
    r.summary,
    '',
    eventLines(r.events),
    '',
    probeTable(r.probe),
    '',
    `picture: ${r.svgPath} (${(r.svgBytes / 1024).toFixed(0)} KB); run took ${r.seconds.toFixed(1)} s`,
  ].join('\n');
}

const USAGE = [
  'usage: node --import tsx examples/diagnose-gradients.ts [--backend wasm|cpu] [--steps N] [--out-dir DIR]',
  '',
  'Trains a 20-layer MLP on two rings in four set-ups (vanishing, healthy, exploding, nan-batch) with a',
  'GradientHealthMonitor attached; prints each run summary, events and activation probe, and writes',
  'DIR/<run>.svg, the monitor picture.',
  '  --backend  tfjs backend (default wasm, falls back to cpu)',
  `  --steps    training steps per run (default ${DEFAULTS.steps}, ${DEFAULTS.examples / DEFAULTS.batchSize} per epoch)`,
  `  --out-dir  where the pictures go, created if missing (default ${DEFAULT_OUT_DIR};`,
  '             docs/images makes the pictures of docs/diagnosing-gradients.md)',
].join('\n');

/** The command line, checked: `'help'` for `--help`, else the backend and the options. */
function parseArgs(argv: readonly string[]) {
  return parseCommandLine(argv, DEFAULTS, {
    '--steps': (value, o) => ({ ...o, steps: wholeFlag('--steps', value, 1) }),
    '--out-dir': (dir, o) => {
      if (dir === undefined || dir === '') throw new Error('--out-dir needs a directory');
      return { ...o, outDir: dir };
    },
  });
}

async function main(argv: readonly string[]): Promise<void> {
  const cli = await startExample(parseArgs(argv), USAGE);
  if (cli === undefined) return;
  const { backend: used, options: o } = cli;
  const started = performance.now();
  const results = await diagnoseGradients(o);
  console.log(results.map(runText).join('\n\n'));
  console.log(
    `\n${o.runs.length} runs of ${o.steps} steps, backend ${used}, ` +
      `${((performance.now() - started) / 1000).toFixed(1)} s; pictures in ${o.outDir}.`,
  );
}

runWhenExecuted(import.meta.url, main);
