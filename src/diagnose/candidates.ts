import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { initializerFor } from '../initializers/initializer-for.js';
import { lsuv } from '../initializers/lsuv.js';
import { threeDigits } from '../internal/describe.js';
import { clipOptimizer } from '../optimizer/clip-optimizer.js';
import { type Finding, type FindingKind, quantileOf, rangeFell } from './findings.js';
import type { BaselineMeasurements } from './measure.js';
import {
  activationOf,
  batchNormBeforeActivations,
  FEED_FORWARD,
  matchInitializers,
  rebuildModel,
  replaceRelu,
  resetBiases,
  SATURATING,
} from './model-edits.js';
import type { OptimizerMaker } from './optimizer-source.js';
import { cloneModel } from './trial-model.js';

/** What a prescription changes. */
export type PrescriptionKind =
  | 'initializer'
  | 'activation'
  | 'batchNormalization'
  | 'clipping'
  | 'learningRate'
  | 'lsuv'
  | 'architecture';

/** What a candidate needs to build its model and optimizer. */
export interface BuildContext {
  readonly makeOptimizer: OptimizerMaker;
  readonly loss: unknown;
  /** Training inputs for LSUV's variance measurements (one tensor per model input). */
  readonly lsuvBatch: readonly tf.Tensor[];
  readonly seed: number;
}

/** A remedy to try: what it is, and how to make the changed model and optimizer from a model. */
export interface Candidate {
  readonly kind: PrescriptionKind;
  /** One sentence that names the layers and the setting. */
  readonly description: string;
  /** The TypeScript a user writes to make the change. */
  readonly code: string;
  /** The layers it changes (empty for the optimizer's settings). */
  readonly layers: readonly string[];
  /** The settings it derived from the measurements, by name. */
  readonly settings: Readonly<Record<string, number | string>>;
  /** The findings it answers. */
  readonly addresses: readonly FindingKind[];
  /** A new compiled model and its optimizer with the change (the architecture kind has none: null). */
  readonly build: ((model: tfl.LayersModel, context: BuildContext) => Promise<Built>) | null;
}

/** A changed model, compiled with its optimizer. */
export interface Built {
  readonly model: tfl.LayersModel;
  readonly optimizer: tf.Optimizer;
}

/** A layer of a model's config, as the candidates read it. */
interface LayerInfo {
  readonly name: string;
  readonly className: string;
  readonly activation: string | null;
  readonly hasKernel: boolean;
}

const RECURRENT = new Set(['SimpleRNN', 'LSTM', 'GRU', 'RNN', 'Bidirectional', 'ConvLSTM2D']);
const NORMALIZING = new Set(['BatchNormalization', 'LayerNormalization', 'GradStabBatchNormalization']);

/** A plain net at least this deep (in layers with a kernel), without normalization, gets LSUV as a candidate. */
export const LSUV_MIN_DEPTH = 6;

/** A kernel whose standard deviation is off its activation's initializer by more than this share is re-initialized. */
export const INIT_TOLERANCE = 0.2;

/** The batch normalization's moving-average momentum (Keras convention; PyTorch's default, 0.1 in its own). */
export const BN_MOMENTUM = 0.9;

const fmt = threeDigits;
const names = (layers: readonly string[]): string =>
  layers.length <= 4 ? layers.join(', ') : `${layers.slice(0, 2).join(', ')}, … ${layers.at(-1)} (${layers.length})`;

function layerInfos(model: tfl.LayersModel): LayerInfo[] {
  return model.layers.map((layer) => {
    const config = layer.getConfig() as Record<string, unknown>;
    return {
      name: layer.name,
      className: layer.getClassName(),
      activation: activationOf({ className: layer.getClassName(), config }),
      hasKernel: 'kernelInitializer' in config,
    };
  });
}

/** What {@link kernelStats} measures of a layer's weights. */
interface KernelStats {
  /** The kernel's standard deviation. */
  readonly std: number;
  readonly shape: number[];
  /** The bias's mean (0 without a bias). */
  readonly biasMean: number;
}

/** The standard deviation of each dense/conv kernel and the mean of its bias, read asynchronously. */
export async function kernelStats(model: tfl.LayersModel): Promise<Map<string, KernelStats>> {
  const out = new Map<string, KernelStats>();
  for (const layer of model.layers) {
    const kernel = layer.trainableWeights.find((w) => /kernel/.test(w.originalName) && !/recurrent/.test(w.name));
    if (!kernel || !('kernelInitializer' in (layer.getConfig() as object))) continue;
    const bias = layer.trainableWeights.find((w) => /bias/.test(w.originalName));
    const value = kernel.read();
    const figures = tf.tidy(() =>
      tf.stack([tf.sqrt(tf.moments(value).variance), bias ? tf.mean(bias.read()) : tf.scalar(0)]),
    );
    const [std, biasMean] = await figures.data();
    figures.dispose();
    out.set(layer.name, { std: std as number, shape: [...value.shape], biasMean: biasMean as number });
  }
  return out;
}

/**
 * Layers whose bias holds their units below zero: a mean bias below minus half the pre-activation's scale
 * (kernel std x sqrt(fan-in), for inputs of unit scale), so most units start, and stay, dead.
 */
function negativeBiasLayers(
  layers: readonly string[],
  stats: Map<string, KernelStats>,
): { layer: string; biasMean: number }[] {
  const out: { layer: string; biasMean: number }[] = [];
  for (const layer of layers) {
    const st = stats.get(layer);
    if (!st) continue;
    const fanIn = st.shape.slice(0, -1).reduce((a, b) => a * b, 1);
    if (st.biasMean < -0.5 * st.std * Math.sqrt(fanIn)) out.push({ layer, biasMean: st.biasMean });
  }
  return out;
}

/** The layers whose kernel's standard deviation is off what `initializerFor` their activation gives. */
function mismatchedInitializers(
  infos: readonly LayerInfo[],
  stds: Map<string, KernelStats>,
): { layer: string; activation: string; std: number; target: number }[] {
  const out: { layer: string; activation: string; std: number; target: number }[] = [];
  for (const info of infos) {
    const measured = stds.get(info.name);
    if (!measured || info.activation === null || !FEED_FORWARD.has(info.className)) continue;
    let target: number;
    try {
      target = initializerFor(info.activation).standardDeviation(measured.shape);
    } catch {
      continue; // an activation initializerFor does not know
    }
    // The sample deviation of n values is off by about 1/sqrt(2n) (relative): a small kernel needs a wider margin.
    const values = measured.shape.reduce((a, b) => a * b, 1);
    if (Math.abs(measured.std / target - 1) > Math.max(INIT_TOLERANCE, 3 / Math.sqrt(2 * values))) {
      out.push({ layer: info.name, activation: info.activation, std: measured.std, target });
    }
  }
  return out;
}

/** Compiles a model with an optimizer and the loss. */
function compiled(model: tfl.LayersModel, optimizer: tf.Optimizer, loss: unknown): Built {
  model.compile({ optimizer, loss: loss as string });
  return { model, optimizer };
}

/** Copies the weights of the layers `from` and `to` share by name and shape, except `skip` (freshly initialized). */
function copySharedWeights(from: tfl.LayersModel, to: tfl.LayersModel, skip: readonly string[]): void {
  for (const layer of to.layers) {
    if (skip.includes(layer.name)) continue;
    const source = from.layers.find((l) => l.name === layer.name);
    if (!source) continue;
    const weights = source.getWeights();
    const own = layer.getWeights();
    const same =
      weights.length === own.length &&
      weights.every((w, i) => tf.util.arraysEqual(w.shape, (own[i] as tf.Tensor).shape));
    if (same && weights.length > 0) layer.setWeights(weights);
  }
}

/** A model rebuilt with an edit, the user's weights kept where the edit does not re-initialize. */
function edited(
  fn: string,
  edit: ReturnType<typeof matchInitializers>,
  reinitialized: (changed: string[]) => string[],
): (model: tfl.LayersModel, context: BuildContext) => Promise<Built> {
  return async (model, context) => {
    const rebuilt = rebuildModel(fn, model, edit.edit);
    copySharedWeights(model, rebuilt, reinitialized(edit.changed()));
    return compiled(rebuilt, context.makeOptimizer(), context.loss);
  };
}

/** The finite global norms up to the first non-finite loss (later ones measure the wreck, not the training). */
function trialNorms(m: BaselineMeasurements): number[] {
  const end = m.trend.firstNonFinite === null ? m.globalNorms.length : m.trend.firstNonFinite - 1;
  return m.globalNorms.slice(0, Math.max(1, end)).filter((n) => Number.isFinite(n) && n > 0);
}

/**
 * The learning rate the range test suggests: the smaller of its two usual suggestions, the steepest descent
 * (Lightning's, unless it lies a hundredth of the lowest loss's rate or further below it: a wiggle of the flat
 * start) and a tenth of the lowest loss's rate (fastai's `minimum`), and at most a quarter of where it diverged; the steepest point alone overshot over longer runs in the zoo (0.74 where 0.1 trains best). Null when
 * the test gave no trusted steepest rate.
 */
function rangeSuggestion(range: BaselineMeasurements['lrRange']): { rate: number; why: string } | null {
  if (range?.steepest == null) return null;
  // A steepest point far below the valley (a hundredth of the lowest loss's rate) is a wiggle of the flat start.
  const steepest = range.steepest >= range.minimum / 100 ? range.steepest : Number.POSITIVE_INFINITY;
  let rate = Math.min(steepest, range.minimum / 10);
  if (range.divergedAt != null) rate = Math.min(rate, range.divergedAt / 4);
  return {
    rate,
    why:
      `the range test's loss fell fastest at ${fmt(range.steepest)} and was lowest at ${fmt(range.minimum)}` +
      (range.divergedAt != null ? `, diverged at ${fmt(range.divergedAt)}` : ''),
  };
}

/**
 * The candidates for a set of findings, most direct remedy first, each setting derived from the measurements:
 * the clipping threshold is the 90th percentile of the trial's global gradient norms (the median of the
 * first quarter when the loss diverged) (steps before a non-finite loss), the
 * learning rate the range test's steepest (below its divergence point), the initializer the one `initializerFor`
 * gives each layer's activation (for the layers whose measured kernel deviates by more than 20%), batch
 * normalization before the saturating activations, LSUV for plain nets at least 6 layers deep, leaky ReLU or ELU
 * for layers with dead units.
 */
export async function candidatesFor(
  fn: string,
  model: tfl.LayersModel,
  findings: readonly Finding[],
  m: BaselineMeasurements,
  makeOptimizer: OptimizerMaker,
  sequential: boolean,
  seed: number,
): Promise<Candidate[]> {
  const kinds = new Set(findings.map((f) => f.kind));
  const infos = layerInfos(model);
  const out: Candidate[] = [];
  const add = (c: Candidate) => {
    if (!out.some((o) => o.kind === c.kind && JSON.stringify(o.settings) === JSON.stringify(c.settings))) out.push(c);
  };
  const lr = m.learningRate;

  // Clipping at the 90th percentile of the trial's norms: nine steps in ten pass unchanged, the spikes are cut to
  // the size of a typical large step. (The median clipped every other step and slowed healthy learning by 2-4x in
  // the zoo's recurrent cases.)
  // A diverging run's norms grow with the divergence: then the threshold is the median of its first quarter,
  // the norms of the steps before the run went off.
  const diverged = m.trend.kind === 'diverging' || m.trend.firstNonFinite !== null;
  const allNorms = trialNorms(m);
  const norms = diverged ? allNorms.slice(0, Math.max(1, Math.floor(allNorms.length / 4))) : allNorms;
  const threshold = Number((quantileOf(norms, diverged ? 0.5 : 0.9) || 0).toPrecision(2));
  const basis = diverged
    ? `the median of the first ${norms.length} finite norms, before the loss diverged`
    : `the 90th percentile of the ${norms.length} finite norms measured`;
  const clipping = (): Candidate => ({
    kind: 'clipping',
    description:
      `Clip the global gradient norm at ${fmt(threshold)} (${basis}; the trial's median ` +
      `${fmt(quantileOf(allNorms, 0.5))}, max ${fmt(quantileOf(allNorms, 1))}).`,
    code:
      `model.compile({\n  optimizer: clipOptimizer(${makeOptimizer.code()}, { globalClipNorm: ${fmt(threshold)} }),\n` +
      '  loss, // as before\n});',
    layers: [],
    settings: { globalClipNorm: threshold },
    addresses: (['nonFinite', 'exploding', 'learningRateTooHigh', 'unstableLoss'] as const).filter((k) => kinds.has(k)),
    build: async (model, context) => {
      const copy = await cloneModel(fn, model);
      return compiled(copy, clipOptimizer(context.makeOptimizer(), { globalClipNorm: threshold }), context.loss);
    },
  });
  const learningRate = (suggested: number, why: string, addresses: FindingKind[]): Candidate => {
    const rate = Number(suggested.toPrecision(3)); // the rate the description, the code and the trial all use
    return {
      kind: 'learningRate',
      description: `Train with learning rate ${fmt(rate)} instead of ${fmt(lr)} (${why}).`,
      code: `model.compile({ optimizer: ${makeOptimizer.code(rate)}, loss });`,
      layers: [],
      settings: { learningRate: rate },
      addresses,
      build: async (model, context) => {
        const copy = await cloneModel(fn, model);
        return compiled(copy, context.makeOptimizer(rate), context.loss);
      },
    };
  };
  // The range test's steepest rate is trusted when its loss really fell (by 10% or more before diverging); a
  // flat sweep's steepest point is noise, at whatever rate the wiggle happened to be.
  const range = m.lrRange && rangeFell(m.lrRange) ? m.lrRange : m.lrRange && { ...m.lrRange, steepest: null };
  const rateKinds = (['nonFinite', 'exploding', 'learningRateTooHigh', 'unstableLoss', 'deadUnits'] as const).filter(
    (k) => kinds.has(k),
  );
  const lowerRate = (): Candidate | null => {
    if (!Number.isFinite(lr)) return null;
    const suggested = rangeSuggestion(range);
    if (suggested !== null && suggested.rate < lr / 2) return learningRate(suggested.rate, suggested.why, rateKinds);
    // (Only when the lowest loss came after the first rate: a sweep that rose from its first step says nothing.)
    if (range && range.minimum > (range.learningRates[0] ?? range.minimum) && range.minimum / 10 < lr) {
      // fastai's `minimum` suggestion: a tenth of the rate at the lowest loss, trusted even when the sweep's loss
      // barely fell (the lowest point is where it was still safe).
      const why = `a tenth of the rate of the range test's lowest loss, ${fmt(range.minimum)}`;
      return learningRate(range.minimum / 10, why, rateKinds);
    }
    // Else a tenth of the current rate, or of where the range test diverged when that is lower: a rate 10x
    // below a divergence is not safe when the sweep's own loss never fell (the two-output regression of the tests
    // diverged at 10 and still diverged at 1).
    if (range?.divergedAt != null && range.divergedAt / 10 < lr / 10) {
      const why = `a tenth of where the range test diverged, ${fmt(range.divergedAt)}`;
      return learningRate(range.divergedAt / 10, why, rateKinds);
    }
    return learningRate(lr / 10, 'a tenth: the range test gave no usable rate below it', rateKinds);
  };

  const stds = await kernelStats(model);
  const mismatched = mismatchedInitializers(infos, stds);
  const initializer = (addresses: FindingKind[]): Candidate | null => {
    if (mismatched.length === 0) return null;
    const layers = mismatched.map((x) => x.layer);
    const byActivation = new Map<string, string[]>();
    for (const x of mismatched) byActivation.set(x.activation, [...(byActivation.get(x.activation) ?? []), x.layer]);
    const edit = matchInitializers(layers, seed);
    const first = mismatched[0] as (typeof mismatched)[number];
    return {
      kind: 'initializer',
      description:
        `Initialize ${names(layers)} for their activations (${[...byActivation.keys()]
          .map((a) => `initializerFor('${a}')`)
          .join(', ')}): ${first.layer}'s kernel has standard deviation ${fmt(first.std)}, its activation calls ` +
        `for ${fmt(first.target)}.`,
      code: [...byActivation]
        .map(([a, ls]) => `// ${ls.join(', ')}:\nkernelInitializer: initializerFor('${a}'),`)
        .join('\n'),
      layers,
      settings: Object.fromEntries(mismatched.map((x) => [x.layer, `initializerFor('${x.activation}')`])),
      addresses,
      build: edited(fn, edit, (changed) => changed),
    };
  };

  const saturatingLayers = infos
    .filter((i) => FEED_FORWARD.has(i.className) && i.activation !== null && SATURATING.has(i.activation))
    .filter((i) => !m.outputLayers.includes(i.name))
    .map((i) => i.name);
  const batchNorm = (targets: readonly string[], addresses: FindingKind[]): Candidate | null => {
    const layers = targets.filter((l) => saturatingLayers.includes(l));
    if (!sequential || layers.length === 0) return null;
    // Keras's momentum 0.99 averages the statistics over ~100 steps, as long as a whole trial: the held-out loss
    // would be measured with half-initial statistics. PyTorch's default (0.1, Keras's 0.9) settles in ~10 steps.
    const edit = batchNormBeforeActivations(layers, BN_MOMENTUM);
    const activation = infos.find((i) => i.name === layers[0])?.activation;
    return {
      kind: 'batchNormalization',
      description: `Put batch normalization between the linear part and the ${activation} of ${names(layers)}.`,
      code:
        `// ${layers.join(', ')}: the layer without its activation, then\n` +
        `layers.batchNormalization({ momentum: ${BN_MOMENTUM} }),\ntf.layers.activation({ activation: '${activation}' }),`,
      layers,
      settings: { layers: layers.length, placement: 'beforeActivation', momentum: BN_MOMENTUM },
      addresses,
      build: edited(fn, edit, () => []),
    };
  };

  const kernelLayers = infos.filter((i) => i.hasKernel);
  const plainDeep =
    kernelLayers.length >= LSUV_MIN_DEPTH &&
    !infos.some((i) => NORMALIZING.has(i.className) || RECURRENT.has(i.className));
  const lsuvCandidate = (addresses: FindingKind[]): Candidate | null =>
    plainDeep
      ? {
          kind: 'lsuv',
          description:
            `Rescale the ${kernelLayers.length} kernels to unit output variance with LSUV (orthogonal start, ` +
            'seeded) on a batch of the training inputs.',
          code: `await lsuv(model, xBatch, { seed: ${seed} });`,
          layers: kernelLayers.map((i) => i.name),
          settings: { layers: kernelLayers.length, seed },
          addresses,
          build: async (model, context) => {
            const copy = await cloneModel(fn, model);
            try {
              const batch = context.lsuvBatch.length === 1 ? context.lsuvBatch[0] : [...context.lsuvBatch];
              await lsuv(copy, batch as tf.Tensor, { seed: context.seed });
            } catch (err) {
              copy.dispose();
              throw err;
            }
            return compiled(copy, context.makeOptimizer(), context.loss);
          },
        }
      : null;

  const zeroBiases = (): Candidate | null => {
    // Every layer whose bias holds it below zero, not only those the probe found dead: an earlier one with a
    // negative bias passes on a few live units and is not counted dead, yet starves the rest.
    const negative = negativeBiasLayers(
      infos.filter((i) => i.hasKernel).map((i) => i.name),
      stds,
    );
    if (negative.length === 0) return null;
    const layers = negative.map((x) => x.layer);
    const edit = resetBiases(layers);
    const first = negative[0] as (typeof negative)[number];
    return {
      kind: 'initializer',
      description:
        `Start ${names(layers)} with zero biases (their kernels kept): ${first.layer}'s mean bias is ` +
        `${fmt(first.biasMean)}, which holds its units below zero.`,
      code: `// ${layers.join(', ')}:\nbiasInitializer: 'zeros',`,
      layers,
      settings: Object.fromEntries(negative.map((x) => [x.layer, 'zeros'])),
      addresses: ['deadUnits'],
      build: async (model, context) => {
        const rebuilt = rebuildModel(fn, model, edit.edit);
        copySharedWeights(model, rebuilt, edit.changed());
        // The kernels stay the user's; the biases come from the new (zero) initializer.
        for (const name of edit.changed()) {
          const layer = rebuilt.getLayer(name);
          const own = layer.getWeights();
          const theirs = model.getLayer(name).getWeights();
          layer.setWeights(
            layer.weights.map((w, i) =>
              /bias/.test(w.originalName) ? (own[i] as tf.Tensor) : (theirs[i] as tf.Tensor),
            ),
          );
        }
        return compiled(rebuilt, context.makeOptimizer(), context.loss);
      },
    };
  };

  const leaky = (layers: readonly string[], to: 'leakyRelu' | 'elu'): Candidate | null => {
    const relu = layers.filter((l) =>
      ['relu', 'Relu', 'relu6'].includes(infos.find((i) => i.name === l)?.activation ?? ''),
    );
    if (relu.length === 0) return null;
    const edit = replaceRelu(relu, to, seed);
    return {
      kind: 'activation',
      description: `Replace the ReLU of ${names(relu)} by ${to === 'elu' ? 'ELU (alpha 1)' : 'leaky ReLU (slope 0.01)'}, initialized for it, so that negative inputs still pass gradient.`,
      code: `// ${relu.join(', ')}:\nactivation: activationIdentifiers.${to},\nkernelInitializer: initializerFor('${to}'),`,
      layers: relu,
      settings: { activation: to, layers: relu.length },
      addresses: ['deadUnits'],
      build: edited(fn, edit, (changed) => changed),
    };
  };

  const push = (c: Candidate | null) => {
    if (c) add(c);
  };
  for (const f of findings) {
    switch (f.kind) {
      case 'nonFinite':
      case 'learningRateTooHigh':
      case 'unstableLoss':
        if (threshold > 0) add(clipping());
        push(lowerRate());
        break;
      case 'exploding':
        if (threshold > 0) add(clipping());
        push(initializer(['exploding']));
        push(lowerRate());
        break;
      case 'vanishing':
        push(initializer(['vanishing']));
        push(batchNorm(f.layers.length > 0 ? saturatingLayers : [], ['vanishing']));
        push(lsuvCandidate(['vanishing']));
        break;
      case 'saturated':
        push(batchNorm(f.layers, ['saturated']));
        push(initializer(['saturated']));
        break;
      case 'deadUnits':
        push(zeroBiases());
        push(leaky(f.layers, 'leakyRelu'));
        push(leaky(f.layers, 'elu'));
        push(initializer(['deadUnits']));
        break;
      case 'learningRateTooLow':
        {
          const suggested = rangeSuggestion(range);
          if (suggested !== null && suggested.rate > lr) {
            add(learningRate(suggested.rate, suggested.why, ['learningRateTooLow']));
          }
        }
        break;
    }
  }
  return out;
}

/**
 * The change no trial here can make: fewer layers or residual connections. Described, not applied, for vanishing
 * or exploding gradients that no candidate fixed.
 */
export function architectureAdvice(findings: readonly Finding[]): Candidate | null {
  const f = findings.find((x) => x.kind === 'vanishing' || x.kind === 'exploding');
  if (!f) return null;
  return {
    kind: 'architecture',
    description:
      `No trial change fixed the ${f.kind} gradients in ${names(f.layers)}: use fewer layers, or add residual ` +
      "connections (tf.layers.add of a block's input and output) so that gradient reaches the early layers directly.",
    code: `// around a block of layers:\nconst y = tf.layers.add().apply([x, block.apply(x)]);`,
    layers: f.layers,
    settings: {},
    addresses: [f.kind],
    build: null,
  };
}
