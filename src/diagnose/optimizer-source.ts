import * as tf from '@tensorflow/tfjs-core';
import { isInstance } from '../internal/identity.js';
import { fail } from '../internal/validate.js';
import { TransformedOptimizer } from '../optimizer/transformed-optimizer.js';
import { disposeOptimizer, freshOptimizer, learningRateOf, setLearningRate } from './trial-model.js';

/** Where a diagnosis gets its optimizers: a factory, or an optimizer whose class and configuration it copies. */
export type OptimizerSource = tf.Optimizer | (() => tf.Optimizer);

/** Makes fresh optimizers, each with the source's learning rate or the one asked for. */
export interface OptimizerMaker {
  (learningRate?: number): tf.Optimizer;
  /** The learning rate the source's optimizers step with (NaN when it has none). */
  readonly learningRate: number;
  /** The class name of the optimizers made (of the inner one, for a `TransformedOptimizer`). */
  readonly className: string;
  /** The TypeScript that makes such an optimizer with a given learning rate. */
  code(learningRate?: number): string;
}

/**
 * An {@link OptimizerMaker} for `source`. An optimizer is copied by class and configuration now (later changes to it
 * do not reach the copies, and it may be disposed); a factory is called for each copy and must return a new
 * `tf.Optimizer` every time.
 */
export function optimizerMaker(fn: string, source: OptimizerSource): OptimizerMaker {
  let make: () => tf.Optimizer;
  if (typeof source === 'function') {
    make = () => {
      const made: unknown = source();
      if (!(made instanceof tf.Optimizer)) fail(fn, 'options.optimizer must return a tf.Optimizer', made);
      return made;
    };
  } else if (source instanceof tf.Optimizer) {
    const template = freshOptimizer(fn, source); // checks now that the class is registered
    const className = template.getClassName();
    const config = template.getConfig();
    disposeOptimizer(template);
    make = () => freshOptimizer(fn, { getClassName: () => className, getConfig: () => config } as tf.Optimizer);
  } else {
    fail(fn, 'options.optimizer must be a tf.Optimizer or a function that makes one', source);
  }
  const sample = make();
  const learningRate = learningRateOf(sample);
  const inner = isInstance(TransformedOptimizer, sample) ? (sample as TransformedOptimizer).optimizer : sample;
  const className = inner.getClassName();
  const config = inner.getConfig();
  const wrapped = isInstance(TransformedOptimizer, sample);
  disposeOptimizer(sample);
  const maker = (rate?: number): tf.Optimizer => {
    const optimizer = make();
    if (rate !== undefined) setLearningRate(fn, optimizer, rate);
    return optimizer;
  };
  return Object.assign(maker, {
    learningRate,
    className,
    code: (rate?: number) => optimizerCode(className, config, rate ?? learningRate, wrapped),
  });
}

const num = (x: unknown): string => (typeof x === 'number' ? String(Number(x.toPrecision(3))) : String(x));

/** The `tf.train` factory and the config keys it takes in order, after the learning rate. */
const FACTORIES: Record<string, readonly [string, readonly string[]]> = {
  SGD: ['sgd', []],
  Momentum: ['momentum', ['momentum', 'useNesterov']],
  Adam: ['adam', ['beta1', 'beta2', 'epsilon']],
  Adamax: ['adamax', ['beta1', 'beta2', 'epsilon', 'decay']],
  RMSProp: ['rmsprop', ['decay', 'momentum', 'epsilon', 'centered']],
  Adagrad: ['adagrad', ['initialAccumulatorValue']],
  Adadelta: ['adadelta', ['rho', 'epsilon']],
};

/**
 * `tf.train.adam(0.001, 0.9, 0.999, 1e-7)` for an optimizer's class and configuration, the learning rate replaced;
 * the transforms of a `TransformedOptimizer` are named in a comment (their settings are the user's own code).
 */
export function optimizerCode(
  className: string,
  config: tf.serialization.ConfigDict,
  learningRate: number,
  wrapped = false,
): string {
  const factory = FACTORIES[className];
  const made = factory
    ? `tf.train.${factory[0]}(${[num(learningRate), ...factory[1].map((k) => num(config[k]))].join(', ')})`
    : `/* your ${className} optimizer, learningRate ${num(learningRate)} */`;
  return wrapped ? `withTransforms(${made}, /* your transforms */)` : made;
}
