import * as tf from '@tensorflow/tfjs-core';
import { GradStabError } from '../errors.js';
import type { NamedTensor } from '../internal/grads.js';
import { fail, isPlainObject, withoutNulls } from '../internal/validate.js';

/**
 * The checks of {@link TransformedOptimizer}'s input: the optimizer it wraps, the gradients and weights it is handed,
 * and the loading of a saved one (a corrupt saved config must give a GradStabError, not a TypeError from tfjs's
 * registry or a string tensor for a learning rate).
 */

/**
 * Whether `value` is a tf.Optimizer. `tf.Optimizer`'s own `instanceof` is duck-typed (and throws on null), so this
 * checks the prototype chain: built-in optimizers and subclasses of tf.Optimizer pass.
 */
export function isOptimizer(value: unknown): value is tf.Optimizer {
  return (
    value !== null && typeof value === 'object' && Object.prototype.isPrototypeOf.call(tf.Optimizer.prototype, value)
  );
}

/** The arguments of tfjs's own optimizers' saved configs: which are required, and which are booleans. */
const TFJS_OPTIMIZERS: Readonly<
  Record<string, { readonly required: readonly string[]; readonly optional: readonly string[] }>
> = {
  SGD: { required: ['learningRate'], optional: [] },
  Momentum: { required: ['learningRate', 'momentum'], optional: ['useNesterov'] },
  Adagrad: { required: ['learningRate'], optional: ['initialAccumulatorValue'] },
  Adadelta: { required: ['learningRate', 'rho'], optional: ['epsilon'] },
  Adam: { required: ['learningRate', 'beta1', 'beta2'], optional: ['epsilon'] },
  Adamax: { required: ['learningRate', 'beta1', 'beta2'], optional: ['epsilon', 'decay'] },
  RMSProp: { required: ['learningRate'], optional: ['decay', 'momentum', 'epsilon', 'centered'] },
};
const BOOLEAN_ARGS = new Set(['useNesterov', 'centered']);

/**
 * The saved config of one of tfjs's own optimizers, checked (tfjs would make a string tensor of a string learning
 * rate, and a NaN one of a missing beta): its numbers finite in float32 (tfjs makes scalars of them), its flags
 * booleans, null values taken as missing.
 */
function checkTfjsConfig(fn: string, className: string, config: Record<string, unknown>): Record<string, unknown> {
  const spec = TFJS_OPTIMIZERS[className];
  if (spec === undefined) return config;
  const checked = withoutNulls(config);
  for (const key of [...spec.required, ...spec.optional]) {
    const value = checked[key];
    const where = `config.optimizer.config.${key}`;
    if (value === undefined) {
      if (spec.required.includes(key)) fail(fn, `${where} must be given (${className} needs it)`, value);
    } else if (BOOLEAN_ARGS.has(key)) {
      if (typeof value !== 'boolean') fail(fn, `${where} must be true or false`, value);
    } else if (typeof value !== 'number' || !Number.isFinite(Math.fround(value))) {
      fail(fn, `${where} must be a number that is finite in float32 (|x| <= 3.4e38)`, value);
    }
  }
  return checked;
}

/**
 * Builds the inner optimizer of a saved wrapper from `{className, config}`: the class must be registered with tfjs
 * and be a tf.Optimizer. An error of its `fromConfig` becomes a GradStabError naming `fn`.
 */
export function loadInnerOptimizer(fn: string, saved: unknown): tf.Optimizer {
  if (!isPlainObject(saved)) fail(fn, 'config.optimizer must be an object {className, config}', saved);
  const { className } = saved;
  const map = tf.serialization.SerializationMap.getMap().classNameMap;
  // Own keys only: 'constructor' or 'toString' would find Object.prototype's.
  const entry = typeof className === 'string' && Object.hasOwn(map, className) ? map[className] : undefined;
  if (!entry) fail(fn, 'config.optimizer.className must name a registered tf.Optimizer', className);
  const [cls, fromConfig] = entry;
  if (!Object.prototype.isPrototypeOf.call(tf.Optimizer.prototype, cls.prototype)) {
    fail(fn, 'config.optimizer.className must name a tf.Optimizer, not another registered class', className);
  }
  const config = saved.config ?? {};
  if (!isPlainObject(config)) fail(fn, 'config.optimizer.config must be an object', config);
  const checked = checkTfjsConfig(fn, className as string, config);
  let optimizer: unknown;
  try {
    optimizer = fromConfig(cls, checked as tf.serialization.ConfigDict);
  } catch (e) {
    if (e instanceof GradStabError) throw e;
    throw new GradStabError(
      `${fn}: config.optimizer.config must be a config ${className} can load (it threw: ${(e as Error)?.message ?? e}), got ${JSON.stringify(checked)}.`,
    );
  }
  if (!isOptimizer(optimizer)) fail(fn, `${className}.fromConfig must return a tf.Optimizer`, optimizer);
  return optimizer;
}

/** Each gradient must be named after a live variable of its shape: tfjs's optimizers look the variables up by name. */
export function checkVariables(fn: string, grads: tf.NamedTensorMap): void {
  const registry = tf.engine().registeredVariables;
  for (const [name, g] of Object.entries(grads)) {
    const v = Object.hasOwn(registry, name) ? registry[name] : undefined;
    if (v === undefined) {
      fail(fn, 'each gradient must be named after a live tf.Variable (as tf.variableGrads names them)', name);
    }
    if (!tf.util.arraysEqual(v.shape, g.shape)) {
      fail(fn, `the gradient of ${JSON.stringify(name)} must have its variable's shape [${v.shape}]`, g);
    }
  }
}

/** Weights as tfjs hands them to `setWeights`: a list of `{name, tensor}` with live tensors. */
export function checkWeightList(fn: string, weights: unknown): void {
  if (!Array.isArray(weights)) fail(fn, 'weights must be an array of {name, tensor}', weights);
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i] as Partial<NamedTensor> | undefined;
    if (!isPlainObject(w) || typeof w.name !== 'string') fail(fn, `weights[${i}] must be an object {name, tensor}`, w);
    if (!(w.tensor instanceof tf.Tensor) || w.tensor.isDisposed) {
      fail(fn, `weights[${i}].tensor must be a live tf.Tensor`, w.tensor);
    }
  }
}
