import * as tf from '@tensorflow/tfjs-core';
import { threeDigits } from '../internal/describe.js';
import { fail } from '../internal/validate.js';
import { disposeOptimizer, freshOptimizer, learningRateOf, rateHolder, setLearningRate } from './trial-model.js';

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
export function optimizerMaker(
  fn: string,
  source: OptimizerSource,
  mustNotReturn: readonly unknown[] = [],
): OptimizerMaker {
  let make: () => tf.Optimizer;
  if (typeof source === 'function') {
    // Each trial disposes its optimizer: a factory that hands back one it made before (or the model's own) would
    // have the user's optimizer disposed under them.
    const seen = new WeakSet<object>(mustNotReturn.filter((o): o is object => typeof o === 'object' && o !== null));
    make = () => {
      let made: unknown;
      try {
        made = (source as () => unknown)();
      } catch (err) {
        fail(fn, 'options.optimizer threw when called (it takes no argument)', source, String(err));
      }
      if (!(made instanceof tf.Optimizer)) fail(fn, 'options.optimizer must return a tf.Optimizer', made);
      if (seen.has(made)) {
        fail(fn, "options.optimizer must return a new tf.Optimizer on each call (not the model's own)", made);
      }
      seen.add(made);
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
  if (typeof source === 'function') {
    // A second call up front: a factory that returns one optimizer every time fails here, before anything of the
    // user's is disposed.
    disposeOptimizer(make());
  }
  const learningRate = learningRateOf(sample);
  const sampleClass = rateHolder(sample).getClassName();
  if (sampleClass in FACTORIES && !(Number.isFinite(learningRate) && learningRate > 0)) {
    disposeOptimizer(sample);
    // (A factory written for lrRangeTest, `(lr) => tf.train.sgd(lr)`, called here without an argument.)
    fail(
      fn,
      'options.optimizer must make an optimizer with a finite learning rate > 0 (the factory takes no argument)',
      learningRate,
    );
  }
  const inner = rateHolder(sample);
  const className = inner.getClassName();
  const config = inner.getConfig();
  const wrapped = inner !== sample;
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

const num = (x: unknown): string => (typeof x === 'number' ? threeDigits(x) : String(x));

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
    : `optimizer /* your ${className}, at learning rate ${num(learningRate)} */`;
  return wrapped ? `withTransforms(${made}, /* your transforms */)` : made;
}
