import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { threeDigits } from '../internal/describe.js';
import { assertSingleTfjs } from '../internal/single-tfjs.js';
import { assertWeightsAlive, fail, optionsObject } from '../internal/validate.js';

const FN = 'probeActivations';

/**
 * The activation families {@link probeActivations} knows how to judge:
 * - `'relu'`: ReLU and its clipped forms (`'relu'`, `'relu6'`, gradstab's `'gradstabRelu'`, the `ReLU`,
 *   `ThresholdedReLU` and `GradStabReLU` layers): outputs are >= 0 and a unit whose pre-activation is negative
 *   on every input gets no gradient, so it can die. Dead fractions are reported.
 * - `'sigmoid'`: `'sigmoid'` and `'hardSigmoid'`: saturated fractions are reported.
 * - `'tanh'`: `'tanh'`: saturated fractions are reported.
 * - `'other'`: everything else (linear, softmax, leaky ReLU, PReLU, ELU, SELU, GELU, SiLU, layers with no
 *   activation at all): neither figure is meaningful, both are `null`. A leaky ReLU or ELU unit always passes
 *   some gradient, so it cannot die the way a ReLU unit does.
 */
export type ActivationFamily = 'relu' | 'sigmoid' | 'tanh' | 'other';

/** What {@link probeActivations} can conclude about a layer. */
export type ActivationVerdictKind = 'deadUnits' | 'saturated';

/** Options of {@link probeActivations}. Each field says its default. */
export interface ProbeOptions {
  /**
   * A ReLU-family layer gets the `'deadUnits'` verdict when its `deadFraction` is above this. A number in [0, 1]
   * (0: any dead unit; 1: never). Defaults to 0.5, a gradstab choice: some dead units are normal (CS231n's notes on
   * ReLU warn that "as much as 40%" of a network can die with too high a learning rate), so the verdict is kept for
   * layers where most units are dead, the regime Lu et al. 2019 ("Dying ReLU and Initialization: Theory and
   * Numerical Examples") describe, where the network collapses to a constant.
   */
  readonly maxDeadFraction?: number;
  /**
   * A sigmoid or tanh layer gets the `'saturated'` verdict when its `saturatedFraction` is above this. A number in
   * [0, 1] (1: never). Defaults to 0.5, a gradstab choice (most activations in the flat tails); the phenomenon is
   * the one Glorot & Bengio 2010 ("Understanding the difficulty of training deep feedforward neural networks")
   * observed: sigmoid top layers driven to saturation, and tanh layers saturating one after the other.
   */
  readonly maxSaturatedFraction?: number;
  /**
   * A sigmoid activation `a` is saturated when `a < sigmoidMargin` or `a > 1 - sigmoidMargin`. A number in
   * (0, 0.5). Defaults to 0.05: there the derivative `a (1 - a)` is below 0.0475, under a fifth of its maximum 0.25.
   */
  readonly sigmoidMargin?: number;
  /**
   * A tanh activation `a` is saturated when `|a| > tanhLimit`. A number in (0, 1). Defaults to 0.97: there the
   * derivative `1 - a^2` is below 0.06, under 6% of its maximum 1.
   */
  readonly tanhLimit?: number;
}

/** One layer's activation figures on the batch. */
export interface LayerActivationStats {
  /**
   * The layer's name; a layer inside a nested model is named by its path, `outer/inner` (the nested model's name,
   * a slash, the layer's name).
   */
  readonly layer: string;
  /** The layer's class name (`Dense`, `Conv2D`, `ReLU`, `Activation`, `GradStabReLU`, ...). */
  readonly className: string;
  /**
   * The activation the layer ends with: its fused or configured activation's name (`'relu'`, `'sigmoid'`,
   * `'linear'`, `'gradstabRelu'`, ...), or for an activation layer its class name (`'ReLU'`, `'LeakyReLU'`,
   * `'GradStabReLU'`, ...). `null` for a layer with no activation (pooling, dropout, normalization, ...).
   */
  readonly activation: string | null;
  /** The family the activation belongs to, which decides which figures are reported. */
  readonly family: ActivationFamily;
  /** The output's shape on this batch (batch axis first). */
  readonly shape: readonly number[];
  /**
   * How many units the output has: the size of its last axis (dense units, channels of a channels-last
   * convolution), or of axis 1 for a layer with `dataFormat: 'channelsFirst'`; 1 for an output with only a batch
   * axis.
   */
  readonly units: number;
  /** Mean of every entry of the output (batch, positions and units together). */
  readonly mean: number;
  /** Population standard deviation of every entry of the output. */
  readonly std: number;
  /**
   * For the `'relu'` family, the fraction of units that are dead on the batch: whose output is <= 0 for every
   * example and every position. `null` for other families.
   */
  readonly deadFraction: number | null;
  /**
   * For the `'sigmoid'` and `'tanh'` families, the fraction of all output entries that are saturated (see
   * {@link ProbeOptions.sigmoidMargin} and {@link ProbeOptions.tanhLimit}). `null` for other families.
   */
  readonly saturatedFraction: number | null;
  /** The verdicts for this layer (empty when it looks healthy). */
  readonly verdicts: readonly ActivationVerdictKind[];
}

/** A verdict about one layer. */
export interface ActivationVerdict {
  /** Which condition. */
  readonly kind: ActivationVerdictKind;
  /** The layer, as in {@link LayerActivationStats.layer}. */
  readonly layer: string;
  /** A sentence saying what was seen, with the numbers. */
  readonly reason: string;
  /**
   * The figures behind it: `deadFraction`, `deadUnits`, `units` and `maxDeadFraction` for `'deadUnits'`;
   * `saturatedFraction` and `maxSaturatedFraction` for `'saturated'`.
   */
  readonly figures: Readonly<Record<string, number>>;
}

/** A layer {@link probeActivations} could not measure, and why. */
export interface ProbeSkippedLayer {
  /** The layer's name (or path, for a layer inside a nested model). */
  readonly layer: string;
  /** Its class name. */
  readonly className: string;
  /** Why it was skipped. */
  readonly reason: string;
}

/** What {@link probeActivations} returns. */
export interface ActivationProbe {
  /** Every measured layer, in the model's layer order, nested models' layers in place of the nested model. */
  readonly layers: readonly LayerActivationStats[];
  /** Every verdict, in layer order. Empty when no layer looks dead or saturated. */
  readonly verdicts: readonly ActivationVerdict[];
  /** Layers that could not be measured (shared layers, several outputs, not connected to the outputs). */
  readonly skipped: readonly ProbeSkippedLayer[];
}

type Layer = tfl.LayersModel['layers'][number];
type Symbolic = tfl.SymbolicTensor;
/** A model or nested model: what the graph walk needs of it. */
type Graph = Pick<tfl.LayersModel, 'layers' | 'inputs' | 'outputs'>;
type ActivationLike = { getClassName(): string };

interface Settings {
  readonly maxDeadFraction: number;
  readonly maxSaturatedFraction: number;
  readonly sigmoidMargin: number;
  readonly tanhLimit: number;
}

const DEFAULTS: Settings = { maxDeadFraction: 0.5, maxSaturatedFraction: 0.5, sigmoidMargin: 0.05, tanhLimit: 0.97 };
const OPTION_KEYS = Object.keys(DEFAULTS);

/** Fused activations (the `activation` option of dense, conv and Activation layers), by name. */
const ACTIVATION_FAMILIES: Readonly<Record<string, ActivationFamily>> = {
  relu: 'relu',
  relu6: 'relu',
  gradstabRelu: 'relu',
  sigmoid: 'sigmoid',
  hardSigmoid: 'sigmoid',
  tanh: 'tanh',
};
/** Activation layers, by class name (ThresholdedReLU only with theta >= 0, see `activationOf`). */
const LAYER_FAMILIES: Readonly<Record<string, ActivationFamily>> = {
  ReLU: 'relu',
  GradStabReLU: 'relu',
  ThresholdedReLU: 'relu',
};
const ACTIVATION_LAYERS = new Set([
  'ReLU',
  'LeakyReLU',
  'PReLU',
  'ELU',
  'ThresholdedReLU',
  'Softmax',
  'GradStabReLU',
  'GradStabLeakyReLU',
  'GradStabELU',
  'GradStabSELU',
  'GradStabGELU',
  'GradStabSiLU',
]);
/** Their output is not their `activation` applied to something (an LSTM's is `o * tanh(c)`). */
const RECURRENT = new Set(['SimpleRNN', 'LSTM', 'GRU', 'ConvLSTM2D', 'RNN', 'Bidirectional']);

function isNestedModel(layer: Layer): layer is Layer & Graph {
  const l = layer as Partial<Graph>;
  return Array.isArray(l.layers) && Array.isArray(l.inputs) && Array.isArray(l.outputs);
}

/** The activation a layer ends with, and its family. */
function activationOf(layer: Layer): { activation: string | null; family: ActivationFamily } {
  const className = layer.getClassName();
  if (className === 'TimeDistributed') {
    const inner = (layer as unknown as { layer?: Layer }).layer;
    if (inner) return activationOf(inner);
  }
  if (ACTIVATION_LAYERS.has(className)) {
    const theta = (layer as unknown as { theta?: number }).theta;
    const family = className === 'ThresholdedReLU' && !(typeof theta === 'number' && theta >= 0) ? 'other' : null;
    return { activation: className, family: family ?? LAYER_FAMILIES[className] ?? 'other' };
  }
  if (RECURRENT.has(className)) return { activation: null, family: 'other' };
  const fused = (layer as unknown as { activation?: ActivationLike | null }).activation;
  if (fused == null || typeof fused.getClassName !== 'function') return { activation: null, family: 'other' };
  const name = fused.getClassName();
  return { activation: name, family: ACTIVATION_FAMILIES[name] ?? 'other' };
}

/** A (layer, node) pair as tfjs's graph records it. */
interface NodeRef {
  readonly layer: Layer;
  readonly node: { inputTensors: Symbolic[]; outputTensors: Symbolic[] };
}

/** Every node the model's outputs depend on, by layer (the graph walk tfjs's Container does when it is built). */
function graphNodes(graph: Graph): Map<Layer, NodeRef[]> {
  const byLayer = new Map<Layer, NodeRef[]>();
  const seen = new Set<unknown>();
  const stack: Symbolic[] = [...graph.outputs];
  while (stack.length > 0) {
    const t = stack.pop() as Symbolic;
    const layer = t.sourceLayer;
    const node = layer.inboundNodes[t.nodeIndex];
    if (node === undefined || seen.has(node)) continue;
    seen.add(node);
    const refs = byLayer.get(layer) ?? [];
    refs.push({ layer, node });
    byLayer.set(layer, refs);
    stack.push(...node.inputTensors);
  }
  return byLayer;
}

/** A layer output to measure. */
interface Target {
  readonly path: string;
  readonly layer: Layer;
  readonly tensor: Symbolic;
}

/** A nested model applied as one node of the graph: run it on its inputs' values, in a graph of its own. */
interface Nested {
  readonly path: string;
  readonly model: Graph;
  readonly inputs: Symbolic[];
}

type Entry = { kind: 'target'; target: Target } | { kind: 'nested'; nested: Nested };

/**
 * Plans the measurement of `layers` within `graph`'s nodes. A nested model that tfjs inlined (the first layer of a
 * `tf.sequential`) has its layers' nodes in this graph; one applied as a layer has a node of its own here and is
 * measured by running it separately on that node's inputs.
 */
function plan(layers: readonly Layer[], nodes: Map<Layer, NodeRef[]>, prefix: string, skipped: ProbeSkippedLayer[]) {
  const entries: Entry[] = [];
  for (const layer of layers) {
    const className = layer.getClassName();
    if (className === 'InputLayer') continue;
    const path = `${prefix}${layer.name}`;
    const refs = nodes.get(layer) ?? [];
    const skip = (reason: string) => skipped.push({ layer: path, className, reason });
    if (isNestedModel(layer)) {
      if (refs.length === 0) {
        entries.push(...plan(layer.layers, nodes, `${path}/`, skipped));
      } else if (refs.length === 1) {
        entries.push({
          kind: 'nested',
          nested: { path, model: layer, inputs: (refs[0] as NodeRef).node.inputTensors },
        });
      } else {
        skip(`a nested model used at ${refs.length} places in the model: its activations are ambiguous`);
      }
      continue;
    }
    if (refs.length === 0) skip("not connected to the model's outputs");
    else if (refs.length > 1) skip(`used at ${refs.length} places in the model: its output is ambiguous`);
    else {
      const outputs = (refs[0] as NodeRef).node.outputTensors;
      if (outputs.length !== 1) skip(`has ${outputs.length} outputs`);
      else entries.push({ kind: 'target', target: { path, layer, tensor: outputs[0] as Symbolic } });
    }
  }
  return entries;
}

/** A measured output: its figures as scalars on the device, packed later. */
interface Measured {
  readonly target: Target;
  readonly shape: number[];
  readonly units: number;
  readonly activation: string | null;
  readonly family: ActivationFamily;
}

/**
 * Mean, std, dead fraction and saturated fraction of one layer output, as a `[4]` tensor (NaN where n/a).
 * `unitAxis` null: the output is one unit (rank 1, the batch axis only).
 */
function figuresOf(value: tf.Tensor, family: ActivationFamily, unitAxis: number | null, settings: Settings): tf.Tensor {
  const v = value.dtype === 'float32' ? value : tf.cast(value, 'float32');
  const { mean, variance } = tf.moments(v);
  const nan = tf.scalar(Number.NaN);
  let dead = nan;
  let saturated = nan;
  if (family === 'relu') {
    const others = v.shape.map((_, i) => i).filter((i) => i !== unitAxis);
    const unitMax = tf.max(v, others);
    dead = tf.mean(tf.cast(tf.lessEqual(unitMax, 0), 'float32'));
  } else if (family === 'sigmoid') {
    const m = settings.sigmoidMargin;
    saturated = tf.mean(tf.cast(tf.logicalOr(tf.less(v, m), tf.greater(v, 1 - m)), 'float32'));
  } else if (family === 'tanh') {
    saturated = tf.mean(tf.cast(tf.greater(tf.abs(v), settings.tanhLimit), 'float32'));
  }
  return tf.stack([mean, tf.sqrt(variance), dead, saturated]);
}

/** The unit axis of a layer's output: the last, or 1 for a channels-first layer; null for a rank-1 output. */
function unitAxisOf(layer: Layer, rank: number): number | null {
  if (rank < 2) return null;
  const channelsFirst = (layer as unknown as { dataFormat?: string }).dataFormat === 'channelsFirst';
  return channelsFirst ? 1 : rank - 1;
}

/**
 * Runs `graph` once on `inputs` (inference mode) and measures every planned layer, recursing into nested models.
 * Called inside `tf.tidy`; appends to `measured` and `figures` in layer order.
 */
function measure(
  graph: Graph,
  inputs: tf.Tensor[],
  prefix: string,
  settings: Settings,
  measured: Measured[],
  figures: tf.Tensor[],
  skipped: ProbeSkippedLayer[],
): void {
  const entries = plan(graph.layers, graphNodes(graph), prefix, skipped);
  // The symbolic tensors whose values are needed: layer outputs, and the inputs of nested models.
  const wanted: Symbolic[] = [];
  for (const entry of entries) {
    if (entry.kind === 'target') wanted.push(entry.target.tensor);
    else wanted.push(...entry.nested.inputs);
  }
  const outputs = [...new Set(wanted)].filter((t) => !graph.inputs.includes(t));
  const values = new Map<Symbolic, tf.Tensor>();
  graph.inputs.forEach((t, i) => {
    values.set(t, inputs[i] as tf.Tensor);
  });
  if (outputs.length > 0) {
    // Shares the layers and their weights: never disposed (that would dispose the shared weights), holds no tensor.
    const probe = tfl.model({ inputs: graph.inputs, outputs, name: 'gradstabActivationProbe' });
    const results = probe.apply(inputs, { training: false }) as tf.Tensor | tf.Tensor[];
    const list = Array.isArray(results) ? results : [results];
    outputs.forEach((t, i) => {
      values.set(t, list[i] as tf.Tensor);
    });
  }
  for (const entry of entries) {
    if (entry.kind === 'nested') {
      const { nested } = entry;
      const nestedInputs = nested.inputs.map((t) => values.get(t) as tf.Tensor);
      measure(nested.model, nestedInputs, `${nested.path}/`, settings, measured, figures, skipped);
      continue;
    }
    const { target } = entry;
    const value = values.get(target.tensor) as tf.Tensor;
    const { activation, family } = activationOf(target.layer);
    const unitAxis = unitAxisOf(target.layer, value.rank);
    measured.push({
      target,
      shape: value.shape,
      units: unitAxis === null ? 1 : (value.shape[unitAxis] as number),
      activation,
      family,
    });
    figures.push(figuresOf(value, family, unitAxis, settings));
  }
}

function fraction(fn: string, name: string, value: unknown, low: number, high: number, open: boolean): number {
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (open ? value > low && value < high : value >= low && value <= high);
  if (!ok) fail(fn, `${name} must be a number in ${open ? '(' : '['}${low}, ${high}${open ? ')' : ']'}`, value);
  return value as number;
}

function resolveOptions(options: unknown): Settings {
  const opts = optionsObject<ProbeOptions>(FN, options, OPTION_KEYS);
  const pick = (key: keyof Settings) => (opts[key] === undefined ? DEFAULTS[key] : opts[key]);
  return {
    maxDeadFraction: fraction(FN, 'maxDeadFraction', pick('maxDeadFraction'), 0, 1, false),
    maxSaturatedFraction: fraction(FN, 'maxSaturatedFraction', pick('maxSaturatedFraction'), 0, 1, false),
    sigmoidMargin: fraction(FN, 'sigmoidMargin', pick('sigmoidMargin'), 0, 0.5, true),
    tanhLimit: fraction(FN, 'tanhLimit', pick('tanhLimit'), 0, 1, true),
  };
}

function checkModel(model: unknown): Graph {
  const m = model as Partial<tfl.LayersModel> | null;
  if (m === null || typeof m !== 'object' || !Array.isArray(m.layers) || typeof m.apply !== 'function') {
    fail(FN, 'model must be a tf.LayersModel (from tf.sequential or tf.model)', model);
  }
  if (!Array.isArray(m.inputs) || m.inputs.length === 0 || !Array.isArray(m.outputs) || m.outputs.length === 0) {
    fail(FN, 'model must be built, with inputs (give its first layer an inputShape)', model, 'a model with no inputs');
  }
  assertWeightsAlive(FN, m as tfl.LayersModel);
  return m as Graph;
}

function checkInputs(x: unknown, inputs: readonly Symbolic[]): tf.Tensor[] {
  const list: unknown[] = Array.isArray(x) ? x : [x];
  const rule = `x must be a tensor or an array of tensors, one per model input (${inputs.length})`;
  if (list.length !== inputs.length || !list.every((t) => t instanceof tf.Tensor)) fail(FN, rule, x);
  return (list as tf.Tensor[]).map((t, i) => {
    const where = Array.isArray(x) ? `x[${i}]` : 'x';
    if (t.isDisposed) fail(FN, `${where} must not be disposed`, t, 'a disposed tensor');
    const want = (inputs[i] as Symbolic).shape;
    const fits = t.rank === want.length && want.every((d, j) => d === null || d === t.shape[j]);
    if (!fits) fail(FN, `${where} must have the model input's shape [${want.map(String)}]`, t);
    if (t.shape[0] === 0) fail(FN, `${where} must hold at least one example`, t);
    return t;
  });
}

function nullable(value: number, applies: boolean): number | null {
  return applies ? value : null;
}

/**
 * Measures what every layer of a model outputs on a batch: per layer the mean and standard deviation of the
 * activations, for ReLU-family layers the fraction of dead units, for sigmoid and tanh layers the fraction of
 * saturated activations, and a `'deadUnits'` or `'saturated'` verdict where those fractions are high. Run it on a
 * representative batch (the bigger, the surer a "dead" unit is dead) before training, to check an init, or between
 * epochs, to catch units dying.
 *
 * - A unit is a slice of the output's last axis (a dense layer's unit, a channels-last convolution's channel; axis 1
 *   for a layer with `dataFormat: 'channelsFirst'`). A ReLU unit is dead when its output is <= 0 for every example
 *   and every position of the batch: it passes no gradient to its weights on that batch. `deadFraction` is the
 *   fraction of units that are dead.
 * - `saturatedFraction` is the fraction of all output entries in the flat tails: a sigmoid's `a < 0.05` or
 *   `a > 0.95`, a tanh's `|a| > 0.97` (see {@link ProbeOptions} to change them).
 * - The activation is the one the layer ends with: a fused `activation` (`dense({activation: 'relu'})`, including
 *   gradstab's {@link activationIdentifiers}), an `Activation` layer, or an activation layer of tfjs (`ReLU`,
 *   `LeakyReLU`, `ELU`, `PReLU`, `ThresholdedReLU`, `Softmax`) or of gradstab ({@link layers}: `GradStabReLU`, ...).
 *   Its family (`'relu'`, `'sigmoid'`, `'tanh'`, `'other'`) decides which fractions apply; see
 *   {@link ActivationFamily}. Leaky ReLU, ELU, SELU, GELU and SiLU units always pass some gradient, so they get no
 *   dead fraction.
 * - Layers are listed in `model.layers` order, without the input layers. A nested model's layers are measured too,
 *   named `nested/layer`, in place of the nested model. A layer used at several places of the model, or with
 *   several outputs, is listed in `skipped` with the reason.
 *
 * The model runs once in inference mode (dropout off, batch normalization on its moving statistics), through a
 * `tf.model` that shares its layers and weights; the model is not changed. Every statistic is computed on the
 * device and all of them are read back together with one async `data()`: the read waits for the device, so do not
 * call it inside a training step where every millisecond counts. It leaves no tensor behind. Bad input rejects the
 * promise with a {@link GradStabError}.
 *
 * The verdict thresholds' defaults are gradstab choices; the phenomena are documented: dying ReLUs in Lu et al.
 * 2019, "Dying ReLU and Initialization: Theory and Numerical Examples", and saturated sigmoid and tanh layers in
 * Glorot & Bengio 2010, "Understanding the difficulty of training deep feedforward neural networks".
 *
 * @param model A built `tf.LayersModel` (`tf.sequential` with an `inputShape`, or `tf.model`).
 * @param x The batch: a tensor, or an array with one tensor per model input.
 * @param options Verdict thresholds and saturation bounds; see {@link ProbeOptions}.
 * @returns Each layer's figures, the verdicts, and the layers it could not measure.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { probeActivations } from 'gradstab';
 * const model = tf.sequential({
 *   layers: [
 *     // A bias of -10 outweighs the Glorot-initialized weights: every pre-activation is negative, every unit dead.
 *     tf.layers.dense({
 *       name: 'hidden',
 *       units: 8,
 *       inputShape: [4],
 *       activation: 'relu',
 *       biasInitializer: tf.initializers.constant({ value: -10 }),
 *     }),
 *     tf.layers.dense({ name: 'out', units: 1, activation: 'sigmoid' }),
 *   ],
 * });
 * const probe = await probeActivations(model, tf.ones([16, 4]));
 * for (const l of probe.layers) console.log(l.layer, l.activation, l.mean, l.deadFraction, l.saturatedFraction);
 * // hidden relu 0 1 null
 * // out sigmoid 0.5 null 0
 * for (const v of probe.verdicts) console.log(v.kind, v.reason);
 * // deadUnits hidden (Dense, relu): 8 of 8 units output <= 0 on every example of the batch,
 * //   deadFraction 1 > maxDeadFraction 0.5.
 * ```
 */
export function probeActivations(
  model: tfl.LayersModel,
  x: tf.Tensor | tf.Tensor[],
  options?: ProbeOptions,
): Promise<ActivationProbe> {
  return probe(model, x, options); // bad input rejects the promise, it does not throw
}

async function probe(model: unknown, x: unknown, options: unknown): Promise<ActivationProbe> {
  assertSingleTfjs('probeActivations');
  const graph = checkModel(model);
  const inputs = checkInputs(x, graph.inputs);
  const settings = resolveOptions(options);
  const measured: Measured[] = [];
  const skipped: ProbeSkippedLayer[] = [];
  const packed = tf.tidy(() => {
    const figures: tf.Tensor[] = [];
    measure(graph, inputs, '', settings, measured, figures, skipped);
    return figures.length > 0 ? tf.stack(figures) : tf.zeros([0, 4]);
  });
  let read: Float32Array;
  try {
    read = (await packed.data()) as Float32Array;
  } finally {
    packed.dispose();
  }
  const verdicts: ActivationVerdict[] = [];
  const layers = measured.map((m, i): LayerActivationStats => {
    const [mean, std, dead, saturated] = Array.from({ length: 4 }, (_, j) => read[4 * i + j] as number) as [
      number,
      number,
      number,
      number,
    ];
    const path = m.target.path;
    const className = m.target.layer.getClassName();
    const kinds: ActivationVerdictKind[] = [];
    const what = `${path} (${className}${m.activation !== null && m.activation !== className ? `, ${m.activation}` : ''})`;
    if (m.family === 'relu' && dead > settings.maxDeadFraction) {
      const deadUnits = Math.round(dead * m.units);
      kinds.push('deadUnits');
      verdicts.push({
        kind: 'deadUnits',
        layer: path,
        reason:
          `${what}: ${deadUnits} of ${m.units} units output <= 0 on every example of the batch, ` +
          `deadFraction ${threeDigits(dead)} > maxDeadFraction ${settings.maxDeadFraction}.`,
        figures: { deadFraction: dead, deadUnits, units: m.units, maxDeadFraction: settings.maxDeadFraction },
      });
    }
    const saturates = m.family === 'sigmoid' || m.family === 'tanh';
    if (saturates && saturated > settings.maxSaturatedFraction) {
      const bounds =
        m.family === 'sigmoid'
          ? `< ${settings.sigmoidMargin} or > ${1 - settings.sigmoidMargin}`
          : `beyond +-${settings.tanhLimit}`;
      kinds.push('saturated');
      verdicts.push({
        kind: 'saturated',
        layer: path,
        reason:
          `${what}: ${threeDigits(100 * saturated)}% of the activations are saturated (${bounds}), ` +
          `saturatedFraction ${threeDigits(saturated)} > maxSaturatedFraction ${settings.maxSaturatedFraction}.`,
        figures: { saturatedFraction: saturated, maxSaturatedFraction: settings.maxSaturatedFraction },
      });
    }
    return {
      layer: path,
      className,
      activation: m.activation,
      family: m.family,
      shape: m.shape,
      units: m.units,
      mean,
      std,
      deadFraction: nullable(dead, m.family === 'relu'),
      saturatedFraction: nullable(saturated, saturates),
      verdicts: kinds,
    };
  });
  return { layers, verdicts, skipped };
}
