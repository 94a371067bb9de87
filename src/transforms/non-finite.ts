import * as tf from '@tensorflow/tfjs-core';
import { fail, optionsObject, wholeNumber } from '../internal/validate.js';
import { registerBuiltInTransform } from './registry.js';
import { statsOf, tensorsOf } from './step-stats.js';
import type { GradientTransform } from './types.js';

/** Options of {@link skipNonFinite}. */
export interface SkipNonFiniteOptions {
  /**
   * After this many non-finite steps in a row, the next non-finite step is applied anyway (optax's
   * `max_consecutive_errors`). Defaults to Infinity: a non-finite step is never applied.
   */
  readonly maxConsecutive?: number;
  /**
   * Where a step is decided: `'device'` (no read: the step is applied and put back where it was not finite),
   * `'host'` (one read of a boolean per step, and a skipped step is not applied at all), or `'auto'` (the default):
   * on the device where a read stalls the device's queue (webgl, webgpu and any backend not listed next), on the
   * host on cpu, wasm and tfjs-node, whose kernels run synchronously, so that the read returns at once, and where
   * putting a step back costs more than the read (a select per weight and per optimizer slot: +193 kernels and
   * about +0.10 of an Adam step of a 6x256 MLP on wasm, against 13 kernels and one read; see the benchmarks).
   */
  readonly decideOn?: 'auto' | 'device' | 'host';
}

/** Backends whose kernels run synchronously, so that reading a result returns at once (no queue to stall). */
const SYNCHRONOUS_BACKENDS = new Set(['cpu', 'wasm', 'tensorflow']);

const DECIDE_ON = ['auto', 'device', 'host'] as const;

/**
 * Skips a step whose gradients hold a NaN or an Infinity: the inner optimizer is not called, so the weights, its
 * moments and its `iterations` stay exactly as they were, and later steps equal those of a run that never saw
 * the bad batch. (Zeroing the gradients is not the same: Adam still moves on zero gradients through momentum.)
 * This is optax's `apply_if_finite` and what DeepSpeed and Keras's loss scaling do with overflowing steps.
 *
 * Put it **first** in the chain, as optax checks the raw gradients: `clipByValue` would turn an Infinity into the
 * limit and hide it, and stateful transforms after it never record a bad step.
 *
 * State (int32 scalars, saved with the optimizer): `consecutive` (non-finite steps in a row up to now, 0 after a
 * finite step), `totalNonFinite` and `totalSkipped`.
 *
 * Where the step is decided is `decideOn`'s choice. On the device (optax's way, no read), in {@link withTransforms}
 * the inner optimizer steps on every batch, then the weights, the optimizer's moments and slots, and the state of
 * the transforms after this one are put back, with one select each, where the step was not finite; `iterations`
 * and `skippedSteps`, plain numbers on the host, are corrected when the step's flag is read back, asynchronously, a
 * step or so later (saving with `getWeights` waits for that). tfjs's own optimizers (sgd, momentum, adam, adamax,
 * adagrad, adadelta, rmsprop) are put back this way; another optimizer class, whose state gradstab cannot find, is
 * skipped after one blocking read of the flag, as is every step of {@link GradientPipeline.apply}, which must answer
 * `skip` on the host. On the host, the flag is read (one boolean, synchronously) and a non-finite step never reaches
 * the inner optimizer. The default decides on the device on webgl and webgpu, where a read would stall the GPU
 * queue (and WebGPU cannot read synchronously at all), and on the host on cpu, wasm and tfjs-node, where the read
 * returns at once and is far cheaper than the selects.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { clipByGlobalNorm, skipNonFinite, withTransforms } from 'gradstab';
 * const optimizer = withTransforms(tf.train.adam(1e-3), skipNonFinite(), clipByGlobalNorm(1));
 * const w = tf.variable(tf.tensor1d([1, 2]));
 * optimizer.minimize(() => tf.sum(tf.mul(w, NaN)) as tf.Scalar); // NaN gradients: skipped
 * await optimizer.flush(); // a step skipped on the device is counted once its flag is read back
 * console.log(optimizer.skippedSteps, optimizer.iterations); // 1 0
 * ```
 */
export function skipNonFinite(options?: SkipNonFiniteOptions): GradientTransform {
  const opts = optionsObject<SkipNonFiniteOptions>('skipNonFinite', options, ['maxConsecutive', 'decideOn']);
  const decideOn = opts.decideOn ?? 'auto';
  if (!DECIDE_ON.includes(decideOn)) {
    fail('skipNonFinite', `decideOn must be one of ${DECIDE_ON.map((d) => `'${d}'`).join(', ')}`, decideOn);
  }
  const maxConsecutive = wholeNumber(
    'skipNonFinite',
    'maxConsecutive',
    opts.maxConsecutive ?? Number.POSITIVE_INFINITY,
    0,
    true,
  );
  const zero = () => tf.scalar(0, 'int32');
  return {
    kind: 'skipNonFinite',
    config: { maxConsecutive, decideOn },
    init: () => ({ consecutive: zero(), totalNonFinite: zero(), totalSkipped: zero() }),
    update: (grads, state, context) => {
      // From the step's shared figures: a clip after it reuses them.
      const finite = statsOf(context).allFinite(tensorsOf(grads));
      const bad = tf.cast(tf.logicalNot(finite), 'int32');
      const one = tf.scalar(1, 'int32');
      const consecutive = tf.mul(tf.add(state.consecutive as tf.Tensor, one), bad);
      const apply = tf.logicalOr(finite, tf.greater(consecutive, maxConsecutive));
      const skipWhen = tf.logicalNot(apply) as tf.Scalar;
      const next = {
        consecutive,
        totalNonFinite: tf.add(state.totalNonFinite as tf.Tensor, bad),
        totalSkipped: tf.add(state.totalSkipped as tf.Tensor, tf.cast(skipWhen, 'int32')),
      };
      if (decideOn === 'host' || (decideOn === 'auto' && SYNCHRONOUS_BACKENDS.has(tf.getBackend()))) {
        // The one documented blocking read: on a synchronous backend the flag is already computed.
        return { grads, state: next, skip: skipWhen.dataSync()[0] !== 0 };
      }
      // Decided on the device: whoever runs the step applies it and puts everything back where this flag is true.
      return { grads, state: next, skipWhen };
    },
  };
}

registerBuiltInTransform(
  'skipNonFinite',
  (c) =>
    skipNonFinite({
      maxConsecutive: c.maxConsecutive as number,
      // Saved before this option existed: the default.
      ...(c.decideOn === undefined ? {} : { decideOn: c.decideOn as SkipNonFiniteOptions['decideOn'] }),
    }),
  ['maxConsecutive', 'decideOn'],
);
