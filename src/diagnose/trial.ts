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

const one = (list: tf.Tensor[]): tf.Tensor | tf.Tensor[] => (list.length === 1 ? (list[0] as tf.Tensor) : list);

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
