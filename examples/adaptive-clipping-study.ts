/**
 * Gradient spikes and what the clipping transforms do about them: the same seeded MLP trained on built-in
 * regression data, with a handful of corrupted batches (labels or inputs scaled by 1e3) at fixed steps, once per
 * configuration: no clipping, `clipByGlobalNorm(c)`, `autoClip()`, `zClip()` and `adaptiveGradClip()`.
 *
 *   node --import tsx examples/adaptive-clipping-study.ts                      # 1000 steps, wasm (or cpu)
 *   node --import tsx examples/adaptive-clipping-study.ts --backend cpu --steps 400
 *   node --import tsx examples/adaptive-clipping-study.ts --out docs/adaptive-clipping.md
 *   node --import tsx examples/adaptive-clipping-study.ts --seed 2             # other data and initial weights
 *
 * Data: x ~ N(0, I) in 16 dimensions, y = teacher(x) + N(0, 0.1^2), where the teacher is a fixed random
 * 16-32-1 tanh network; a fresh batch of 32 every step (each step's batch has its own seed, derived from `--seed`:
 * the same batches for every configuration), and a held-out clean set of 1024 examples. At 20%, 40%, 60% and 80%
 * of the steps the batch is corrupted: labels x1e3, inputs x1e3, labels x1e3, inputs x1e3. The student is a
 * 16-64-64-1 relu MLP (tf.layers, Glorot uniform with seeds derived from `--seed`: the same initial weights for
 * every configuration), MSE, Adam (lr 1e-3). `clipByGlobalNorm`'s limit is twice the median raw gradient norm of
 * the unclipped run before the first spike; `adaptiveGradClip` leaves the output layer alone, as its paper does.
 *
 * The table goes to stdout; with `--out FILE`, it also replaces the text between
 * `<!-- adaptive-clipping-study:start -->` and `<!-- adaptive-clipping-study:end -->` in FILE (appended when the
 * markers are missing); the rest of the file is left as it is.
 */
import * as tf from '@tensorflow/tfjs';
import {
  adaptiveGradClip,
  autoClip,
  clipByGlobalNorm,
  type GradientTransform,
  globalNorm,
  type TransformedOptimizer,
  withTransforms,
  zClip,
} from '../src/index.js';
import { parseCommandLine, runWhenExecuted, startExample, wholeFlag } from './shared/cli.js';
import { writeMarkedBlock } from './shared/marked-block.js';

/** What to train. */
export interface StudyOptions {
  /** Training steps per configuration. */
  readonly steps: number;
  /** Examples per step. */
  readonly batchSize: number;
  /** Adam's learning rate. */
  readonly learningRate: number;
  /** Where the corrupted batches are, as fractions of `steps`, and what is scaled in each. */
  readonly spikes: readonly { readonly at: number; readonly scaled: 'labels' | 'inputs' }[];
  /** What the corrupted part is multiplied by. */
  readonly spikeScale: number;
  /** Held-out clean examples. */
  readonly heldOut: number;
  /** The held-out loss is computed every this many steps (and at the end). */
  readonly evalEvery: number;
  /** `clipByGlobalNorm`'s limit is this multiple of the median raw norm of the unclipped run before the first spike. */
  readonly fixedClipFactor: number;
  /** Seeds the teacher, the data and the student's initial weights (the same for every configuration). */
  readonly seed: number;
}

export const DEFAULTS: StudyOptions = {
  steps: 1000,
  batchSize: 32,
  learningRate: 1e-3,
  spikes: [
    { at: 0.2, scaled: 'labels' },
    { at: 0.4, scaled: 'inputs' },
    { at: 0.6, scaled: 'labels' },
    { at: 0.8, scaled: 'inputs' },
  ],
  spikeScale: 1e3,
  heldOut: 1024,
  evalEvery: 5,
  fixedClipFactor: 2,
  seed: 1,
};

const INPUTS = 16;
const HIDDEN = 64;
/** The student's output layer: its variables are `output/kernel` and `output/bias` (tfjs adds `_1`, `_2`, ...). */
const OUTPUT = 'output';

/** The steps (0-based) whose batch is corrupted, and how. */
export function spikeSteps(o: StudyOptions): { step: number; scaled: 'labels' | 'inputs' }[] {
  return o.spikes.map((s) => ({ step: Math.round(s.at * o.steps), scaled: s.scaled }));
}

/** Seeds derived from the study's seed: `base + offset`, disjoint for offsets below 1e6. */
const seeded = (seed: number, offset: number) => seed * 1_000_000 + offset;

/** The fixed random teacher: y = tanh(x W1 + b1) w2, seeded. */
function teacher(seed: number): (x: tf.Tensor2D) => tf.Tensor2D {
  const w1 = tf.randomNormal([INPUTS, 32], 0, 1 / Math.sqrt(INPUTS), 'float32', seeded(seed, 11));
  const b1 = tf.randomNormal([32], 0, 0.5, 'float32', seeded(seed, 12));
  const w2 = tf.randomNormal([32, 1], 0, 1 / Math.sqrt(32), 'float32', seeded(seed, 13));
  const keep = [w1, b1, w2];
  const f = (x: tf.Tensor2D) => tf.matMul(tf.tanh(tf.add(tf.matMul(x, w1), b1)), w2) as tf.Tensor2D;
  return Object.assign(f, { dispose: () => tf.dispose(keep) });
}

/** n examples of the task with seed `seed`: clean, or with labels or inputs scaled. */
function examples(
  n: number,
  seed: number,
  target: (x: tf.Tensor2D) => tf.Tensor2D,
  scale?: { scaled: 'labels' | 'inputs'; by: number },
): { x: tf.Tensor2D; y: tf.Tensor2D } {
  return tf.tidy(() => {
    const x = tf.randomNormal([n, INPUTS], 0, 1, 'float32', seed) as tf.Tensor2D;
    const y = tf.add(target(x), tf.randomNormal([n, 1], 0, 0.1, 'float32', seed + 1)) as tf.Tensor2D;
    if (scale?.scaled === 'labels') return { x, y: tf.mul(y, scale.by) as tf.Tensor2D };
    if (scale?.scaled === 'inputs') return { x: tf.mul(x, scale.by) as tf.Tensor2D, y };
    return { x, y };
  });
}

/** 16-64-64-1 relu MLP, the same initial weights for a given seed. */
function student(seed: number): tf.Sequential {
  const model = tf.sequential();
  model.add(
    tf.layers.dense({
      units: HIDDEN,
      activation: 'relu',
      inputShape: [INPUTS],
      kernelInitializer: tf.initializers.glorotUniform({ seed: seeded(seed, 21) }),
    }),
  );
  model.add(
    tf.layers.dense({
      units: HIDDEN,
      activation: 'relu',
      kernelInitializer: tf.initializers.glorotUniform({ seed: seeded(seed, 22) }),
    }),
  );
  model.add(
    tf.layers.dense({
      units: 1,
      name: OUTPUT,
      kernelInitializer: tf.initializers.glorotUniform({ seed: seeded(seed, 23) }),
    }),
  );
  return model;
}

/** A configuration: its label, and the transforms (none for the bare optimizer). */
interface Method {
  readonly label: string;
  readonly transforms: readonly GradientTransform[];
  /** Whether the transform scaled the gradient on the last step, from its state (undefined: not known). */
  clipped?(state: Record<string, number | number[]>, rawNorm: number): boolean;
}

const scaledDown = (s: Record<string, number | number[]>) =>
  (s['0/clippedNorm'] as number) < 0.999 * (s['0/norm'] as number);

function methods(fixedClip: number): Method[] {
  return [
    { label: 'none', transforms: [], clipped: () => false },
    {
      label: `clipByGlobalNorm(${fixedClip.toPrecision(2)})`,
      transforms: [clipByGlobalNorm(fixedClip)],
      clipped: (_, raw) => raw > fixedClip,
    },
    { label: 'autoClip()', transforms: [autoClip()], clipped: scaledDown },
    { label: 'zClip()', transforms: [zClip()], clipped: scaledDown },
    {
      label: `adaptiveGradClip({exclude: /^${OUTPUT}\\//})`,
      transforms: [adaptiveGradClip({ exclude: new RegExp(`^${OUTPUT}/`) })],
      clipped: (s) => (s['0/clippedUnits'] as number) > 0,
    },
  ];
}

/** One configuration's figures. */
export interface StudyRow {
  readonly method: string;
  /** Held-out MSE after the last step. */
  readonly finalLoss: number;
  /** Held-out MSE at the checkpoints (see {@link StudyResult.checkpoints}). */
  readonly atCheckpoints: readonly number[];
  /** The largest held-out MSE from the first spike on. */
  readonly maxAfterSpike: number;
  /**
   * For each spike, steps until the held-out MSE is back for good within 10% of its value just before the spike
   * (at the evaluation granularity): 0 when it never left that band, undefined when it is not back by the next
   * spike (or the end).
   */
  readonly recovery: readonly (number | undefined)[];
  /** The largest global L2 norm of the raw gradients (before any transform). */
  readonly maxRawNorm: number;
  /** Share of steps on which the transform scaled the gradients down. */
  readonly clippedShare: number;
  /** Whether every weight is finite at the end. */
  readonly finite: boolean;
  /** Held-out MSE every `evalEvery` steps: [step, loss]. */
  readonly curve: readonly (readonly [number, number])[];
}

export interface StudyResult {
  readonly rows: readonly StudyRow[];
  /** The limit given to clipByGlobalNorm. */
  readonly fixedClip: number;
  /** The median raw norm of the unclipped run before the first spike (fixedClip is a multiple of it). */
  readonly healthyMedianNorm: number;
  /** Steps at which the held-out loss is shown. */
  readonly checkpoints: readonly number[];
  readonly spikes: readonly { step: number; scaled: 'labels' | 'inputs' }[];
  readonly options: StudyOptions;
}

const median = (v: readonly number[]) => {
  const s = [...v].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

/** Trains one configuration; returns its row and the raw norms of every step. */
async function train(
  o: StudyOptions,
  method: Method,
  target: (x: tf.Tensor2D) => tf.Tensor2D,
  heldOut: { x: tf.Tensor2D; y: tf.Tensor2D },
): Promise<{ row: Omit<StudyRow, 'recovery' | 'atCheckpoints'>; norms: number[] }> {
  const model = student(o.seed);
  const varList = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const adam = tf.train.adam(o.learningRate);
  const optimizer: tf.Optimizer | TransformedOptimizer =
    method.transforms.length === 0 ? adam : withTransforms(adam, ...method.transforms);
  const spikes = new Map(spikeSteps(o).map((s) => [s.step, s.scaled]));
  const evaluate = () =>
    tf.tidy(() => tf.losses.meanSquaredError(heldOut.y, model.predict(heldOut.x) as tf.Tensor).dataSync()[0] as number);
  const curve: [number, number][] = [[0, evaluate()]];
  const norms: number[] = [];
  let clippedSteps = 0;
  for (let step = 0; step < o.steps; step++) {
    const scaled = spikes.get(step);
    const batch = examples(
      o.batchSize,
      seeded(o.seed, 1000 + 2 * step),
      target,
      scaled ? { scaled, by: o.spikeScale } : undefined,
    );
    const { value, grads } = tf.variableGrads(
      () => tf.losses.meanSquaredError(batch.y, model.apply(batch.x) as tf.Tensor) as tf.Scalar,
      varList,
    );
    const norm = globalNorm(grads);
    const raw = norm.dataSync()[0] as number;
    norms.push(raw);
    optimizer.applyGradients(grads);
    const state = 'readState' in optimizer ? await optimizer.readState() : {};
    if (method.clipped?.(state, raw)) clippedSteps++;
    tf.dispose([value, grads, norm, batch.x, batch.y]);
    if ((step + 1) % o.evalEvery === 0 || step + 1 === o.steps) curve.push([step + 1, evaluate()]);
  }
  const finite = varList.every((v) => tf.tidy(() => tf.all(tf.isFinite(v)).dataSync()[0] === 1));
  const firstSpike = Math.min(...spikes.keys());
  const after = curve.filter(([s]) => s > firstSpike).map(([, l]) => l);
  optimizer.dispose();
  model.dispose();
  return {
    row: {
      method: method.label,
      finalLoss: (curve[curve.length - 1] as [number, number])[1],
      maxAfterSpike: after.length ? Math.max(...after.map((l) => (Number.isNaN(l) ? Infinity : l))) : Number.NaN,
      maxRawNorm: Math.max(...norms.map((n) => (Number.isNaN(n) ? Infinity : n))),
      clippedShare: clippedSteps / o.steps,
      finite,
      curve,
    },
    norms,
  };
}

/** Held-out loss at step s of a curve (the last evaluation at or before s). */
function lossAt(curve: readonly (readonly [number, number])[], s: number): number {
  let value = Number.NaN;
  for (const [step, loss] of curve) if (step <= s) value = loss;
  return value;
}

/**
 * For each spike at step s: how many steps until the held-out MSE is back, for good (up to the next spike or the
 * end), within 10% of its value just before the spike; 0 when it never left that band, undefined when it is still
 * out of it at the next spike (or the end). At the evaluation granularity.
 */
function recoveries(curve: readonly (readonly [number, number])[], spikes: readonly number[], end: number) {
  return spikes.map((s, i) => {
    const limit = 1.1 * lossAt(curve, s);
    const until = spikes[i + 1] ?? end;
    const window = curve.filter(([step]) => step > s && step <= until);
    let lastBad = -1;
    window.forEach(([, loss], k) => {
      if (!(loss <= limit)) lastBad = k;
    });
    if (lastBad < 0) return 0;
    const back = window[lastBad + 1];
    return back ? back[0] - s : undefined;
  });
}

/** Runs every configuration on the same data and initial weights. */
export async function runStudy(
  o: StudyOptions = DEFAULTS,
  log: (line: string) => void = () => {},
): Promise<StudyResult> {
  const target = teacher(o.seed);
  const heldOut = examples(o.heldOut, seeded(o.seed, 100), target);
  const spikes = spikeSteps(o);
  const firstSpike = Math.min(...spikes.map((s) => s.step));
  const checkpoints = [firstSpike, ...[0.5, 0.75].map((f) => Math.round(f * o.steps))].filter(
    (s, i, a) => a.indexOf(s) === i,
  );
  const rows: StudyRow[] = [];
  let fixedClip = Number.NaN;
  let healthyMedianNorm = Number.NaN;
  // The unclipped run goes first: its healthy norms set clipByGlobalNorm's limit.
  const list = methods(1);
  for (let i = 0; i < list.length; i++) {
    const method = i === 0 ? (list[0] as Method) : (methods(fixedClip)[i] as Method);
    const t0 = performance.now();
    const { row, norms } = await train(o, method, target, heldOut);
    if (i === 0) {
      healthyMedianNorm = median(norms.slice(0, firstSpike));
      fixedClip = Number((o.fixedClipFactor * healthyMedianNorm).toPrecision(2));
    }
    rows.push({
      ...row,
      atCheckpoints: checkpoints.map((s) => lossAt(row.curve, s)),
      recovery: recoveries(
        row.curve,
        spikes.map((s) => s.step),
        o.steps,
      ),
    });
    log(`${row.method}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  tf.dispose([heldOut.x, heldOut.y]);
  (target as unknown as { dispose(): void }).dispose();
  return { rows, fixedClip, healthyMedianNorm, checkpoints, spikes, options: o };
}

const fmt = (x: number) =>
  Number.isNaN(x)
    ? 'NaN'
    : !Number.isFinite(x)
      ? String(x)
      : x >= 1e4 || x < 1e-3
        ? x.toExponential(1)
        : x.toPrecision(3);

/** The result as a markdown table (with its caption lines). */
export function studyTable(r: StudyResult): string {
  const header = [
    'method',
    'final held-out MSE',
    ...r.checkpoints.map((s) => `MSE at step ${s}`),
    'max MSE after 1st spike',
    'steps to recover (each spike)',
    'max raw grad norm',
    'steps clipped',
    'weights finite',
  ];
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [
    line(header),
    line(header.map((_, i) => (i === 0 ? '---' : '---:'))),
    ...r.rows.map((row) =>
      line([
        `\`${row.method}\``,
        `**${fmt(row.finalLoss)}**`,
        ...row.atCheckpoints.map(fmt),
        fmt(row.maxAfterSpike),
        row.recovery.map((s) => (s === undefined ? 'never' : String(s))).join(', '),
        fmt(row.maxRawNorm),
        `${(100 * row.clippedShare).toFixed(1)}%`,
        row.finite ? 'yes' : '**no**',
      ]),
    ),
  ].join('\n');
}

function describe(r: StudyResult): string {
  const o = r.options;
  return [
    `${o.steps} Adam steps (lr ${o.learningRate}) of batch ${o.batchSize}; corrupted batches at steps ` +
      `${r.spikes.map((s) => `${s.step} (${s.scaled} x${o.spikeScale})`).join(', ')}; held-out MSE on ` +
      `${o.heldOut} clean examples, every ${o.evalEvery} steps. \`clipByGlobalNorm\`'s limit is ` +
      `${o.fixedClipFactor} x the median raw norm of the unclipped run before the first spike ` +
      `(${fmt(r.healthyMedianNorm)}), rounded to 2 digits: ${r.fixedClip}.`,
  ].join('\n');
}

const USAGE = [
  'usage: node --import tsx examples/adaptive-clipping-study.ts [--backend wasm|cpu] [--steps N] [--seed N]',
  '                                                              [--out FILE.md]',
  '',
  'Trains a small MLP on built-in regression data with injected gradient spikes (batches with labels or inputs',
  'scaled by 1e3), without clipping and with clipByGlobalNorm, autoClip, zClip and adaptiveGradClip, and prints',
  'a markdown table of held-out losses, recovery and gradient norms.',
  '  --backend  tfjs backend (default wasm, falls back to cpu)',
  `  --steps    training steps per configuration (default ${DEFAULTS.steps}); spikes at 20/40/60/80% of them`,
  `  --seed     seeds the teacher, the data and the initial weights (default ${DEFAULTS.seed})`,
  '  --out      also write the table into FILE between <!-- adaptive-clipping-study:start/end --> markers',
].join('\n');

/** The command line: the study's options and where `--out` writes the table. */
function parseArgs(argv: readonly string[]) {
  return parseCommandLine<StudyOptions & { out?: string }>(argv, DEFAULTS, {
    '--steps': (value, o) => ({ ...o, steps: wholeFlag('--steps', value, 50) }),
    '--seed': (value, o) => ({ ...o, seed: wholeFlag('--seed', value, 0, 1000) }),
    '--out': (file, o) => {
      if (!file) throw new Error('--out needs a file');
      return { ...o, out: file };
    },
  });
}

async function main(argv: readonly string[]): Promise<void> {
  const cli = await startExample(parseArgs(argv), USAGE);
  if (cli === undefined) return;
  const { out, ...o } = cli.options;
  const used = cli.backend;
  const started = performance.now();
  const result = await runStudy(o, (line) => console.error(line));
  const seconds = (performance.now() - started) / 1000;
  const command = ['node --import tsx examples/adaptive-clipping-study.ts', ...argv].join(' ');
  const body = [
    `Command: \`${command}\`; ${new Date().toISOString().slice(0, 10)}; backend \`${used}\`; Node ${process.version}, ` +
      `@tensorflow/tfjs ${tf.version.tfjs}; ${seconds.toFixed(1)} s.`,
    '',
    describe(result),
    '',
    studyTable(result),
  ].join('\n');
  console.log(body);
  if (out) {
    writeMarkedBlock(out, 'adaptive-clipping-study', 'examples/adaptive-clipping-study.ts', body);
    console.error(`wrote the adaptive-clipping-study block of ${out}`);
  }
}

runWhenExecuted(import.meta.url, main);
