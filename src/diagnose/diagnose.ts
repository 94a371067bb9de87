import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { GradStabError } from '../errors.js';
import { assertSingleTfjs } from '../internal/single-tfjs.js';
import { booleanValue, fail, finiteNumber, optionsObject, wholeNumber } from '../internal/validate.js';
import {
  architectureAdvice,
  type BuildContext,
  type Candidate,
  candidatesFor,
  type PrescriptionKind,
} from './candidates.js';
import { Diagnosis } from './diagnosis.js';
import { findingsOf, normDistribution } from './findings.js';
import { checkData, checkModel, collectDataset, isDataset, isLossIdentifier, lossOf } from './inputs.js';
import type { LossIdentifier, TrainingData } from './lr-range-test.js';
import { measureBaseline } from './measure.js';
import { type OptimizerSource, optimizerMaker } from './optimizer-source.js';
import { gatherRows, rowsOf, seededPermutation, splitExamples } from './trial.js';
import { disposeOptimizer } from './trial-model.js';
import { beats, runTrial, type Verification } from './verify.js';

const FN = 'diagnose';

/** Where a diagnosis is, for a progress bar. */
export interface DiagnoseProgress {
  /** `'baseline'`: the unchanged model's trial; `'rangeTest'`: the learning-rate range test; `'verify'`: a candidate's trial. */
  readonly stage: 'baseline' | 'rangeTest' | 'verify';
  /** The step just done in this stage (from 1). */
  readonly step: number;
  /** The steps of this stage. */
  readonly steps: number;
  /** The candidate being verified (stage `'verify'`), else null. */
  readonly candidate: PrescriptionKind | null;
  /** The share of the whole diagnosis done, in [0, 1], never decreasing. */
  readonly fraction: number;
}

/** Options of {@link diagnose}. Each field says its default. */
export interface DiagnoseOptions {
  /** The loss. Defaults to the model's compiled loss. */
  readonly loss?: LossIdentifier;
  /**
   * The optimizer the trials train with: a `tf.Optimizer` (copied by class and configuration, fresh for each trial)
   * or a function that returns a new one on each call. Defaults to a copy of the model's compiled optimizer.
   */
  readonly optimizer?: OptimizerSource;
  /** Training steps of each trial (the baseline and each candidate): 10 to 10000. Defaults to 100. */
  readonly steps?: number;
  /** Steps of the learning-rate range test, 0 to skip it: 0 or 5 to 10000. Defaults to `steps`. */
  readonly rangeSteps?: number;
  /** Examples per training step: a whole number >= 1. Defaults to 32. */
  readonly batchSize?: number;
  /** The share of the examples held out to measure the loss on (the last ones), in (0, 0.5]. Defaults to 0.2. */
  readonly heldOutFraction?: number;
  /** At most this many examples are used (read from a `tf.data.Dataset`, or taken from the tensors): a whole number >= 2. Defaults to 2048. */
  readonly maxExamples?: number;
  /**
   * Put the examples in a random order (seeded by `seed`) before the last `heldOutFraction` are held out, as
   * `fit`'s `shuffle`. Defaults to true; false keeps the order given (a time series, say).
   */
  readonly shuffle?: boolean;
  /** Train each candidate and keep only those that beat the unchanged model. Defaults to true. */
  readonly verify?: boolean;
  /** At most this many candidates are verified, in the order they were derived: 1 to 20. Defaults to 4. */
  readonly maxCandidates?: number;
  /**
   * The share by which a candidate's held-out loss must beat the unchanged model's to be recommended, in [0, 1).
   * Defaults to 0.02.
   */
  readonly minImprovement?: number;
  /** Seeds the candidates' new weights (initializers, LSUV), so that a diagnosis can be repeated. Defaults to 1. */
  readonly seed?: number;
  /** Called after each training step of every stage. */
  readonly onProgress?: (progress: DiagnoseProgress) => void;
  /** Aborts the diagnosis: the promise rejects with the signal's reason, and everything made is freed. */
  readonly signal?: AbortSignal;
}

/** A `tf.data.Dataset` of `{xs, ys}` (batched or not), as {@link diagnose} reads it. */
export interface DatasetOfExamples {
  /** The dataset's iterator, as `tf.data.Dataset` has it. */
  iterator(): Promise<ExampleIterator>;
}

/** An iterator over a dataset's elements, as `tf.data.Dataset.iterator()` resolves to. */
export interface ExampleIterator {
  /** The next element, or `done`. */
  next(): Promise<IteratorResult<unknown>>;
}

interface Settings {
  readonly steps: number;
  readonly rangeSteps: number;
  readonly batchSize: number;
  readonly heldOutFraction: number;
  readonly maxExamples: number;
  readonly verify: boolean;
  readonly shuffle: boolean;
  readonly maxCandidates: number;
  readonly minImprovement: number;
  readonly seed: number;
}

const KEYS = [
  'loss',
  'optimizer',
  'steps',
  'rangeSteps',
  'batchSize',
  'heldOutFraction',
  'maxExamples',
  'verify',
  'shuffle',
  'maxCandidates',
  'minImprovement',
  'seed',
  'onProgress',
  'signal',
] as const;

function resolveOptions(o: Partial<DiagnoseOptions>): Settings {
  const steps = wholeNumber(FN, 'steps', o.steps ?? 100, 10, false, 10000);
  const rangeSteps = wholeNumber(FN, 'rangeSteps', o.rangeSteps ?? steps, 0, false, 10000);
  if (rangeSteps > 0 && rangeSteps < 5) fail(FN, 'rangeSteps must be 0 (no range test) or at least 5', rangeSteps);
  const heldOutFraction = finiteNumber(FN, 'heldOutFraction', o.heldOutFraction ?? 0.2);
  if (!(heldOutFraction > 0 && heldOutFraction <= 0.5))
    fail(FN, 'heldOutFraction must be in (0, 0.5]', heldOutFraction);
  const minImprovement = finiteNumber(FN, 'minImprovement', o.minImprovement ?? 0.02);
  if (!(minImprovement >= 0 && minImprovement < 1)) fail(FN, 'minImprovement must be in [0, 1)', minImprovement);
  if (o.onProgress !== undefined && typeof o.onProgress !== 'function') {
    fail(FN, 'onProgress must be a function', o.onProgress);
  }
  if (o.loss !== undefined && !isLossIdentifier(o.loss)) {
    fail(FN, 'loss must be a tf.layers loss name or a function (or, per output, an array or object of them)', o.loss);
  }
  if (o.signal !== undefined && typeof (o.signal as AbortSignal | null)?.throwIfAborted !== 'function') {
    fail(FN, 'signal must be an AbortSignal', o.signal);
  }
  return {
    steps,
    rangeSteps,
    batchSize: wholeNumber(FN, 'batchSize', o.batchSize ?? 32, 1, false, 2 ** 31 - 1),
    heldOutFraction,
    maxExamples: wholeNumber(FN, 'maxExamples', o.maxExamples ?? 2048, 2, false, 2 ** 31 - 1),
    verify: booleanValue(FN, 'verify', o.verify ?? true),
    shuffle: booleanValue(FN, 'shuffle', o.shuffle ?? true),
    maxCandidates: wholeNumber(FN, 'maxCandidates', o.maxCandidates ?? 4, 1, false, 20),
    minImprovement,
    seed: finiteNumber(FN, 'seed', o.seed ?? 1),
  };
}

/**
 * Finds why a network trains badly and which remedy fixes it, verified on the network itself.
 *
 * It trains a copy of the model for `steps` steps with a gradient-health monitor recording every step, probes its
 * activations before and after, runs a learning-rate range test, and turns the measurements into findings
 * (vanishing, exploding or non-finite gradients, dead or saturated units, a learning rate too high or too low, an
 * unstable loss). For each finding it derives candidate remedies with settings taken from the measurements (the
 * clipping threshold from the gradient norms, the learning rate from the range test, the initializer from each
 * layer's activation, batch normalization before the saturating activations, LSUV for deep plain nets, leaky ReLU
 * or ELU for dead units), trains each from the same start for the same steps, and recommends those that beat the
 * unchanged model on held-out examples, best first.
 *
 * The model, its weights and its optimizer are never changed: every trial runs on a copy (rebuilt from the model's
 * JSON, so every layer must be serializable) and is freed; 0 tensors are left once the diagnosis is disposed; the
 * figures are read asynchronously (no blocking read in the trials, on any backend). A healthy model is reported
 * `healthy` with no prescription.
 *
 * @param model A built `tf.LayersModel`; compiled, unless `options.loss` and `options.optimizer` are given.
 * @param data `{x, y}` (a tensor each, or one per model input and output; the last `heldOutFraction` of the
 *   examples are held out) or a `tf.data.Dataset` of `{xs, ys}` (up to `maxExamples` are read).
 * @param options See {@link DiagnoseOptions}.
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { diagnose } from 'gradstab';
 * // 8 sigmoid layers with tfjs's default init: the gradient at the first layer is ~1e-5 of the last one's.
 * const model = tf.sequential();
 * for (let i = 0; i < 8; i++) {
 *   model.add(tf.layers.dense({ units: 16, activation: 'sigmoid', inputShape: i === 0 ? [4] : undefined,
 *     kernelInitializer: tf.initializers.glorotUniform({ seed: i }) }));
 * }
 * model.add(tf.layers.dense({ units: 1, activation: 'sigmoid', kernelInitializer: tf.initializers.glorotUniform({ seed: 9 }) }));
 * model.compile({ optimizer: tf.train.sgd(0.5), loss: 'binaryCrossentropy' });
 * const x = tf.randomNormal([256, 4], 0, 1, 'float32', 1);
 * const y = tf.cast(tf.greater(tf.sum(x, 1, true), 0), 'float32');
 * const diagnosis = await diagnose(model, { x, y }, { steps: 60 });
 * console.log(diagnosis.findings.some((f) => f.kind === 'vanishing')); // true
 * console.log(diagnosis.prescriptions[0]?.kind); // 'batchNormalization'
 * console.log(diagnosis.summary());
 * diagnosis.dispose();
 * ```
 */
export function diagnose(
  model: tfl.LayersModel,
  data: TrainingData | DatasetOfExamples,
  options?: DiagnoseOptions,
): Promise<Diagnosis> {
  return run(model, data, options); // bad input rejects the promise, it does not throw
}

async function run(modelArg: unknown, dataArg: unknown, options: unknown): Promise<Diagnosis> {
  assertSingleTfjs(FN);
  const model = checkModel(FN, modelArg);
  const o = optionsObject<DiagnoseOptions>(FN, options, KEYS);
  const s = resolveOptions(o);
  const loss = lossOf(FN, o.loss, model);
  const source = o.optimizer ?? model.optimizer;
  if (!source) fail(FN, 'the model must be compiled, or options.optimizer given', model, 'no optimizer');
  const makeOptimizer = optimizerMaker(FN, source, [model.optimizer]);
  o.signal?.throwIfAborted();
  // An error thrown by the user's onProgress is theirs, passed on as it is (not taken for a tfjs refusal).
  let userError: { error: unknown } | null = null;
  const onProgress = o.onProgress
    ? (p: DiagnoseProgress) => {
        try {
          o.onProgress?.(p);
        } catch (error) {
          userError = { error };
          throw error;
        }
      }
    : undefined;

  const owned: tf.Tensor[] = [];
  let context: BuildContext | null = null;
  try {
    let all: { x: tf.Tensor[]; y: tf.Tensor[]; examples: number };
    if (isDataset(dataArg)) {
      const read = await collectDataset(FN, dataArg, model, s.maxExamples);
      owned.push(...read.x, ...read.y);
      all = checkData(FN, read, model);
    } else {
      all = checkData(FN, dataArg, model);
    }
    if (all.examples < 2) fail(FN, 'data must hold at least 2 examples (to train on and to hold out)', all.examples);
    // At most maxExamples, in a seeded random order (data sorted by class would otherwise hold out one class and
    // train on the rest in order), as fit's shuffle.
    const count = Math.min(all.examples, s.maxExamples);
    const order = s.shuffle ? seededPermutation(all.examples, s.seed).slice(0, count) : null;
    const picked = {
      x: all.x.map((t) => (order ? gatherRows(t, order) : (rowsOf([t], 0, count)[0] as tf.Tensor))),
      y: all.y.map((t) => (order ? gatherRows(t, order) : (rowsOf([t], 0, count)[0] as tf.Tensor))),
      count,
    };
    owned.push(...picked.x, ...picked.y);
    const heldOutCount = Math.max(1, Math.min(count - 1, Math.round(count * s.heldOutFraction)));
    const { train, heldOut } = splitExamples(picked, heldOutCount);
    owned.push(...train.x, ...train.y, ...heldOut.x, ...heldOut.y);
    // Up to 256 training rows: LSUV measures on them, and the probe counts dead and saturated units on them (the
    // held-out rows can be too few: with 2 of them, half the units of a healthy ReLU layer read as dead).
    const trainRows = rowsOf(train.x, 0, Math.min(train.count, 256));
    context = { makeOptimizer, loss, lsuvBatch: trainRows, seed: s.seed };

    const progress = tracker(s, onProgress);
    let measured: Awaited<ReturnType<typeof measureBaseline>>;
    try {
      measured = await measureBaseline(FN, model, train, heldOut, makeOptimizer, loss, {
        steps: s.steps,
        batchSize: s.batchSize,
        rangeSteps: s.rangeSteps,
        onStep: (stage, step, steps) => progress.step(stage, step, steps, null),
        probeInputs: trainRows,
        ...(o.signal ? { signal: o.signal } : {}),
      });
    } catch (err) {
      if (err instanceof GradStabError || (o.signal?.aborted ?? false) || userError) throw err;
      fail(FN, 'the model must train on the data with the loss (tfjs refused)', loss, `${String(loss)}: ${err}`);
    }
    const findings = findingsOf(measured);
    const healthy = findings.every((f) => f.severity === 'low');
    const sequential = model instanceof tfl.Sequential;
    const candidates = healthy
      ? []
      : await candidatesFor(FN, model, findings, measured, makeOptimizer, sequential, s.seed);
    const chosen = s.verify ? candidates.slice(0, s.maxCandidates) : candidates;
    progress.plan(s.verify ? chosen.length : 0);

    // What a candidate must beat: the unchanged model's loss after the trial, and the loss it started from (a
    // candidate that ends worse than the untrained model has fixed nothing), the lower of the finite ones.
    const reference = Math.min(
      ...[measured.heldOutAfter, measured.heldOutBefore].filter(Number.isFinite),
      Number.POSITIVE_INFINITY,
    );
    const tried: { candidate: Candidate; verified: Verification | null }[] = [];
    for (const candidate of chosen) {
      if (!s.verify || !candidate.build) {
        tried.push({ candidate, verified: null });
        continue;
      }
      o.signal?.throwIfAborted();
      let built: Awaited<ReturnType<NonNullable<Candidate['build']>>> | undefined;
      try {
        built = await candidate.build(model, context);
        const trial = await runTrial(
          built,
          train,
          heldOut,
          s.steps,
          s.batchSize,
          (step) => progress.step('verify', step, s.steps, candidate.kind),
          o.signal,
        );
        tried.push({
          candidate,
          verified: {
            steps: trial.losses.length,
            baselineLoss: measured.heldOutAfter,
            loss: trial.heldOutLoss,
            improved: beats(trial.heldOutLoss, reference, s.minImprovement),
            losses: trial.losses,
            error: null,
          },
        });
      } catch (err) {
        if ((o.signal?.aborted ?? false) || userError) throw err;
        // One candidate that tfjs cannot build or train is a rejected candidate, not a failed diagnosis.
        const error = err instanceof Error ? err.message : String(err);
        tried.push({
          candidate,
          verified: {
            steps: 0,
            baselineLoss: measured.heldOutAfter,
            loss: Number.NaN,
            improved: false,
            losses: [],
            error,
          },
        });
      } finally {
        if (built) {
          disposeOptimizer(built.optimizer);
          built.model.dispose();
        }
      }
      progress.candidateDone();
    }
    let prescribed = s.verify
      ? tried.filter((t) => t.verified?.improved).sort((a, b) => (a.verified?.loss ?? 0) - (b.verified?.loss ?? 0))
      : tried;
    if (s.verify && !healthy && prescribed.length === 0) {
      const advice = architectureAdvice(findings);
      if (advice) prescribed = [{ candidate: advice, verified: null }];
    }
    // The training rows stay with the diagnosis only for an LSUV prescription's apply().
    const keepRows = tried.some((t) => t.candidate.kind === 'lsuv');
    const kept: BuildContext = keepRows ? context : { ...context, lsuvBatch: [] };
    if (!keepRows) tf.dispose([...context.lsuvBatch]);
    context = null;
    const diagnosis = new Diagnosis(
      FN,
      healthy,
      findings,
      tried,
      prescribed,
      {
        steps: s.steps,
        learningRate: measured.learningRate,
        losses: measured.losses,
        heldOutBefore: measured.heldOutBefore,
        heldOutAfter: measured.heldOutAfter,
        trend: measured.trend.kind,
        globalNorm: normDistribution(measured.globalNorms),
        lrRange: measured.lrRange
          ? { steepest: measured.lrRange.steepest, divergedAt: measured.lrRange.divergedAt }
          : null,
        trainExamples: train.count,
        heldOutExamples: heldOut.count,
      },
      kept,
    );
    return diagnosis;
  } finally {
    tf.dispose(owned);
    if (context) tf.dispose([...context.lsuvBatch]);
  }
}

/** Turns steps into a never-decreasing share of the whole diagnosis. */
function tracker(s: Settings, onProgress: DiagnoseOptions['onProgress']) {
  let candidates = s.verify ? s.maxCandidates : 0; // until the findings say how many
  let verified = 0;
  let last = 0;
  const total = () => s.steps + s.rangeSteps + candidates * s.steps;
  return {
    plan(count: number) {
      candidates = count;
    },
    candidateDone() {
      verified++;
    },
    step(stage: DiagnoseProgress['stage'], step: number, steps: number, candidate: PrescriptionKind | null) {
      if (!onProgress) return;
      const before =
        stage === 'baseline' ? 0 : stage === 'rangeTest' ? s.steps : s.steps + s.rangeSteps + verified * s.steps;
      last = Math.max(last, Math.min(1, (before + step) / total()));
      onProgress({ stage, step, steps, candidate, fraction: last });
    },
  };
}
