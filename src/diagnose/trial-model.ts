import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { isInstance } from '../internal/identity.js';
import { fail } from '../internal/validate.js';
import { TransformedOptimizer } from '../optimizer/transformed-optimizer.js';

/**
 * A copy of `model` to train on, leaving the model itself untouched: the same architecture (rebuilt from its JSON,
 * so every layer must be serializable, as for `model.save`) and the same weights. The copy's weights start as the
 * model's own buffers, shared and counted, and a training step gives them new ones (tfjs's optimizers assign new
 * values, they never write into a buffer), so the model keeps its values. Dispose the copy when done.
 */
export async function cloneModel(fn: string, model: tfl.LayersModel): Promise<tfl.LayersModel> {
  let copy: tfl.LayersModel;
  try {
    const topology = model.toJSON(null, false) as tf.io.ModelJSON['modelTopology'];
    copy = await tfl.models.modelFromJSON({ modelTopology: topology });
  } catch (err) {
    fail(fn, 'model must be serializable (every layer registered, as model.save needs)', model, String(err));
  }
  copy.setWeights(model.getWeights());
  return copy;
}

/**
 * A new optimizer of the same class and configuration as `optimizer` (its slots and `iterations` fresh), from
 * tfjs's serialization registry, as `tf.loadLayersModel` makes one; a `TransformedOptimizer` comes back with its
 * transforms, their state fresh.
 */
export function freshOptimizer(fn: string, optimizer: tf.Optimizer): tf.Optimizer {
  const name = optimizer.getClassName();
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[name];
  if (!entry) fail(fn, 'the optimizer must be a registered tfjs class (or pass options.optimizer)', name);
  const [cls, fromConfig] = entry;
  return fromConfig(cls, optimizer.getConfig()) as tf.Optimizer;
}

/** The optimizer that holds the learning rate: the inner one of a `TransformedOptimizer`, else itself. */
export function rateHolder(optimizer: tf.Optimizer): tf.Optimizer {
  return isInstance(TransformedOptimizer, optimizer) ? (optimizer as TransformedOptimizer).optimizer : optimizer;
}

/** Sets the learning rate a tfjs optimizer uses from its next step on (the inner one of a `TransformedOptimizer`). */
export function setLearningRate(fn: string, optimizer: tf.Optimizer, learningRate: number): void {
  const target = rateHolder(optimizer);
  const o = target as unknown as { setLearningRate?: (lr: number) => void; learningRate?: unknown };
  // SGD and momentum keep the rate in a scalar that setLearningRate remakes; the others read the field each step.
  if (typeof o.setLearningRate === 'function') o.setLearningRate(learningRate);
  else if (typeof o.learningRate === 'number') o.learningRate = learningRate;
  else fail(fn, 'the optimizer must have a numeric learningRate', target.getClassName());
}

/** The learning rate a tfjs optimizer steps with (the inner one's, for a `TransformedOptimizer`), or NaN. */
export function learningRateOf(optimizer: tf.Optimizer): number {
  const target = rateHolder(optimizer);
  const rate = (target as unknown as { learningRate?: unknown }).learningRate;
  return typeof rate === 'number' ? rate : Number.NaN;
}

/**
 * Disposes an optimizer made for a trial, and what tfjs's own `dispose` forgets: `MomentumOptimizer.dispose()`
 * (tfjs 4.22) frees its momentum scalar and accumulators but not the learning-rate scalar it inherits from SGD,
 * one tensor leaked per optimizer (and per trial of a diagnosis) unless it is freed here.
 */
export function disposeOptimizer(optimizer: tf.Optimizer): void {
  const target = rateHolder(optimizer);
  optimizer.dispose();
  const rate = (target as unknown as { c?: unknown }).c;
  if (target.getClassName() === 'Momentum' && rate instanceof tf.Tensor && !rate.isDisposed) rate.dispose();
}
