import * as tfl from '@tensorflow/tfjs-layers';
import { activationIdentifiers } from '../activations/identifiers.js';
import { initializerFor } from '../initializers/initializer-for.js';
import { fail } from '../internal/validate.js';
import { BatchNormalizationLayer } from '../normalization/batch-norm-layer.js';

/** A layer in a model's config (tf.layers' TypeScript form, as `model.getConfig()` gives it). */
interface LayerConfig {
  className: string;
  config: Record<string, unknown>;
}

/** A model's config: the layers, and for a functional model their connections. */
interface ModelConfig {
  name?: string;
  layers: LayerConfig[];
  [key: string]: unknown;
}

/** A change to a model's architecture or initialization, made on a copy of its config. */
export type ModelEdit = (config: ModelConfig, isSequential: boolean) => void;

/**
 * A new, untrained model: `model`'s config with `edit` applied, built as `tf.loadLayersModel` builds one (every
 * layer must be registered). Weights are initialized anew by each layer's initializer; `model` is untouched.
 */
export function rebuildModel(fn: string, model: tfl.LayersModel, edit: ModelEdit): tfl.LayersModel {
  const sequential = model instanceof tfl.Sequential;
  const config = structuredClone(model.getConfig()) as unknown as ModelConfig;
  if (!Array.isArray(config.layers)) fail(fn, 'the model must have a layer list in its config', model);
  edit(config, sequential);
  const cls = (sequential ? tfl.Sequential : tfl.LayersModel) as unknown as {
    fromConfig(c: unknown, config: unknown): tfl.LayersModel;
  };
  return cls.fromConfig(cls, config);
}

/** The activation a layer config ends with, without gradstab's `gradstab` prefix, or null. */
export function activationOf(layer: LayerConfig): string | null {
  const a = layer.config.activation;
  if (typeof a !== 'string') return null;
  return a.startsWith('gradstab') ? a.slice('gradstab'.length) : a;
}

/** Activations that saturate: batch normalization before them keeps their inputs in the steep part. */
export const SATURATING = new Set(['sigmoid', 'tanh', 'hardSigmoid']);
/** The layer classes whose activation can move behind a batch normalization (no recurrence through it). */
export const FEED_FORWARD = new Set([
  'Dense',
  'Conv1D',
  'Conv2D',
  'Conv3D',
  'DepthwiseConv2D',
  'SeparableConv2D',
  'Conv2DTranspose',
  'Activation',
]);
const RELU = new Set(['relu', 'Relu', 'relu6']);

/** An edit that reports the layers it changed (it starts the list anew each time it runs). */
type TrackedEdit = { edit: ModelEdit; changed: () => string[] };

function tracked(apply: (config: ModelConfig, isSequential: boolean, changed: string[]) => void): TrackedEdit {
  const changed: string[] = [];
  return {
    changed: () => changed,
    edit: (config, isSequential) => {
      changed.length = 0;
      apply(config, isSequential, changed);
    },
  };
}

/** An initializer as a layer config holds it (what tf.layers' getConfig writes). */
function initializerConfig(init: ReturnType<typeof initializerFor>): { className: string; config: unknown } {
  return { className: init.getClassName(), config: init.getConfig() };
}

/** Layers whose kernel the initializer edit sets: those with a `kernelInitializer` and an activation. */
function kernelLayers(config: ModelConfig, names: readonly string[] | 'all'): LayerConfig[] {
  return config.layers.filter(
    (l) =>
      'kernelInitializer' in l.config &&
      activationOf(l) !== null &&
      (names === 'all' || names.includes(String(l.config.name))),
  );
}

/**
 * Gives each named layer (or every layer with a kernel) the initializer its activation calls for
 * (`initializerFor`: He for the ReLU family, Xavier for sigmoid and tanh, LeCun for SELU and linear), seeded
 * `seed + i` for the i-th layer changed so that the candidate is reproducible. Returns the layers changed.
 */
export function matchInitializers(names: readonly string[] | 'all', seed: number): TrackedEdit {
  return tracked((config, _, changed) => {
    kernelLayers(config, names).forEach((layer, i) => {
      let init: ReturnType<typeof initializerFor>;
      try {
        init = initializerFor(activationOf(layer) as string, { seed: seed + i });
      } catch {
        return; // an activation initializerFor does not know keeps its initializer
      }
      layer.config.kernelInitializer = initializerConfig(init);
      changed.push(String(layer.config.name));
    });
  });
}

/**
 * Replaces the ReLU activation of the named layers by a non-saturating one that still passes gradient for negative
 * inputs (gradstab's leaky ReLU, slope 0.01, or ELU), with the initializer matched to it. Returns the layers changed.
 */
export function replaceRelu(names: readonly string[], to: 'leakyRelu' | 'elu', seed: number): TrackedEdit {
  return tracked((config, _, changed) => {
    for (const layer of config.layers) {
      if (!names.includes(String(layer.config.name)) || !RELU.has(activationOf(layer) ?? '')) continue;
      layer.config.activation = activationIdentifiers[to];
      if ('kernelInitializer' in layer.config) {
        layer.config.kernelInitializer = initializerConfig(initializerFor(to, { seed: seed + changed.length }));
      }
      changed.push(String(layer.config.name));
    }
  });
}

/**
 * Gives the named layers a zero bias initializer (their kernels' initializers kept): the remedy for units a
 * negative bias holds below zero. Returns the layers changed.
 */
export function resetBiases(names: readonly string[]): TrackedEdit {
  return tracked((config, _, changed) => {
    for (const layer of config.layers) {
      const name = String(layer.config.name);
      if (!names.includes(name) || !('biasInitializer' in layer.config)) continue;
      layer.config.biasInitializer = { className: 'Zeros', config: {} };
      changed.push(name);
    }
  });
}

/**
 * In a sequential model, puts batch normalization between each named layer's linear part and its saturating
 * activation (sigmoid, tanh): `Dense(activation: 'sigmoid')` becomes `Dense(linear)`, gradstab's batch
 * normalization, `Activation('sigmoid')` (Ioffe & Szegedy 2015 normalize before the nonlinearity). Returns the
 * layers changed; a functional model is left as it is (its connections would need rewiring). `momentum` is the
 * normalization's (Keras convention; its default 0.99 when not given).
 */
export function batchNormBeforeActivations(names: readonly string[] | 'all', momentum?: number): TrackedEdit {
  return tracked((config, isSequential, changed) => {
    if (!isSequential) return;
    const out: LayerConfig[] = [];
    for (const layer of config.layers) {
      out.push(layer);
      const activation = activationOf(layer);
      const name = String(layer.config.name);
      if (activation === null || !SATURATING.has(activation) || !FEED_FORWARD.has(layer.className)) continue;
      if (!(names === 'all' || names.includes(name))) continue;
      const norm = {
        className: BatchNormalizationLayer.className,
        config: { name: `${name}_bn`, ...(momentum === undefined ? {} : { momentum }) },
      };
      if (layer.className === 'Activation') {
        // Already a layer of its own: the normalization goes in front of it.
        out.splice(out.length - 1, 0, norm);
      } else {
        layer.config.activation = 'linear';
        out.push(norm, { className: 'Activation', config: { name: `${name}_${activation}`, activation } });
      }
      changed.push(name);
    }
    config.layers = out;
  });
}
