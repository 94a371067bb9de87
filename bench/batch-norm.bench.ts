/**
 * What does a training step (forward + backward) of gradstab's `layers.batchNormalization` cost next to tfjs's
 * `tf.layers.batchNormalization`, on the channels-last input where both are correct? And, for context, on a
 * dense-style rank-2 input, on a channels-first input (against a hand-written autodiff reference, as tfjs's layer
 * is wrong there), and in inference mode.
 */
import * as tf from '@tensorflow/tfjs';
import { layers } from '../src/index.js';
import { type BenchConfig, type BenchResult, runBench, type Variant } from './harness.js';
import type { BenchSuite, SuiteContext } from './suite.js';

/** Keras's (and both layers') defaults. */
const MOMENTUM = 0.99;
const EPSILON = 1e-3;
/** The target for the channels-last training step: gradstab / tfjs <= 1 (at least as fast). */
const TARGET_RATIO = 1.0;

const TFJS = 'tf.layers.batchNormalization';
const OURS = 'gradstab layers.batchNormalization';
const REFERENCE = 'autodiff reference (tf.moments)';
const ERROR_COLUMN = 'max rel. error vs autodiff (y, dx, dgamma, dbeta)';

/** The input of one comparison: x (a variable, so that dx is computed) and the fixed weights w of the loss. */
interface Inputs {
  readonly x: tf.Variable;
  readonly w: tf.Tensor;
  readonly axis: number;
}

/**
 * x has a different mean (-2 to 2) and standard deviation (0.5 to 3) on each channel, so that a layer that mixes
 * up the channels shows it in the error column.
 */
function inputs(shape: number[], axis: number): Inputs {
  const x = tf.tidy(() => {
    const resolved = axis < 0 ? axis + shape.length : axis;
    const channels = shape[resolved] as number;
    const along = shape.map((d, i) => (i === resolved ? d : 1));
    const mean = tf.reshape(tf.linspace(-2, 2, channels), along);
    const std = tf.reshape(tf.linspace(0.5, 3, channels), along);
    return tf.add(tf.mul(tf.randomNormal(shape, 0, 1, 'float32', 11), std), mean);
  });
  const variable = tf.variable(x, true); // shares x's data
  x.dispose();
  return { x: variable, w: tf.randomNormal(shape, 0, 1, 'float32', 12), axis };
}

/** The layer's weights: gamma and beta (trainable), the moving mean and variance. */
interface LayerWeights {
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;
  readonly movingMean: tf.Variable;
  readonly movingVariance: tf.Variable;
}

type Layer = tf.layers.Layer;

/** Builds a layer on the input (one inference call, disposed) and returns its weights. */
function buildLayer(layer: Layer, x: tf.Tensor): LayerWeights {
  tf.dispose(layer.apply(x) as tf.Tensor);
  const [gamma, beta] = layer.trainableWeights.map((v) => v.read() as tf.Variable);
  const [movingMean, movingVariance] = layer.nonTrainableWeights.map((v) => v.read() as tf.Variable);
  if (!gamma || !beta || !movingMean || !movingVariance) throw new Error(`${layer.name}: unexpected weights`);
  return { gamma, beta, movingMean, movingVariance };
}

/** The forward pass in training mode, and the variables it is differentiated against: [x, gamma, beta]. */
interface Trainable {
  forward(): tf.Tensor;
  readonly vars: readonly [tf.Variable, tf.Variable, tf.Variable];
  /** Written last by every step: the block's closing read. */
  readonly movingVariance: tf.Variable;
  dispose(): void;
}

function layerTrainable(layer: Layer, io: Inputs): Trainable {
  const w = buildLayer(layer, io.x);
  return {
    forward: () => layer.apply(io.x, { training: true }) as tf.Tensor,
    vars: [io.x, w.gamma, w.beta],
    movingVariance: w.movingVariance,
    dispose: () => layer.dispose(),
  };
}

/**
 * Batch normalization written with plain ops and differentiated by tfjs: `tf.moments` over every axis but the
 * channel axis, `(x - mean) / sqrt(variance + epsilon) * gamma + beta`, and the same moving-average updates as
 * the layers (Keras's form), so that it does the same work a training step of a layer does.
 */
function referenceTrainable(io: Inputs): Trainable {
  const { x } = io;
  const axis = io.axis < 0 ? io.axis + x.rank : io.axis;
  const channels = x.shape[axis] as number;
  const reduce = x.shape.map((_, i) => i).filter((i) => i !== axis);
  const shape = x.shape.map((d, i) => (i === axis ? d : 1));
  const gamma = tf.variable(tf.ones([channels]), true);
  const beta = tf.variable(tf.zeros([channels]), true);
  const movingMean = tf.variable(tf.zeros([channels]), false);
  const movingVariance = tf.variable(tf.ones([channels]), false);
  const update = (moving: tf.Variable, batch: tf.Tensor) =>
    moving.assign(tf.sub(moving, tf.mul(tf.sub(moving, tf.reshape(batch, [channels])), 1 - MOMENTUM)));
  return {
    forward: () => {
      const { mean, variance } = tf.moments(x, reduce, true);
      const normed = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, EPSILON)));
      const y = tf.add(tf.mul(normed, tf.reshape(gamma, shape)), tf.reshape(beta, shape));
      tf.tidy(() => {
        update(movingMean, mean);
        update(movingVariance, variance);
      });
      return y;
    },
    vars: [x, gamma, beta],
    movingVariance,
    dispose: () => tf.dispose([gamma, beta, movingMean, movingVariance]),
  };
}

/** `sum(forward() * w)` and its gradients with respect to x, gamma and beta. */
function lossAndGrads(t: Trainable, w: tf.Tensor): { value: tf.Scalar; grads: tf.NamedTensorMap } {
  return tf.variableGrads(() => tf.sum(tf.mul(t.forward(), w)) as tf.Scalar, [...t.vars]);
}

/** y, dx, dgamma, dbeta of one training step, as float32 arrays. */
function trainingOutputs(t: Trainable, w: tf.Tensor): Float32Array[] {
  return tf.tidy(() => {
    const y = t.forward();
    const { grads } = lossAndGrads(t, w);
    return [y, ...t.vars.map((v) => grads[v.name] as tf.Tensor)].map((r) => r.dataSync() as Float32Array);
  });
}

const fmtError = (e: number) => e.toExponential(1);

/** max |a - b| / max |b| over each pair of arrays, the worst of them. */
function relativeError(got: readonly Float32Array[], want: readonly Float32Array[]): number {
  let worst = 0;
  want.forEach((b, k) => {
    const a = got[k] as Float32Array;
    let diff = 0;
    let scale = 0;
    for (let i = 0; i < b.length; i++) {
      diff = Math.max(diff, Math.abs((a[i] as number) - (b[i] as number)));
      scale = Math.max(scale, Math.abs(b[i] as number));
    }
    worst = Math.max(worst, diff / (scale || 1));
  });
  return worst;
}

/**
 * The error of a training step's y and gradients against `want`, formatted; when the backward pass throws (tfjs's
 * layer on channels-first inputs does), the error of y alone and the exception's message.
 */
function checkedError(t: Trainable, w: tf.Tensor, want: readonly Float32Array[]): string {
  try {
    return fmtError(relativeError(trainingOutputs(t, w), want));
  } catch (err) {
    const y = tf.tidy(() => t.forward().dataSync() as Float32Array);
    const message = err instanceof Error ? err.message : String(err);
    return `y: ${fmtError(relativeError([y], want.slice(0, 1)))}; the backward pass throws "${message}"`;
  }
}

/** One training step: forward in training mode (moving statistics updated), backward, results disposed. */
function trainingVariant(name: string, t: Trainable, w: tf.Tensor, error: string): Variant & { dispose(): void } {
  return {
    name,
    step: () => {
      tf.tidy(() => {
        lossAndGrads(t, w);
      });
    },
    sync: async () => {
      await t.movingVariance.data();
    },
    extra: () => ({ [ERROR_COLUMN]: error }),
    dispose: () => t.dispose(),
  };
}

/** One inference call (`apply(x)`, moving statistics), keeping the output until the next call. */
function inferenceVariant(name: string, layer: Layer, x: tf.Tensor, error: string): Variant & { dispose(): void } {
  buildLayer(layer, x);
  let last: tf.Tensor | undefined;
  return {
    name,
    step: () => {
      last?.dispose();
      last = layer.apply(x, { training: false }) as tf.Tensor;
    },
    sync: async () => {
      await last?.data();
    },
    extra: () => ({ [ERROR_COLUMN]: error }),
    dispose: () => {
      last?.dispose();
      layer.dispose();
    },
  };
}

interface Sizes {
  readonly rounds: number;
  readonly steps: number;
}

function config(
  ctx: SuiteContext,
  id: string,
  title: string,
  variants: readonly [Variant, Variant],
  sizes: { full: Sizes; quick: Sizes },
  target?: number,
): BenchConfig {
  const s = ctx.quick ? sizes.quick : sizes.full;
  return {
    id,
    title,
    baseline: variants[0],
    candidates: [variants[1]],
    ...(target === undefined ? {} : { targets: { [variants[1].name]: target } }),
    warmup: 3,
    rounds: ctx.rounds ?? s.rounds,
    stepsPerBlock: ctx.steps ?? s.steps,
    countSteps: 3,
    log: ctx.log,
  };
}

/**
 * A training step of `baseline` against gradstab's layer on the same input. The baseline is tfjs's layer, or
 * the autodiff reference when `baseline` is 'reference'. Every variant's y and gradients are checked against the
 * reference once, before the warm-up.
 */
async function compareTraining(
  ctx: SuiteContext,
  id: string,
  title: string,
  shape: number[],
  axis: number,
  baseline: 'tfjs' | 'reference',
  sizes: { full: Sizes; quick: Sizes },
  target?: number,
): Promise<BenchResult> {
  const io = inputs(shape, axis);
  const ref = referenceTrainable(io);
  const tfjs = layerTrainable(tf.layers.batchNormalization({ axis }), io);
  const ours = layerTrainable(layers.batchNormalization({ axis }), io);
  const variants: (Variant & { dispose(): void })[] = [];
  try {
    const want = trainingOutputs(ref, io.w);
    const tfjsError = checkedError(tfjs, io.w, want);
    const oursError = checkedError(ours, io.w, want);
    ctx.log(`  ${id}: max rel. error vs autodiff: tfjs ${tfjsError}, gradstab ${oursError}`);
    if (baseline === 'reference') {
      tfjs.dispose();
      variants.push(
        trainingVariant(REFERENCE, ref, io.w, `0 (${TFJS}({axis: ${axis}}), not timed: ${tfjsError})`),
        trainingVariant(OURS, ours, io.w, oursError),
      );
    } else {
      ref.dispose();
      variants.push(trainingVariant(TFJS, tfjs, io.w, tfjsError), trainingVariant(OURS, ours, io.w, oursError));
    }
    return await runBench(config(ctx, id, title, [variants[0] as Variant, variants[1] as Variant], sizes, target));
  } finally {
    if (variants.length === 0) for (const t of [ref, tfjs, ours]) t.dispose();
    for (const v of variants) v.dispose();
    tf.dispose([io.x, io.w]);
  }
}

/** Inference (`apply(x)`, the predict path) of tfjs's layer against gradstab's, fresh layers (moving stats 0, 1). */
async function compareInference(
  ctx: SuiteContext,
  id: string,
  title: string,
  shape: number[],
  sizes: { full: Sizes; quick: Sizes },
): Promise<BenchResult> {
  const x = tf.randomNormal(shape, 1, 2, 'float32', 11);
  // With fresh layers (moving mean 0, variance 1, gamma 1, beta 0) the answer is x / sqrt(1 + epsilon).
  const want = [tf.tidy(() => tf.div(x, Math.sqrt(1 + EPSILON)).dataSync() as Float32Array)];
  const made: (Variant & { dispose(): void })[] = [];
  try {
    for (const [name, layer] of [
      [TFJS, tf.layers.batchNormalization({})],
      [OURS, layers.batchNormalization({})],
    ] as const) {
      const error = tf.tidy(() => relativeError([(layer.apply(x) as tf.Tensor).dataSync() as Float32Array], want));
      made.push(inferenceVariant(name, layer, x, `${fmtError(error)} (y only)`));
    }
    return await runBench(config(ctx, id, title, [made[0] as Variant, made[1] as Variant], sizes));
  } finally {
    for (const v of made) v.dispose();
    x.dispose();
  }
}

const suite: BenchSuite = {
  id: 'batch-norm',
  title: 'Batch normalization: cost of a training step',
  description: [
    "gradstab's `layers.batchNormalization({})` (closed-form backward with `tf.customGrad`; per-channel sums as a",
    'matrix product on channels-last inputs, and the fused `tf.batchNorm` kernel there on cpu, broadcast ops on',
    'wasm) against a baseline, alternating in one process on the same',
    'backend. A training step is forward + backward:',
    '`tf.variableGrads(() => sum(layer.apply(x, {training: true}) * w), [x, gamma, beta])` with x a `tf.variable`',
    '(so dx is computed; Gaussian, with a mean from -2 to 2 and a standard deviation from 0.5 to 3 across the',
    "channels) and w a fixed random tensor of the input's shape; the gradients and the loss are",
    'disposed, and the layer updates its moving mean and variance once per step (part of training mode). Both',
    "layers are built (one inference call) before anything runs, with Keras's defaults (momentum 0.99, epsilon",
    '1e-3, gamma 1, beta 0).',
    '',
    '- **train-nhwc** (the target): input `[64, 16, 16, 32]`, channels-last (axis -1), where both layers are',
    '  correct; baseline `tf.layers.batchNormalization({})`. Target (issue): gradstab / tfjs <= 1.0 on cpu and',
    '  wasm.',
    "- **train-dense** (context, no target): a dense-style `[256, 512]` input, axis -1; baseline tfjs's layer.",
    "- **train-nchw** (context, no target): channels-first `[64, 32, 16, 16]`, axis 1. tfjs's layer is wrong",
    '  there: its output is off (`tf.batchNorm` indexes the per-channel parameters as if the channels were last)',
    "  and its backward pass throws. So the baseline here is **not** tfjs's layer but a correct hand-written",
    '  reference differentiated by tfjs: `tf.moments(x, [0, 2, 3], true)`, `(x - mean) / sqrt(variance + 1e-3) *',
    '  gamma + beta` with gamma and beta reshaped to `[1, 32, 1, 1]`, plus the same moving-average updates the',
    "  layers make. The reference's error column shows what tfjs's layer does on this input (not timed).",
    '- **infer-nhwc** (context, no target): inference mode (the predict path: `layer.apply(x)`, moving',
    "  statistics, forward only) on `[64, 16, 16, 32]`, tfjs's layer against gradstab's; a step keeps its output",
    '  until the next one, and a block ends with an async `data()` read of the last output.',
    '',
    'The error column is checked once per case, before the warm-up, in float32: the largest of max |got - want|',
    '/ max |want| over y, dx, dgamma and dbeta, against the autodiff reference on the same input (in inference,',
    'against `x / sqrt(1 + 1e-3)`, the answer of a fresh layer). After 3 warm-up steps of each variant, reads and',
    'leaks are counted over 3 steps and one `tf.profile` of 3 steps gives kernels per step; then each round times',
    'one block of N steps of each variant, in the listed order on even rounds and reversed on odd ones (a full GC',
    'before each block). A training block ends with an async `data()` read of the moving variance, which every',
    'step writes last. The ratio is gradstab / baseline per round (median, 95% bootstrap interval of the median,',
    'IQR); the target is **met** when the whole interval is at or under it. Blocking reads are `readSync` calls not',
    'nested in an async `read`; leaks are the change of `tf.memory().numTensors` per step after warm-up. (The',
    "blocking read of tfjs's layer on cpu is the cpu backend's `Tile` kernel, which reads its input with",
    '`bufferSync`, in the gradient of `tf.batchNorm`; on cpu the data is already on the host.)',
  ].join('\n'),
  async run(ctx) {
    // cpu steps are 10 to 50 times slower than wasm ones (about 1 s for tfjs's training step on [64, 16, 16, 32]):
    // fewer rounds there keep the whole suite within a few minutes.
    const cpu = ctx.backend === 'cpu';
    const sizes = (cpuFull: Sizes, wasmFull: Sizes, quick: Sizes) => ({ full: cpu ? cpuFull : wasmFull, quick });
    return [
      await compareTraining(
        ctx,
        'train-nhwc',
        '[64, 16, 16, 32] channels-last, training step (forward + backward), vs tfjs',
        [64, 16, 16, 32],
        -1,
        'tfjs',
        sizes({ rounds: 10, steps: 2 }, { rounds: 16, steps: 5 }, { rounds: 4, steps: 2 }),
        TARGET_RATIO,
      ),
      await compareTraining(
        ctx,
        'train-dense',
        '[256, 512] rank 2, axis -1, training step, vs tfjs (context, no target)',
        [256, 512],
        -1,
        'tfjs',
        sizes({ rounds: 10, steps: 3 }, { rounds: 12, steps: 5 }, { rounds: 3, steps: 2 }),
      ),
      await compareTraining(
        ctx,
        'train-nchw',
        '[64, 32, 16, 16] channels-first (axis 1), training step, vs an autodiff reference ' +
          "(tfjs's layer is wrong here; context, no target)",
        [64, 32, 16, 16],
        1,
        'reference',
        sizes({ rounds: 6, steps: 2 }, { rounds: 12, steps: 5 }, { rounds: 3, steps: 1 }),
      ),
      await compareInference(
        ctx,
        'infer-nhwc',
        '[64, 16, 16, 32] channels-last, inference (forward only), vs tfjs (context, no target)',
        [64, 16, 16, 32],
        sizes({ rounds: 10, steps: 10 }, { rounds: 12, steps: 10 }, { rounds: 3, steps: 3 }),
      ),
    ];
  },
};

export default suite;
