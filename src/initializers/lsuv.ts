import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { assertSingleTfjs } from '../internal/single-tfjs.js';
import { fail } from '../internal/validate.js';
import { type LsuvEntry, type LsuvReport, resolveSettings, runLsuv } from './lsuv-core.js';

export type { LsuvLayerReport, LsuvReport, LsuvStatus } from './lsuv-core.js';

/** Options of {@link lsuvVariables}. Each field says its default. */
export interface LsuvVariablesOptions {
  /** Stop when `|Var(output) - 1| < tolerance`. Defaults to 0.1 (the paper's). */
  readonly tolerance?: number;
  /** At most this many rescalings per layer. Defaults to 10 (the paper's). */
  readonly maxIterations?: number;
  /**
   * First replace each kernel by an orthogonal matrix ({@link orthogonal}, gain 1), the paper's pre-init. The kernel
   * is flattened to `[prod(shape[:-1]), shape[-1]]` (last axis = output units, the tfjs layout). Defaults to true.
   */
  readonly orthogonalInit?: boolean;
  /**
   * Seeds the orthogonal pre-init (the `i`-th scalable kernel in order uses `seed + i`), so runs are reproducible.
   * The rest of the algorithm is deterministic. Defaults to none: new orthogonal matrices every run.
   */
  readonly seed?: number;
  /**
   * Layers with fewer output values per example than this (the output's size without the batch axis: `units` for
   * a dense layer, filters x positions for a convolution) are left as they are. Defaults to 32, as the reference
   * code: such layers are usually the head (a few logits), whose scale the loss sets, and their variance on one
   * batch is a noisy estimate. Pass 0 to scale every layer.
   */
  readonly minUnits?: number;
}

/** Options of {@link lsuv}: those of {@link lsuvVariables}, plus where a layer's output is measured. */
export interface LsuvOptions extends LsuvVariablesOptions {
  /**
   * Where the variance is measured. `'preActivation'`: before the layer's own fused `activation` (a dense or conv
   * layer's `x W + b`), as the paper's Caffe/PyTorch layers where the nonlinearity is a layer of its own; so
   * `dense({activation: 'relu'})` and `dense()` + `reLU()` get the same kernel, and tanh, sigmoid and softmax layers
   * can reach unit variance. `'output'`: the layer's output after its activation, as the Keras reference code
   * (a bounded activation then ends `'notConverged'`). Defaults to `'preActivation'`.
   */
  readonly measure?: 'preActivation' | 'output';
}

/** One layer of a hand-written model, for {@link lsuvVariables}; `B` is the type of the batch. */
export interface LsuvStep<B extends tf.Tensor | tf.Tensor[] = tf.Tensor> {
  /** A name for the report. */
  readonly name: string;
  /** The layer's kernel, rescaled in place (`assign`). Its bias, if any, is not touched. */
  readonly kernel: tf.Variable;
  /**
   * The layer's output for the batch with the current weights (usually before its activation), computed from the
   * batch through every earlier layer. Synchronous; called inside `tf.tidy`, several times.
   */
  readonly output: (batch: B) => tf.Tensor;
}

type Layer = tfl.LayersModel['layers'][number];
type Activation = { getClassName(): string; apply(x: tf.Tensor): tf.Tensor };

/** The kernel LSUV scales in each layer class it knows; the depthwise kernel gets no orthogonal pre-init. */
const KERNELS: Readonly<Record<string, { weight: string; orthogonal: boolean }>> = {
  Dense: { weight: 'kernel', orthogonal: true },
  Conv1D: { weight: 'kernel', orthogonal: true },
  Conv2D: { weight: 'kernel', orthogonal: true },
  Conv3D: { weight: 'kernel', orthogonal: true },
  Conv2DTranspose: { weight: 'kernel', orthogonal: true },
  Conv3DTranspose: { weight: 'kernel', orthogonal: true },
  DepthwiseConv2D: { weight: 'depthwise_kernel', orthogonal: false },
  SeparableConv2D: { weight: 'pointwise_kernel', orthogonal: true },
};
const KNOWN = Object.keys(KERNELS).join(', ');
const RECURRENT = new Set(['SimpleRNN', 'LSTM', 'GRU', 'ConvLSTM2D', 'RNN', 'Bidirectional', 'TimeDistributed']);
/** Stands in for a layer's fused activation while its pre-activation output is measured. */
const IDENTITY: Activation = { getClassName: () => 'linear', apply: (x) => x };

function isTensor(value: unknown): value is tf.Tensor {
  return value instanceof tf.Tensor;
}

function skipReason(layer: Layer, className: string): string | undefined {
  if (Array.isArray((layer as { layers?: unknown }).layers)) {
    return 'a nested model: lsuv does not reach into it (call lsuv on it with its own batch)';
  }
  if (className === 'InputLayer') return 'the input layer: no weights';
  if (KERNELS[className] === undefined) {
    if (layer.weights.length === 0) return 'has no weights: nothing to scale';
    if (/normalization/i.test(className)) return 'a normalization layer: it sets its own output scale';
    if (RECURRENT.has(className)) return 'a recurrent layer: its output is not proportional to its kernel';
    return `not a layer class lsuv scales (${KNOWN}); use lsuvVariables for other layers`;
  }
  if (!layer.trainable) return 'frozen (trainable is false): left as it is';
  if (layer.inboundNodes.length !== 1) return 'used at several places in the model: its output is ambiguous';
  if (Array.isArray(layer.output)) return 'has several outputs';
  return undefined;
}

/** Runs `forward` with the layer's fused activation replaced by the identity. */
function preActivation(layer: Layer, forward: () => tf.Tensor): tf.Tensor {
  const holder = layer as unknown as { activation?: Activation | null };
  const activation = holder.activation;
  if (activation == null || activation.getClassName() === 'linear') return forward();
  holder.activation = IDENTITY;
  try {
    return forward();
  } finally {
    holder.activation = activation;
  }
}

function modelEntry(
  model: tfl.LayersModel,
  layer: Layer,
  inputs: tf.Tensor | tf.Tensor[],
  measureAt: 'preActivation' | 'output',
): LsuvEntry {
  const className = layer.getClassName();
  const { name } = layer;
  const reason = skipReason(layer, className);
  const spec = KERNELS[className];
  const kernel = layer.weights.find((w) => w.originalName.split('/').pop() === spec?.weight);
  if (reason !== undefined || spec === undefined || kernel === undefined) {
    return { kind: 'skip', name, className, reason: reason ?? `has no ${spec?.weight} weight` };
  }
  try {
    kernel.read();
  } catch {
    fail('lsuv', 'model must not be disposed', model, `a model whose layer ${JSON.stringify(name)} is disposed`);
  }
  let sub: tfl.LayersModel;
  try {
    // Shares the layers and their weights; never disposed (that would dispose the shared weights), holds no tensor.
    sub = tfl.model({ inputs: model.inputs, outputs: layer.output as tfl.SymbolicTensor });
  } catch (e) {
    return { kind: 'skip', name, className, reason: `its output cannot be computed from the model inputs (${e})` };
  }
  const dims = (layer.outputShape as (number | null)[]).slice(1);
  const units = dims.every((d) => typeof d === 'number') ? (dims as number[]).reduce((a, b) => a * b, 1) : undefined;
  const run = () => sub.apply(inputs, { training: false }) as tf.Tensor;
  return {
    kind: 'scale',
    name,
    className,
    ...(units === undefined ? {} : { units }),
    orthogonalizable: spec.orthogonal,
    read: () => kernel.read(),
    write: (value) => {
      kernel.write(value); // applies the layer's kernel constraint, if any
    },
    forward: measureAt === 'output' ? run : () => preActivation(layer, run),
  };
}

function checkBatch(fn: string, batch: unknown, inputs?: readonly tfl.SymbolicTensor[]): tf.Tensor | tf.Tensor[] {
  const list = Array.isArray(batch) ? batch : [batch];
  const rule = inputs
    ? `batch must be a tensor or an array of tensors, one per model input (${inputs.length})`
    : 'batch must be a tensor or an array of tensors';
  if ((Array.isArray(batch) && batch.length === 0) || !list.every(isTensor)) fail(fn, rule, batch);
  if (inputs !== undefined && list.length !== inputs.length) fail(fn, rule, batch);
  list.forEach((t: tf.Tensor, i) => {
    const where = Array.isArray(batch) ? `batch[${i}]` : 'batch';
    if (t.isDisposed) fail(fn, `${where} must not be disposed`, t, 'a disposed tensor');
    // An empty batch has no variance: every layer would come out 'dead' and be left as it is.
    if (t.size === 0) fail(fn, `${where} must hold at least one value (one example)`, t);
    const want = inputs?.[i]?.shape;
    const fits = !want || (t.rank === want.length && want.every((d, j) => d === null || d === t.shape[j]));
    if (!fits) fail(fn, `${where} must have the model input's shape [${want.map(String)}]`, t);
  });
  return batch as tf.Tensor | tf.Tensor[];
}

/**
 * LSUV, layer-sequential unit-variance initialization (Mishkin & Matas 2015, "All you need is a good init"): a
 * data-dependent init that makes every layer's output variance 1 on a batch. Each kernel is first replaced by an
 * orthogonal matrix; then, layer by layer in model order, the batch is run to that layer's output and its kernel is
 * divided by `sqrt(Var(output))` until `|Var - 1| < tolerance` or `maxIterations`. Biases are not touched. Run it
 * once on a freshly built model, before training, with a representative batch (the bigger, the steadier).
 *
 * It scales the kernels of Dense, Conv1D/2D/3D, Conv2D/3DTranspose, DepthwiseConv2D (its depthwise kernel, with no
 * orthogonal pre-init) and SeparableConv2D (its pointwise kernel) layers, in `tf.sequential` and functional models.
 * Other layers (activations, pooling, dropout, normalization, embeddings, recurrent layers, nested models), frozen
 * layers and layers with fewer than `minUnits` outputs are skipped; the report says why, layer by layer. A layer
 * whose output variance is 0 or not finite on the batch, or does not change when its kernel is rescaled (a dead
 * layer: no signal reaches it), is left as it is and reported `'dead'`. Layers are visited in `model.layers` order,
 * which for a functional model runs from the inputs to the outputs, so each layer is measured after the layers
 * that feed it were scaled.
 *
 * The variance is measured before each layer's fused activation by default (`measure: 'preActivation'`), and is the
 * population variance over every entry of the output (batch, positions and units together), as the paper does.
 * It reads each measurement to the host with an async `data()` (one small read per forward pass, never
 * `dataSync`): that is its purpose, at init time, not in a training step. It leaves no tensor behind.
 *
 * @param model A built `tf.LayersModel` (its first layer has an `inputShape`).
 * @param batch The input batch: a tensor, or one per model input, with at least one example.
 * @returns What it did to each layer of `model.layers`.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { lsuv } from 'gradstab';
 * const model = tf.sequential({
 *   layers: [
 *     tf.layers.dense({ units: 64, inputShape: [32], activation: 'relu', name: 'hidden1' }),
 *     tf.layers.dense({ units: 64, activation: 'relu', name: 'hidden2' }),
 *     tf.layers.dense({ units: 10, activation: 'softmax', name: 'out' }),
 *   ],
 * });
 * const batch = tf.randomNormal([64, 32], 0, 1, 'float32', 7);
 * const report = await lsuv(model, batch, { seed: 1 });
 * const fixed = (v: number | null) => (v === null ? null : v.toFixed(2));
 * for (const l of report.layers) console.log(l.name, l.status, fixed(l.varianceBefore), '->', fixed(l.varianceAfter), l.reason ?? '');
 * // hidden1 scaled 0.51 -> 1.00
 * // hidden2 scaled 0.51 -> 1.00
 * // out skipped null -> null has 10 output units per example, fewer than minUnits (32)
 * console.log(report.converged); // true
 * ```
 */
export function lsuv(
  model: tfl.LayersModel,
  batch: tf.Tensor | tf.Tensor[],
  options?: LsuvOptions,
): Promise<LsuvReport> {
  return lsuvModel(model, batch, options); // bad input rejects the promise, it does not throw
}

async function lsuvModel(model: tfl.LayersModel, batch: unknown, options: unknown): Promise<LsuvReport> {
  const fn = 'lsuv';
  assertSingleTfjs(fn);
  const { settings, opts } = resolveSettings<LsuvOptions>(fn, options, ['measure']);
  const measureAt = opts.measure ?? 'preActivation';
  if (measureAt !== 'preActivation' && measureAt !== 'output') {
    fail(fn, "measure must be 'preActivation' or 'output'", opts.measure);
  }
  const m = model as Partial<tfl.LayersModel> | null;
  if (m === null || typeof m !== 'object' || !Array.isArray(m.layers) || typeof m.apply !== 'function') {
    fail(fn, 'model must be a tf.LayersModel (from tf.sequential or tf.model)', model);
  }
  if (!Array.isArray(model.inputs) || model.inputs.length === 0) {
    fail(fn, 'model must be built, with inputs (give its first layer an inputShape)', model, 'a model with no inputs');
  }
  const inputs = checkBatch(fn, batch, model.inputs);
  const entries = model.layers.map((layer) => modelEntry(model, layer, inputs, measureAt));
  return runLsuv(entries, settings);
}

/**
 * LSUV (Mishkin & Matas 2015) for hand-written models: the same algorithm as {@link lsuv}, on a list of steps, one
 * per layer in forward order, each with its kernel variable and a function computing that layer's output from the
 * batch with the current weights. With `orthogonalInit` (the default) each kernel is first replaced by an orthogonal
 * matrix, flattened with its last axis as the output units (the tfjs layout; pass `orthogonalInit: false` for
 * others, e.g. a PyTorch-layout conv kernel `[out, in, kh, kw]`). Reads one variance per forward pass to the host
 * with an async `data()`, at init time.
 *
 * @param steps The layers, in forward order. Each kernel appears once.
 * @param batch The input batch (a tensor or an array of tensors, none empty), handed as it is to every `output`
 *   function.
 * @returns What it did to each step.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { lsuvVariables } from 'gradstab';
 * const w1 = tf.variable(tf.randomNormal([32, 64]));
 * const w2 = tf.variable(tf.randomNormal([64, 64]));
 * const hidden = (x: tf.Tensor) => tf.relu(tf.matMul(x, w1)); // layer 1 with its activation
 * const report = await lsuvVariables(
 *   [
 *     { name: 'layer1', kernel: w1, output: (x) => tf.matMul(x, w1) },
 *     { name: 'layer2', kernel: w2, output: (x) => tf.matMul(hidden(x), w2) },
 *   ],
 *   tf.randomNormal([64, 32]),
 *   { seed: 1 },
 * );
 * console.log(report.layers.map((l) => l.status)); // ['scaled', 'scaled']
 * ```
 */
export function lsuvVariables<B extends tf.Tensor | tf.Tensor[]>(
  steps: readonly LsuvStep<B>[],
  batch: B,
  options?: LsuvVariablesOptions,
): Promise<LsuvReport> {
  return lsuvSteps(steps, batch, options); // bad input rejects the promise, it does not throw
}

async function lsuvSteps(steps: unknown, batch: unknown, options: unknown): Promise<LsuvReport> {
  const fn = 'lsuvVariables';
  const { settings } = resolveSettings<LsuvVariablesOptions>(fn, options);
  if (!Array.isArray(steps)) fail(fn, 'steps must be an array of {name, kernel, output}', steps);
  const input = checkBatch(fn, batch);
  const seen = new Map<tf.Variable, number>();
  // Array.from, not map: a hole is a bad step too.
  const entries = Array.from(steps, (step: unknown, i): LsuvEntry => {
    const at = `steps[${i}]`;
    if (step === null || typeof step !== 'object' || Array.isArray(step)) {
      fail(fn, `${at} must be an object {name, kernel, output}`, step);
    }
    const s = step as Partial<LsuvStep>;
    for (const key of Object.keys(s)) {
      if (!['name', 'kernel', 'output'].includes(key))
        fail(fn, `${at} has an unknown key ${JSON.stringify(key)}`, step);
    }
    if (typeof s.name !== 'string' || s.name === '') fail(fn, `${at}.name must be a non-empty string`, s.name);
    const kernel = s.kernel;
    if (!(kernel instanceof tf.Variable) || kernel.isDisposed) {
      fail(fn, `${at}.kernel must be a tf.Variable (the layer's kernel, not disposed)`, kernel);
    }
    if (kernel.dtype !== 'float32') fail(fn, `${at}.kernel must be float32`, kernel);
    if (settings.orthogonalInit && kernel.rank < 2) {
      fail(fn, `${at}.kernel must have rank >= 2 for orthogonalInit (or pass orthogonalInit: false)`, kernel);
    }
    const twin = seen.get(kernel);
    if (twin !== undefined) fail(fn, `${at}.kernel must not be the kernel of steps[${twin}] again`, kernel);
    seen.set(kernel, i);
    const output = s.output;
    if (typeof output !== 'function') fail(fn, `${at}.output must be a function (batch) => tensor`, output);
    return {
      kind: 'scale',
      name: s.name,
      className: null,
      orthogonalizable: true,
      read: () => kernel,
      write: (value) => kernel.assign(value),
      forward: () => {
        const y: unknown = (output as (batch: unknown) => unknown)(input);
        if (!isTensor(y) || y.isDisposed) fail(fn, `${at}.output must return a tensor`, y);
        return y;
      },
    };
  });
  return runLsuv(entries, settings);
}
