import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { assertWeightsAlive, fail, isPlainObject } from '../internal/validate.js';
import type { LossIdentifier } from './lr-range-test.js';

/** A built `tf.LayersModel`, or a GradStabError from `fn`. */
export function checkModel(fn: string, model: unknown): tfl.LayersModel {
  const m = model as Partial<tfl.LayersModel> | null;
  if (m === null || typeof m !== 'object' || !Array.isArray(m.layers) || typeof m.trainOnBatch !== 'function') {
    fail(fn, 'model must be a tf.LayersModel (from tf.sequential or tf.model)', model);
  }
  if (!Array.isArray(m.inputs) || m.inputs.length === 0) {
    fail(fn, 'model must be built, with inputs (give its first layer an inputShape)', model, 'a model with no inputs');
  }
  assertWeightsAlive(fn, m as tfl.LayersModel);
  return m as tfl.LayersModel;
}

/** The loss to train with: the one given, else the model's compiled one, else a GradStabError from `fn`. */
export function lossOf(fn: string, given: LossIdentifier | undefined, model: tfl.LayersModel): LossIdentifier {
  const loss = given ?? (model.loss as LossIdentifier | undefined);
  if (loss === undefined) fail(fn, 'the model must be compiled, or options.loss given', model, 'no loss');
  return loss;
}

/** `{x, y}` as lists of tensors with one example count. */
export function checkData(
  fn: string,
  data: unknown,
  model: tfl.LayersModel,
): { x: tf.Tensor[]; y: tf.Tensor[]; examples: number } {
  if (data === null || typeof data !== 'object' || !('x' in data) || !('y' in data)) {
    fail(fn, 'data must be {x, y}: tensors (or arrays of them, one per model input and output)', data);
  }
  const { x, y } = data as { x: unknown; y: unknown };
  const list = (value: unknown, name: string, count: number): tf.Tensor[] => {
    const items: unknown[] = Array.isArray(value) ? Array.from(value) : [value]; // holes as undefined
    if (items.length !== count || !items.every((t) => t instanceof tf.Tensor && !t.isDisposed && t.rank >= 1)) {
      fail(
        fn,
        `data.${name} must be ${count === 1 ? 'a tensor' : `${count} tensors`} of rank >= 1, not disposed`,
        value,
      );
    }
    return items as tf.Tensor[];
  };
  const xs = list(x, 'x', model.inputs.length);
  xs.forEach((t, i) => {
    const want = (model.inputs[i] as tfl.SymbolicTensor).shape;
    const fits = t.rank === want.length && want.every((d, j) => d === null || d === t.shape[j]);
    if (!fits)
      fail(fn, `data.x${xs.length > 1 ? `[${i}]` : ''} must have the model input's shape [${want.map(String)}]`, t);
  });
  const ys = list(y, 'y', model.outputs.length);
  const examples = (xs[0] as tf.Tensor).shape[0] as number;
  if (examples === 0) fail(fn, 'data must hold at least one example', data, 'no example');
  for (const t of [...xs, ...ys]) {
    if (t.shape[0] !== examples) fail(fn, `every tensor of data must hold ${examples} examples (axis 0)`, t);
  }
  return { x: xs, y: ys, examples };
}

/** What `tf.data.Dataset` offers that {@link collectDataset} uses (so that tfjs-data need not be imported). */
interface DatasetLike {
  iterator(): Promise<{ next(): Promise<{ done: boolean; value: unknown }> }>;
}

/** Whether a value looks like a `tf.data.Dataset`. */
export function isDataset(value: unknown): value is DatasetLike {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as DatasetLike).iterator === 'function' &&
    !('x' in value)
  );
}

/**
 * Up to `maxExamples` examples of a `tf.data.Dataset` of `{xs, ys}` (batched or single examples; a tensor each, or
 * one per model input and output), as one `{x, y}` of new tensors, read as `model.fitDataset` reads: the
 * elements are disposed once copied.
 */
export async function collectDataset(
  fn: string,
  dataset: DatasetLike,
  model: tfl.LayersModel,
  maxExamples: number,
): Promise<{ x: tf.Tensor[]; y: tf.Tensor[] }> {
  const xs: tf.Tensor[][] = model.inputs.map(() => []);
  const ys: tf.Tensor[][] = model.outputs.map(() => []);
  let count = 0;
  const iterator = await dataset.iterator();
  try {
    while (count < maxExamples) {
      const { done, value } = await iterator.next();
      if (done) break;
      const element = value as { xs?: unknown; ys?: unknown } | null;
      const parts = (v: unknown, n: number): tf.Tensor[] | null => {
        const list = Array.isArray(v) ? v : [v];
        return list.length === n && list.every((t) => t instanceof tf.Tensor) ? (list as tf.Tensor[]) : null;
      };
      const ex = element && typeof element === 'object' ? parts(element.xs, model.inputs.length) : null;
      const ey = element && typeof element === 'object' ? parts(element.ys, model.outputs.length) : null;
      if (!ex || !ey) {
        tf.dispose(element as tf.TensorContainer);
        fail(fn, 'a dataset must give {xs, ys}: tensors, or arrays of them (one per model input and output)', value);
      }
      const batched = (ex[0] as tf.Tensor).rank === (model.inputs[0] as tfl.SymbolicTensor).shape.length;
      const rows = batched ? ((ex[0] as tf.Tensor).shape[0] as number) : 1;
      const take = Math.min(rows, maxExamples - count);
      const keep = (t: tf.Tensor): tf.Tensor =>
        tf.tidy(() => {
          const b = batched ? t : tf.expandDims(t, 0);
          return take === rows ? tf.clone(b) : tf.slice(b, 0, take);
        });
      ex.forEach((t, i) => {
        xs[i]?.push(keep(t));
      });
      ey.forEach((t, i) => {
        ys[i]?.push(keep(t));
      });
      tf.dispose([...ex, ...ey]);
      count += take;
    }
  } catch (err) {
    tf.dispose([...xs.flat(), ...ys.flat()]);
    throw err;
  }
  if (count === 0) fail(fn, 'the dataset must give at least one example', dataset, 'an empty dataset');
  const join = (parts: tf.Tensor[][]): tf.Tensor[] =>
    parts.map((list) => (list.length === 1 ? (list[0] as tf.Tensor) : tf.concat(list, 0)));
  let joined: { x: tf.Tensor[]; y: tf.Tensor[] };
  try {
    joined = tf.tidy(() => ({ x: join(xs), y: join(ys) }));
  } catch (err) {
    for (const list of [...xs, ...ys]) if (list.length === 1) tf.dispose(list);
    fail(fn, "the dataset's elements must all have the same shape but for the batch axis", dataset, String(err));
  } finally {
    // tidy keeps what it returns: a single part is returned as it is, so dispose only the concatenated ones.
    for (const list of [...xs, ...ys]) if (list.length > 1) tf.dispose(list);
  }
  return joined;
}

/** Whether a value is a loss `model.compile` takes: a name, a function, or an array or plain object of them. */
export function isLossIdentifier(value: unknown): boolean {
  const one = (v: unknown) => typeof v === 'string' || typeof v === 'function';
  if (one(value)) return true;
  if (Array.isArray(value)) return value.length > 0 && value.every(one);
  return isPlainObject(value) && Object.keys(value).length > 0 && Object.values(value).every(one);
}
