import * as tf from '@tensorflow/tfjs';
import {
  GradientHealthMonitor,
  type GradientTransform,
  type HealthReport,
  type StepRecord,
  withTransforms,
} from '../../src/index.js';
import { buildModel, type Configuration, clipping } from './configurations.js';
import type { Points } from './spirals.js';

/** How every configuration trains. */
export interface TrainingSettings {
  /** Hidden layers. */
  readonly depth: number;
  /** Units per hidden layer. */
  readonly width: number;
  /** Optimizer steps (whole epochs: rounded up to a multiple of the batches per epoch). */
  readonly steps: number;
  /** Examples per step. */
  readonly batchSize: number;
  /** SGD with momentum 0.9 (He et al.'s optimizer) at this rate, times the configuration's scale. */
  readonly learningRate: number;
}

/** What one configuration's training measured. */
export interface RunResult {
  readonly config: Configuration;
  /** Training loss after each step (NaN once the weights are). */
  readonly losses: readonly number[];
  /** Held-out loss before training (the same for every configuration with the same output: ln 2 or near it). */
  readonly initialTestLoss: number;
  /** Held-out loss and accuracy after training (NaN when the weights are not finite). */
  readonly testLoss: number;
  readonly testAccuracy: number;
  /** Steps run; fewer than planned when the monitor stopped `fit` on non-finite gradients. */
  readonly stepsRun: number;
  /** Whether the monitor's callback stopped `fit` (`model.stopTraining` after it). */
  readonly stoppedOnNonFinite: boolean;
  /** Steps whose raw global gradient norm exceeded the clipping threshold (so were scaled down). */
  readonly clippedSteps: number;
  /** The monitor's report, and its per-step history (raw gradients: the tap runs before clipping). */
  readonly report: HealthReport;
  readonly history: readonly StepRecord[];
}

/** Binary cross-entropy on logits (numerically stable at any logit): the loss every configuration trains with. */
export function logisticLoss(labels: tf.Tensor, logits: tf.Tensor): tf.Scalar {
  return tf.losses.sigmoidCrossEntropy(labels, logits) as tf.Scalar;
}

/** Held-out loss and accuracy (a logit > 0 predicts label 1), read in one asynchronous call. */
async function evaluate(model: tf.LayersModel, points: Points): Promise<[number, number]> {
  const figures = tf.tidy(() => {
    const logits = model.predict(points.x) as tf.Tensor;
    const correct = tf.equal(tf.cast(tf.greater(logits, 0), 'float32'), points.y);
    return tf.stack([logisticLoss(points.y, logits), tf.mean(tf.cast(correct, 'float32'))]);
  });
  const [loss, accuracy] = (await figures.data()) as Float32Array;
  figures.dispose();
  return [loss as number, accuracy as number];
}

/**
 * tfjs's momentum optimizer, except that `dispose()` also frees the learning-rate scalar it keeps as an SGD optimizer:
 * tfjs 4.22's `MomentumOptimizer.dispose()` frees only its momentum scalar and accumulators, leaving one tensor behind
 * per optimizer (and `diagnose()` makes one for every trial). Its class name is still `Momentum`.
 */
class MomentumOptimizer extends tf.MomentumOptimizer {
  override dispose(): void {
    super.dispose();
    this.c.dispose();
  }
}

/**
 * A configuration's optimizer: SGD with momentum 0.9 at the demo's learning rate times the configuration's scale,
 * wrapped with `first` (the monitor's tap, say) and then the configuration's clipping; the bare optimizer when there
 * is no transform at all.
 */
export function optimizerFor(
  config: Configuration,
  settings: TrainingSettings,
  ...first: GradientTransform[]
): tf.Optimizer {
  const sgd = new MomentumOptimizer(settings.learningRate * config.learningRateScale, 0.9);
  const transforms = [...first, ...clipping(config)];
  return transforms.length === 0 ? sgd : withTransforms(sgd, ...transforms);
}

/** Called after every step with the step number and its loss. */
export type OnStep = (step: number, loss: number) => void;

/**
 * Trains one configuration with `model.fit`, gradstab's monitor watching the raw gradients (its tap first in the
 * transform chain, before any clipping), and `fit` stopped by the monitor's callback on non-finite gradients.
 */
export async function trainConfiguration(
  config: Configuration,
  train: Points,
  test: Points,
  settings: TrainingSettings,
  onStep: OnStep,
): Promise<RunResult> {
  const model = buildModel(config, settings.depth, settings.width);
  // every: 1 so that the callback stops fit on the step after the first NaN (the per-step device work costs the
  // same at any interval); a history as long as the run, so that its figures cover every step from step 1.
  const monitor = new GradientHealthMonitor({ every: 1, historySize: settings.steps });
  const optimizer = optimizerFor(config, settings, monitor.tap);
  model.compile({ optimizer, loss: logisticLoss });
  const [initialTestLoss] = await evaluate(model, test);

  const examples = train.x.shape[0];
  const perEpoch = Math.ceil(examples / settings.batchSize);
  const epochs = Math.ceil(settings.steps / perEpoch);
  const losses: number[] = [];
  const progress = new tf.CustomCallback({
    onBatchEnd: async (_batch, logs) => {
      losses.push(logs?.loss ?? Number.NaN);
      onStep(losses.length, logs?.loss ?? Number.NaN);
    },
  });
  await model.fit(train.x, train.y, {
    epochs,
    batchSize: settings.batchSize,
    shuffle: false, // a fixed batch order (tfjs shuffles with the unseeded Math.random)
    verbose: 0,
    callbacks: [monitor.callback({ stopOnNonFinite: true }), progress],
  });
  await monitor.flush();

  const [testLoss, testAccuracy] = await evaluate(model, test);

  const report = monitor.report();
  const history = monitor.history;
  const clipNorm = config.clipNorm;
  const clippedSteps = clipNorm === undefined ? 0 : history.filter((r) => r.globalNorm > clipNorm).length;
  const stoppedOnNonFinite = model.stopTraining; // tfjs resets it when fit starts, not when it ends
  monitor.dispose();
  model.dispose();
  optimizer.dispose();
  return {
    config,
    losses,
    initialTestLoss,
    testLoss,
    testAccuracy: Number.isFinite(testLoss) ? testAccuracy : Number.NaN,
    stepsRun: losses.length,
    stoppedOnNonFinite,
    clippedSteps,
    report,
    history,
  };
}
