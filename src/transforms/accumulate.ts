import * as tf from '@tensorflow/tfjs-core';
import { hostValue, remember } from '../internal/host-mirror.js';
import { fail, optionsObject, wholeNumber } from '../internal/validate.js';
import { registerBuiltInTransform } from './registry.js';
import type { GradientTransform } from './types.js';

/** Options of {@link accumulateGradients}. */
export interface AccumulateGradientsOptions {
  /** How many calls (micro-batches) make one update, a whole number from 1 to 2^31 - 1. Required. */
  readonly steps: number;
}

const FN = 'accumulateGradients';
const SUM = 'sum/';
/** The largest `steps`: the call count is an int32 on the device. */
const MAX_STEPS = 2 ** 31 - 1;

/**
 * Gradient accumulation: averages the gradients of `steps` consecutive calls and lets the optimizer update once
 * per `steps` calls, with their mean. The calls in between are skipped (weights, optimizer moments and
 * `iterations` untouched), so `k` micro-batches of size `b` give the update of one batch of `k * b` (exactly, for a
 * loss that is a mean over the batch) in the memory of one micro-batch: large effective batches in a browser.
 * In `fit`, `batchSize` is the micro-batch and every `steps` batches make one update; an epoch whose batch count is
 * not a multiple of `steps` carries its partial sum into the next one.
 *
 * Put it first in a chain: transforms after it (clipping) then see the averaged gradient once per update; a
 * {@link skipNonFinite} before it drops a bad micro-batch without counting it (a skip decided on the device is read
 * there, once per call: this transform decides on the host). Skipped calls count in
 * `TransformedOptimizer.skippedSteps`.
 *
 * State: `count` (calls accumulated since the last update) and one running sum per gradient, `sum/<i>`, created at
 * the first call and saved with the optimizer, so training resumed from a save mid-accumulation equals training
 * that never stopped. Sums are matched to gradients by position, as tfjs's own optimizers match their slots (a
 * loaded model's variables get new names): pass the gradients in the same order every call.
 *
 * The skip decision is made on the host from a host-side copy of `count`. State restored by loading a model
 * (`TransformedOptimizer.setWeights`) has its counter read asynchronously while loading; state set with
 * `gradientPipeline(...).setState` is read once, synchronously, at the next call.
 *
 * @param options `steps`: micro-batches per update.
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { accumulateGradients, gradientPipeline } from 'gradstab';
 * const pipeline = gradientPipeline(accumulateGradients({ steps: 2 }));
 * console.log(pipeline.apply({ w: tf.tensor1d([1]) }).skip); // true: first of two micro-batches
 * const update = pipeline.apply({ w: tf.tensor1d([3]) });
 * update.grads.w.print(); // [2] (the mean), and update.skip is false
 * ```
 */
export function accumulateGradients(options: AccumulateGradientsOptions): GradientTransform {
  const opts = optionsObject<AccumulateGradientsOptions>(FN, options, ['steps']);
  const steps = wholeNumber(FN, 'steps', opts.steps, 1, false, MAX_STEPS);
  return {
    kind: FN,
    config: { steps },
    init: () => ({ count: remember(tf.scalar(0, 'int32'), 0) }),
    isLazyStateKey: (key) => /^sum\/(0|[1-9]\d*)$/.test(key),
    update: (grads, state) => {
      const count = hostValue(state.count as tf.Tensor) + 1;
      const names = Object.keys(grads);
      const sums = names.map((name, i) => {
        const g = grads[name] as tf.Tensor;
        const previous = state[SUM + i];
        if (previous !== undefined && !tf.util.arraysEqual(previous.shape, g.shape)) {
          fail(
            FN,
            `gradient ${i} (${JSON.stringify(name)}) must keep the shape [${previous.shape}] of its running sum`,
            g,
          );
        }
        return previous === undefined ? g : tf.add(previous, g);
      });
      const keyed = (values: tf.Tensor[]) => Object.fromEntries(values.map((v, i) => [SUM + i, v]));
      if (count < steps) {
        return { grads, state: { ...keyed(sums), count: remember(tf.scalar(count, 'int32'), count) }, skip: true };
      }
      const mean = Object.fromEntries(names.map((name, i) => [name, tf.div(sums[i] as tf.Tensor, steps)]));
      return {
        grads: mean,
        state: { ...keyed(sums.map((s) => tf.zerosLike(s))), count: remember(tf.scalar(0, 'int32'), 0) },
      };
    },
  };
}

registerBuiltInTransform(FN, (c) => accumulateGradients({ steps: c.steps as number }), ['steps']);
