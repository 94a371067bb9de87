import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { normalSampler } from '../internal/prng.js';

/** Examples as lists of tensors (one per model input or output), all with the same count along axis 0. */
export interface Examples {
  readonly x: readonly tf.Tensor[];
  readonly y: readonly tf.Tensor[];
  readonly count: number;
}

/** Rows `[start, start + size)` of each tensor. */
export function rowsOf(tensors: readonly tf.Tensor[], start: number, size: number): tf.Tensor[] {
  return tensors.map((t) => tf.slice(t, [start, ...t.shape.slice(1).map(() => 0)], [size, ...t.shape.slice(1)]));
}

/** A permutation of `0 .. n - 1`, the same for the same seed (the order of `n` seeded normal draws). */
export function seededPermutation(n: number, seed: number): number[] {
  const draw = normalSampler(Math.floor(seed) ^ 0x5eed);
  const keys = Array.from({ length: n }, () => draw());
  return Array.from({ length: n }, (_, i) => i).sort((a, b) => (keys[a] as number) - (keys[b] as number));
}

/** Rows `indices` of a tensor, in that order. */
export function gatherRows(t: tf.Tensor, indices: readonly number[]): tf.Tensor {
  return tf.tidy(() => tf.gather(t, tf.tensor1d([...indices], 'int32')));
}

/** The examples split in two: the first `count - heldOut` to train on, the last `heldOut` to measure on. */
export function splitExamples(all: Examples, heldOut: number): { train: Examples; heldOut: Examples } {
  const trainCount = all.count - heldOut;
  return {
    train: { x: rowsOf(all.x, 0, trainCount), y: rowsOf(all.y, 0, trainCount), count: trainCount },
    heldOut: { x: rowsOf(all.x, trainCount, heldOut), y: rowsOf(all.y, trainCount, heldOut), count: heldOut },
  };
}

/** One tensor as itself, several as an array: what tf.layers takes for a model's inputs or outputs. */
export const one = (list: readonly tf.Tensor[]): tf.Tensor | tf.Tensor[] =>
  list.length === 1 ? (list[0] as tf.Tensor) : [...list];

/** The model's (compiled) loss on the examples, read asynchronously (NaN or Infinity as it comes). */
export async function heldOutLoss(model: tfl.LayersModel, examples: Examples, batchSize: number): Promise<number> {
  const out = model.evaluate(one([...examples.x]), one([...examples.y]), { batchSize });
  const total = Array.isArray(out) ? (out[0] as tf.Scalar) : out;
  try {
    const [value] = await total.data();
    return value as number;
  } finally {
    tf.dispose(out);
  }
}

/** The moving-average momentum of each batch-normalization layer of a model (Keras convention), by its weights. */
function batchNormMomenta(model: tfl.LayersModel): number[] {
  return model.layers
    .filter((l) => l.weights.some((w) => /moving_mean/.test(w.originalName)))
    .map((l) => {
      const m = (l as unknown as { momentum?: unknown }).momentum;
      return typeof m === 'number' && m >= 0 && m < 1 ? m : 0.99;
    });
}

/** At most this many forward passes settle the moving statistics (momentum 0.99 needs 459 for 1%). */
export const MAX_SETTLE_PASSES = 200;

/**
 * Settles the moving statistics of a model's batch-normalization layers to its current weights ("precise BN",
 * as fvcore's `update_bn_stats`): forward passes in training mode over the training batches, no weight changed,
 * until the initial statistics weigh under 1% (momentum^passes < 0.01), at most {@link MAX_SETTLE_PASSES}. A
 * short trial leaves them lagging behind weights that moved fast, and the held-out loss, measured in inference
 * mode with them, then says more about the lag than about the change tried (a deep sigmoid net's batch norm read
 * 1.29 after 100 steps of the demo, worse than the untrained net, with its training loss falling). Returns the
 * passes run (0 for a model without batch normalization).
 */
export function settleBatchNorm(model: tfl.LayersModel, examples: Examples, batchSize: number): number {
  const momenta = batchNormMomenta(model);
  if (momenta.length === 0) return 0;
  const slowest = Math.max(...momenta);
  const passes = Math.min(MAX_SETTLE_PASSES, slowest === 0 ? 1 : Math.ceil(Math.log(0.01) / Math.log(slowest)));
  const size = Math.min(batchSize, examples.count);
  const batches = Math.ceil(examples.count / size);
  for (let pass = 0; pass < passes; pass++) {
    const start = (pass % batches) * size;
    const count = Math.min(size, examples.count - start);
    tf.tidy(() => {
      const xb = rowsOf(examples.x, start, count);
      model.apply(one(xb), { training: true });
    });
  }
  return passes;
}

/** What {@link trainSteps} calls around each step (numbered from 1). */
export interface StepHooks {
  /** Before the step (to set its learning rate, say). */
  readonly beforeStep?: (step: number) => void;
  /** After it, with its loss; returning false stops the training. */
  readonly afterStep: (step: number, loss: number) => boolean | undefined;
}

/**
 * Trains a compiled model for `steps` steps of `batchSize` examples, taken in order and wrapping around, one
 * `trainOnBatch` each (its loss read asynchronously), with the hooks around each step.
 */
export async function trainSteps(
  model: tfl.LayersModel,
  examples: Examples,
  steps: number,
  batchSize: number,
  hooks: StepHooks,
): Promise<void> {
  const size = Math.min(batchSize, examples.count);
  const batches = Math.ceil(examples.count / size);
  for (let step = 0; step < steps; step++) {
    hooks.beforeStep?.(step + 1);
    const start = (step % batches) * size;
    const count = Math.min(size, examples.count - start);
    const xb = rowsOf(examples.x, start, count);
    const yb = rowsOf(examples.y, start, count);
    let loss: number;
    try {
      const out = await model.trainOnBatch(one(xb), one(yb));
      loss = Array.isArray(out) ? (out[0] as number) : out;
    } finally {
      tf.dispose([...xb, ...yb]);
    }
    if (hooks.afterStep(step + 1, loss) === false) return;
  }
}
