import * as tf from '@tensorflow/tfjs-core';

/**
 * Per-tensor reductions over many tensors, in few kernels. Every kernel launch costs a few microseconds of dispatch
 * whatever its size (about 10 on wasm), so a model of 200 small variables pays more for launching per-tensor
 * reductions than for the arithmetic. Small tensors of one shape are therefore joined into one `[k, n]` matrix (one
 * concat and one reshape), reduced along its rows in one kernel per operation, and split back in one kernel; a large
 * tensor is reduced on its own as a `[1, n]` view, since copying it would cost more than the launches it saves.
 */

/** Tensors of at least this many entries are a batch of their own. */
export const SOLO_SIZE = 4096;

/** Tensors of one shape, reduced together. */
export interface Batch {
  /** Positions, in the list the plan was made for, of the tensors it holds. */
  readonly members: readonly number[];
  /** Their common shape. */
  readonly shape: readonly number[];
  /** Entries per tensor. */
  readonly size: number;
}

/**
 * How a list of tensors is batched. Figures per tensor come out in batch order, the "layout": position `i` of a
 * `[V]` vector of figures belongs to the tensor at `order[i]` of the list.
 */
export interface BatchPlan {
  readonly batches: readonly Batch[];
  readonly order: readonly number[];
}

/** The batches for tensors of these shapes (the plan depends on the shapes alone, so alike lists batch alike). */
export function planBatches(shapes: readonly (readonly number[])[]): BatchPlan {
  const batches: { members: number[]; shape: readonly number[]; size: number }[] = [];
  const byShape = new Map<string, { members: number[] }>();
  shapes.forEach((shape, i) => {
    const size = shape.reduce((a, b) => a * b, 1);
    if (size >= SOLO_SIZE || size === 0) {
      batches.push({ members: [i], shape, size });
      return;
    }
    const key = shape.join('x');
    const known = byShape.get(key);
    if (known) known.members.push(i);
    else {
      const batch = { members: [i], shape, size };
      byShape.set(key, batch);
      batches.push(batch);
    }
  });
  return { batches, order: batches.flatMap((b) => b.members) };
}

/**
 * The batch's tensors joined along their first axis (`[k * d0, d1, ...]`), or the tensor itself when it is alone.
 * Scalars are stacked into `[k]`.
 */
export function joinBatch(batch: Batch, tensors: readonly tf.Tensor[]): tf.Tensor {
  const members = batch.members.map((i) => tensors[i] as tf.Tensor);
  if (members.length === 1) return members[0] as tf.Tensor;
  return batch.shape.length === 0 ? tf.stack(members) : tf.concat(members, 0);
}

/** A joined batch as a `[k, n]` matrix: one row per tensor. */
export function batchMatrix(batch: Batch, joined: tf.Tensor): tf.Tensor2D {
  return tf.reshape(joined, [batch.members.length, batch.size]);
}

/** The inverse of {@link joinBatch}: the batch's tensors, in its order, from a tensor of the joined shape. */
export function splitBatch(batch: Batch, joined: tf.Tensor): tf.Tensor[] {
  const k = batch.members.length;
  if (k === 1) return [joined];
  if (batch.shape.length === 0) return tf.split(joined, k).map((t) => tf.reshape(t, []));
  return tf.split(joined, k, 0);
}

/** A `[k, n]` matrix back in the joined shape. */
export function joinedShape(batch: Batch): number[] {
  const k = batch.members.length;
  if (k === 1) return [...batch.shape];
  if (batch.shape.length === 0) return [k];
  return [k * (batch.shape[0] as number), ...batch.shape.slice(1)];
}
