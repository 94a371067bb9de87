import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { GradientHealthMonitor } from '../monitor/monitor.js';
import { probeActivations } from '../monitor/probe.js';
import { withTransforms } from '../optimizer/transformed-optimizer.js';
import type { Measurements } from './findings.js';
import { lossTrend } from './loss-trend.js';
import { type LossIdentifier, lrRangeTest } from './lr-range-test.js';
import { type Examples, heldOutLoss, one, settleBatchNorm, trainSteps } from './trial.js';
import { cloneModel, disposeOptimizer, learningRateOf } from './trial-model.js';

/** How long the baseline trial and the range test run. */
export interface MeasureSettings {
  /** Training steps of the baseline trial. */
  readonly steps: number;
  readonly batchSize: number;
  /** Steps of the learning-rate range test (0: not run). */
  readonly rangeSteps: number;
  /** Called after each step of the trial and of the range test. */
  readonly onStep?: (stage: 'baseline' | 'rangeTest', step: number, steps: number) => void;
  /** Checked before each step: an aborted signal ends the measurement with its reason. */
  readonly signal?: AbortSignal;
  /** The inputs the activations are probed on (one tensor per model input). Defaults to the held-out inputs. */
  readonly probeInputs?: readonly tf.Tensor[];
}

/** What {@link measureBaseline} adds to the {@link Measurements}: the held-out loss before and after the trial. */
export interface BaselineMeasurements extends Measurements {
  readonly heldOutBefore: number;
  readonly heldOutAfter: number;
}

/**
 * The baseline trial behind a diagnosis: a copy of the model, trained with a fresh optimizer from `makeOptimizer` for
 * `steps` steps with a monitor recording every step, its activations probed (on `probeInputs`) before and
 * after, its held-out loss measured before and after, and (when `rangeSteps` > 0) a learning-rate range test from
 * the starting weights. The model is untouched and everything made is freed; the figures are read asynchronously.
 */
export async function measureBaseline(
  fn: string,
  model: tfl.LayersModel,
  train: Examples,
  heldOut: Examples,
  makeOptimizer: (learningRate?: number) => tf.Optimizer,
  loss: LossIdentifier,
  settings: MeasureSettings,
): Promise<BaselineMeasurements> {
  const copy = await cloneModel(fn, model);
  let monitor: GradientHealthMonitor | undefined;
  let inner: tf.Optimizer | undefined;
  let optimizer: tf.Optimizer | undefined;
  try {
    monitor = new GradientHealthMonitor({ every: 1, historySize: Math.max(1, settings.steps) });
    inner = makeOptimizer();
    optimizer = withTransforms(inner, monitor.tap);
    const probeX = one(settings.probeInputs ?? heldOut.x);
    const probeAtStart = await probeActivations(copy, probeX);
    copy.compile({ optimizer, loss: loss as string });
    const heldOutBefore = await heldOutLoss(copy, heldOut, settings.batchSize);
    const losses: number[] = [];
    await trainSteps(copy, train, settings.steps, settings.batchSize, {
      beforeStep: () => settings.signal?.throwIfAborted(),
      afterStep: (step, value) => {
        losses.push(value);
        settings.onStep?.('baseline', step, settings.steps);
        return Number.isFinite(value); // a non-finite loss ends the trial: there is nothing more to learn from it
      },
    });
    await monitor.flush();
    const finished = losses.every(Number.isFinite);
    const probeAfter = finished ? await probeActivations(copy, probeX) : null;
    settleBatchNorm(copy, train, settings.batchSize); // measured as the candidates are
    const heldOutAfter = await heldOutLoss(copy, heldOut, settings.batchSize);
    const lrRange =
      settings.rangeSteps > 0
        ? await lrRangeTest(
            model,
            { x: [...train.x], y: [...train.y] },
            {
              optimizer: (lr) => makeOptimizer(lr),
              loss,
              steps: settings.rangeSteps,
              batchSize: settings.batchSize,
              ...(settings.signal ? { signal: settings.signal } : {}),
              onProgress: (p) => settings.onStep?.('rangeTest', p.step, p.steps),
            },
          )
        : null;
    return {
      learningRate: learningRateOf(inner),
      outputLayers: model.outputs.map((o) => o.sourceLayer.name), // (a Sequential's outputLayers is empty)
      losses,
      trend: lossTrend(losses),
      report: monitor.report(),
      globalNorms: monitor.history.map((r) => r.globalNorm),
      probeAtStart,
      probeAfter,
      lrRange,
      heldOutBefore,
      heldOutAfter,
    };
  } finally {
    if (optimizer) disposeOptimizer(optimizer);
    else if (inner) disposeOptimizer(inner);
    monitor?.dispose();
    copy.dispose();
  }
}
