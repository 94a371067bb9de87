import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { GradStabError } from '../errors.js';
import { assertSingleTfjs } from '../internal/single-tfjs.js';
import { fail, optionsObject, positiveFinite, wholeNumber } from '../internal/validate.js';
import { checkData, checkModel, isLossIdentifier, lossOf } from './inputs.js';
import { trainSteps } from './trial.js';
import { cloneModel, disposeOptimizer, freshOptimizer, setLearningRate } from './trial-model.js';

const FN = 'lrRangeTest';

/** Training data: inputs and targets, a tensor each or one per model input and output, examples along axis 0. */
export interface TrainingData {
  /** The inputs: a tensor, or one per model input, examples along axis 0. */
  readonly x: tf.Tensor | readonly tf.Tensor[];
  /** The targets: a tensor, or one per model output, as many examples as `x`. */
  readonly y: tf.Tensor | readonly tf.Tensor[];
}

/**
 * A loss as `model.compile` takes it: a tf.layers loss name or a function of targets and predictions, or for a
 * model with several outputs one per output (an array in output order, or an object by output name).
 */
export type LossIdentifier =
  | string
  | ((yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Tensor)
  | readonly (string | ((yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Tensor))[]
  | {
      /** The loss of the output of this name. */
      readonly [outputName: string]: string | ((yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Tensor);
    };

/** Options of {@link lrRangeTest}. Each field says its default. */
export interface LrRangeTestOptions {
  /** The first learning rate, > 0. Defaults to 1e-7 (fastai's `start_lr`, Lightning's `min_lr`). */
  readonly minLearningRate?: number;
  /** The last learning rate, above `minLearningRate`. Defaults to 10 (fastai's `end_lr`). */
  readonly maxLearningRate?: number;
  /** Training steps, one per learning rate, spaced evenly in log scale: 5 to 10000. Defaults to 100. */
  readonly steps?: number;
  /** Examples per step, taken from the data in order and wrapping around: a whole number >= 1. Defaults to 32. */
  readonly batchSize?: number;
  /**
   * The weight of the old value in the loss's exponential moving average (debiased), in [0, 1). Defaults to 0.98
   * (fastai's and Lightning's `beta`).
   */
  readonly smoothing?: number;
  /** The test stops when the smoothed loss exceeds this many times its lowest value, > 1. Defaults to 4 (fastai). */
  readonly divergeFactor?: number;
  /**
   * Makes the optimizer to test, given the first learning rate. Defaults to a fresh copy (same class and
   * configuration) of the model's compiled optimizer.
   */
  readonly optimizer?: (learningRate: number) => tf.Optimizer;
  /** The loss. Defaults to the model's compiled loss. */
  readonly loss?: LossIdentifier;
  /** Called after each step (for a progress bar). */
  readonly onProgress?: (progress: { step: number; steps: number; learningRate: number; loss: number }) => void;
  /** Aborts the test: the promise rejects with the signal's reason, and everything made is freed. */
  readonly signal?: AbortSignal;
}

/** What {@link lrRangeTest} measured. */
export interface LrRangeTestResult {
  /** The learning rate of each step run, increasing exponentially. */
  readonly learningRates: readonly number[];
  /** The training loss of each step (of the batch it trained on, before the update). */
  readonly losses: readonly number[];
  /** The losses' debiased exponential moving average. */
  readonly smoothedLosses: readonly number[];
  /**
   * The learning rate where the smoothed loss falls fastest against log(learning rate), the first tenth of the steps
   * and the last one left out (Lightning's `suggestion()`, fastai's `steep`); null when fewer than 3 steps remain.
   * The usual choice of a learning rate to train with.
   */
  readonly steepest: number | null;
  /** The learning rate of the lowest smoothed loss (a tenth of it is fastai's `minimum` suggestion). */
  readonly minimum: number;
  /** The learning rate at which the loss diverged (non-finite, or above `divergeFactor` times its lowest), or null. */
  readonly divergedAt: number | null;
}

interface Settings {
  readonly minLearningRate: number;
  readonly maxLearningRate: number;
  readonly steps: number;
  readonly batchSize: number;
  readonly smoothing: number;
  readonly divergeFactor: number;
  readonly optimizer: ((learningRate: number) => tf.Optimizer) | undefined;
  readonly loss: LossIdentifier | undefined;
  readonly onProgress: LrRangeTestOptions['onProgress'];
  readonly signal: AbortSignal | undefined;
}

const KEYS = [
  'minLearningRate',
  'maxLearningRate',
  'steps',
  'batchSize',
  'smoothing',
  'divergeFactor',
  'optimizer',
  'loss',
  'onProgress',
  'signal',
] as const;

function resolveOptions(options: unknown): Settings {
  const o = optionsObject<LrRangeTestOptions>(FN, options, KEYS);
  const minLearningRate = positiveFinite(FN, 'minLearningRate', o.minLearningRate ?? 1e-7);
  const maxLearningRate = positiveFinite(FN, 'maxLearningRate', o.maxLearningRate ?? 10);
  if (!(maxLearningRate > minLearningRate)) {
    fail(FN, `maxLearningRate must be above minLearningRate (${minLearningRate})`, maxLearningRate);
  }
  const smoothing = o.smoothing ?? 0.98;
  if (typeof smoothing !== 'number' || !(smoothing >= 0 && smoothing < 1)) {
    fail(FN, 'smoothing must be a number in [0, 1)', smoothing);
  }
  const divergeFactor = o.divergeFactor ?? 4;
  if (typeof divergeFactor !== 'number' || !(divergeFactor > 1) || !Number.isFinite(divergeFactor)) {
    fail(FN, 'divergeFactor must be a finite number > 1', divergeFactor);
  }
  for (const key of ['optimizer', 'onProgress'] as const) {
    if (o[key] !== undefined && typeof o[key] !== 'function') fail(FN, `${key} must be a function`, o[key]);
  }
  if (o.loss !== undefined && !isLossIdentifier(o.loss)) {
    fail(FN, 'loss must be a tf.layers loss name or a function (or, per output, an array or object of them)', o.loss);
  }
  const signal = o.signal;
  const isSignal = (v: unknown): boolean =>
    typeof v === 'object' && v !== null && typeof (v as AbortSignal).throwIfAborted === 'function';
  if (signal !== undefined && !isSignal(signal)) {
    fail(FN, 'signal must be an AbortSignal', signal);
  }
  return {
    minLearningRate,
    maxLearningRate,
    steps: wholeNumber(FN, 'steps', o.steps ?? 100, 5, false, 10000),
    batchSize: wholeNumber(FN, 'batchSize', o.batchSize ?? 32, 1, false, 2 ** 31 - 1),
    smoothing,
    divergeFactor,
    optimizer: o.optimizer,
    loss: o.loss,
    onProgress: o.onProgress,
    signal,
  };
}

/**
 * Index of the steepest fall of `values` (central differences, as numpy's `gradient`), among indices `[from, to)`;
 * the spacing is even (the learning rates are evenly spaced in log scale), so it does not change the answer.
 */
export function steepestIndex(values: readonly number[], from: number, to: number): number | null {
  if (to - from < 3) return null;
  let best: number | null = null;
  let bestSlope = Number.POSITIVE_INFINITY;
  for (let i = from; i < to; i++) {
    const lo = Math.max(from, i - 1);
    const hi = Math.min(to - 1, i + 1);
    const slope = ((values[hi] as number) - (values[lo] as number)) / (hi - lo);
    if (slope < bestSlope) {
      bestSlope = slope;
      best = i;
    }
  }
  return best;
}

/**
 * The learning-rate range test (Smith 2017, "Cyclical Learning Rates for Training Neural Networks", section 3.3;
 * fastai's `lr_find`, Lightning's `Tuner.lr_find`): trains a copy of the model for `steps` steps while the
 * learning rate grows exponentially from `minLearningRate` to `maxLearningRate`, records the loss of each step,
 * smooths it, and stops once the loss diverges. The learning rate where the smoothed loss falls fastest
 * (`steepest`) is the usual choice to train with; `divergedAt` bounds it from above.
 *
 * It never changes the model, its weights or its optimizer: it trains a copy rebuilt from the model's JSON (every
 * layer must be serializable), with a fresh optimizer, and frees both (0 tensors left). The losses are read with
 * `trainOnBatch`'s asynchronous reads: no blocking read, on any backend.
 *
 * @param model A built `tf.LayersModel`; compiled, unless `options.loss` and `options.optimizer` are given.
 * @param data `{x, y}`; batches of `batchSize` examples are taken in order, wrapping around.
 * @param options See {@link LrRangeTestOptions}.
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { lrRangeTest } from 'gradstab';
 * const model = tf.sequential({
 *   layers: [tf.layers.dense({ units: 1, inputShape: [2], kernelInitializer: 'zeros' })],
 * });
 * model.compile({ optimizer: tf.train.sgd(0.1), loss: 'meanSquaredError' });
 * const x = tf.tensor2d([[1, 2], [2, 1], [0, 1], [1, 0]]);
 * const y = tf.tensor2d([[3], [3], [1], [1]]);
 * const found = await lrRangeTest(model, { x, y }, { minLearningRate: 1e-4, maxLearningRate: 10, steps: 40 });
 * console.log(found.steepest !== null && found.steepest > 1e-3 && found.steepest < 1); // true
 * console.log(found.divergedAt !== null && found.divergedAt > (found.steepest ?? 0)); // true
 * console.log(model.getWeights()[0]?.dataSync()); // Float32Array(2) [ 0, 0 ] (the model is untouched)
 * ```
 */
export function lrRangeTest(
  model: tfl.LayersModel,
  data: TrainingData,
  options?: LrRangeTestOptions,
): Promise<LrRangeTestResult> {
  return run(model, data, options); // bad input rejects the promise, it does not throw
}

async function run(modelArg: unknown, dataArg: unknown, options: unknown): Promise<LrRangeTestResult> {
  assertSingleTfjs(FN);
  const model = checkModel(FN, modelArg);
  const data = checkData(FN, dataArg, model);
  const s = resolveOptions(options);
  const loss = lossOf(FN, s.loss, model);
  if (s.optimizer === undefined && !model.optimizer) {
    fail(FN, 'the model must be compiled, or options.optimizer given', model, 'no optimizer');
  }
  s.signal?.throwIfAborted();
  const copy = await cloneModel(FN, model);
  let optimizer: tf.Optimizer | undefined;
  try {
    const made: unknown = s.optimizer ? s.optimizer(s.minLearningRate) : freshOptimizer(FN, model.optimizer);
    if (!(made instanceof tf.Optimizer)) fail(FN, 'options.optimizer must return a tf.Optimizer', made);
    optimizer = made;
    try {
      copy.compile({ optimizer, loss: loss as string });
    } catch (err) {
      fail(FN, 'loss must be a loss tf.layers knows (a name or a function)', loss, `${String(loss)} (${err})`);
    }
    return await sweep(copy, optimizer, data, s);
  } finally {
    if (optimizer) disposeOptimizer(optimizer);
    copy.dispose();
  }
}

async function sweep(
  copy: tfl.LayersModel,
  optimizer: tf.Optimizer,
  data: { x: tf.Tensor[]; y: tf.Tensor[]; examples: number },
  s: Settings,
): Promise<LrRangeTestResult> {
  const learningRates: number[] = [];
  const losses: number[] = [];
  const smoothedLosses: number[] = [];
  const ratio = s.maxLearningRate / s.minLearningRate;
  let average = 0;
  let best = Number.POSITIVE_INFINITY;
  let divergedAt: number | null = null;
  const rateAt = (step: number) => s.minLearningRate * ratio ** ((step - 1) / (s.steps - 1));
  try {
    await trainSteps(copy, { x: data.x, y: data.y, count: data.examples }, s.steps, s.batchSize, {
      beforeStep: (step) => {
        s.signal?.throwIfAborted();
        setLearningRate(FN, optimizer, rateAt(step));
      },
      afterStep: (step, value) => {
        const learningRate = rateAt(step);
        average = s.smoothing * average + (1 - s.smoothing) * value;
        const smoothed = average / (1 - s.smoothing ** step);
        learningRates.push(learningRate);
        losses.push(value);
        smoothedLosses.push(smoothed);
        s.onProgress?.({ step, steps: s.steps, learningRate, loss: value });
        if (!Number.isFinite(smoothed) || smoothed > s.divergeFactor * best) {
          divergedAt = learningRate;
          return false;
        }
        best = Math.min(best, smoothed);
        return true;
      },
    });
  } catch (err) {
    // A first step that fails is the data not fitting the model or the loss (targets of another shape, say),
    // which tfjs reports in its own words.
    if (losses.length > 0 || (s.signal?.aborted ?? false) || err instanceof GradStabError) throw err;
    const y = data.y.length === 1 ? data.y[0] : data.y;
    fail(FN, "data.y must fit the model's outputs and the loss", y, `targets tfjs rejects: ${err}`);
  }
  // Left out of the slopes, as Lightning's skip_begin and skip_end: the first tenth (the smoothing's warm-up) and the
  // last point (where the loss diverged, when it did). The minimum leaves out a diverged point only.
  const usable = divergedAt === null ? smoothedLosses.length : smoothedLosses.length - 1;
  const from = Math.floor(smoothedLosses.length / 10);
  const steepest = steepestIndex(smoothedLosses, from, Math.max(from, smoothedLosses.length - 1));
  let minimumIndex = 0;
  for (let i = 1; i < usable; i++) {
    if ((smoothedLosses[i] as number) < (smoothedLosses[minimumIndex] as number)) minimumIndex = i;
  }
  return {
    learningRates,
    losses,
    smoothedLosses,
    steepest: steepest === null ? null : (learningRates[steepest] as number),
    minimum: learningRates[minimumIndex] as number,
    divergedAt,
  };
}
