/**
 * The models the step-cost benchmarks train: each a list of variables in a fixed order and a loss on one fixed
 * batch, so that every variant of a comparison trains its own copy along the same trajectory.
 */
import * as tf from '@tensorflow/tfjs';
import { type GradientTransform, withTransforms } from '../src/index.js';
import { type BenchConfig, type BenchResult, runBench, type Variant } from './harness.js';

export const MAX_NORM = 1;
export const LEARNING_RATE = 1e-3;
const BATCH = 64;

/** A model to train: its variables in a fixed order and its loss on a fixed batch. */
export interface Problem {
  readonly varList: tf.Variable[];
  loss(): tf.Scalar;
  dispose(): void;
}

/** A {@link Variant} that owns something to free. */
export interface DisposableVariant extends Variant {
  dispose(): void;
}

/** A `tf.layers` model trained on `x -> y` with `loss`. */
function layersProblem(model: tf.LayersModel, loss: () => tf.Scalar): Problem {
  return {
    varList: model.trainableWeights.map((w) => w.read() as tf.Variable),
    loss,
    dispose: () => model.dispose(),
  };
}

/** 6 hidden Dense layers of 256 units (relu) on 256 inputs, a Dense(10) head, softmax cross-entropy: 14 variables. */
export function mlp6x256(x: tf.Tensor2D, y: tf.Tensor2D): Problem {
  const model = tf.sequential();
  for (let i = 0; i < 6; i++) {
    model.add(
      tf.layers.dense({
        units: 256,
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed: i + 1 }),
        ...(i === 0 ? { inputShape: [256] } : {}),
      }),
    );
  }
  model.add(tf.layers.dense({ units: 10, kernelInitializer: tf.initializers.glorotUniform({ seed: 7 }) }));
  return layersProblem(model, () => tf.losses.softmaxCrossEntropy(y, model.apply(x) as tf.Tensor) as tf.Scalar);
}

/** 100 raw tanh layers of 16 units (a [16,16] kernel and a [16] bias each), MSE: 200 small variables. */
export function deep16(x: tf.Tensor2D, y: tf.Tensor2D): Problem {
  const layers: { w: tf.Variable; b: tf.Variable }[] = [];
  for (let i = 0; i < 100; i++) {
    layers.push({
      w: tf.variable(tf.randomNormal([16, 16], 0, 1 / 4, 'float32', 1000 + i), true),
      b: tf.variable(tf.zeros([16]), true),
    });
  }
  return {
    varList: layers.flatMap((l) => [l.w, l.b]),
    loss: () => {
      let h: tf.Tensor = x;
      for (const l of layers) h = tf.tanh(tf.add(tf.matMul(h, l.w), l.b));
      return tf.losses.meanSquaredError(y, h) as tf.Scalar;
    },
    dispose: () => tf.dispose(layers.flatMap((l) => [l.w, l.b])),
  };
}

/** Digits per operand of the addition-rnn model, as tfjs-examples' default. */
const DIGITS = 2;
/** '0'-'9', '+' and ' '. */
const VOCABULARY = 12;
/**
 * tfjs-examples' addition-rnn trains on batches of 128; 32 here: a smaller batch makes the per-step cost of clipping
 * and monitoring larger relative to the step (the harder case for them), and keeps the cpu backend's runs in minutes.
 */
const RNN_BATCH = 32;

/**
 * tfjs-examples' addition-rnn with its LSTM option: an LSTM(128) encoder over "ab+cd" (5 one-hot steps of 12
 * symbols), RepeatVector(3), an LSTM(128) decoder returning sequences, TimeDistributed(Dense(12)), softmax
 * cross-entropy on a batch of 32: 8 variables, 0.20 M weights, and many small kernels per step (the unrolled
 * recurrence).
 */
export function additionRnn(x: tf.Tensor3D, y: tf.Tensor3D): Problem {
  const inputLength = DIGITS + 1 + DIGITS;
  const model = tf.sequential();
  model.add(
    tf.layers.lstm({
      units: 128,
      recurrentInitializer: tf.initializers.glorotNormal({ seed: 1 }),
      kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }),
      inputShape: [inputLength, VOCABULARY],
    }),
  );
  model.add(tf.layers.repeatVector({ n: DIGITS + 1 }));
  model.add(
    tf.layers.lstm({
      units: 128,
      recurrentInitializer: tf.initializers.glorotNormal({ seed: 3 }),
      kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }),
      returnSequences: true,
    }),
  );
  model.add(
    tf.layers.timeDistributed({
      layer: tf.layers.dense({ units: VOCABULARY, kernelInitializer: tf.initializers.glorotUniform({ seed: 5 }) }),
    }),
  );
  return layersProblem(model, () => tf.losses.softmaxCrossEntropy(y, model.apply(x) as tf.Tensor) as tf.Scalar);
}

/** A random batch for {@link additionRnn}: one-hot questions and answers (not real sums: the cost is the same). */
export function additionData(): { x: tf.Tensor3D; y: tf.Tensor3D } {
  return tf.tidy(() => ({
    x: tf
      .oneHot(tf.randomUniformInt([RNN_BATCH, 2 * DIGITS + 1], 0, VOCABULARY, 5), VOCABULARY)
      .toFloat() as tf.Tensor3D,
    y: tf.oneHot(tf.randomUniformInt([RNN_BATCH, DIGITS + 1], 0, VOCABULARY, 6), VOCABULARY).toFloat() as tf.Tensor3D,
  }));
}

export function classification(inputs: number, classes: number): () => { x: tf.Tensor2D; y: tf.Tensor2D } {
  return () => ({
    x: tf.randomNormal([BATCH, inputs], 0, 1, 'float32', 1),
    y: tf.tidy(() => tf.oneHot(tf.randomUniformInt([BATCH], 0, classes, 2), classes) as tf.Tensor2D),
  });
}

export function regression(inputs: number, outputs: number): () => { x: tf.Tensor2D; y: tf.Tensor2D } {
  return () => ({
    x: tf.randomNormal([BATCH, inputs], 0, 1, 'float32', 3),
    y: tf.randomNormal([BATCH, outputs], 0, 0.5, 'float32', 4),
  });
}

/** A model of each kind the step-cost benchmarks compare on, built `copies` times on one fixed batch. */
export interface ProblemSet {
  readonly id: string;
  readonly title: string;
  readonly problems: readonly Problem[];
  dispose(): void;
}

export type ProblemKind = 'mlp-6x256' | 'deep-16x100' | 'lstm-addition';

export function problemSet(kind: ProblemKind, copies: number): ProblemSet {
  const make = (data: tf.Tensor[], build: () => Problem, title: string): ProblemSet => {
    const problems = Array.from({ length: copies }, build);
    return {
      id: kind,
      title,
      problems,
      dispose: () => {
        for (const p of problems) p.dispose();
        tf.dispose(data);
      },
    };
  };
  switch (kind) {
    case 'mlp-6x256': {
      const { x, y } = classification(256, 10)();
      return make([x, y], () => mlp6x256(x, y), '6x256 Dense MLP, batch 64, Adam');
    }
    case 'deep-16x100': {
      const { x, y } = regression(16, 16)();
      return make([x, y], () => deep16(x, y), '200 small variables (100 layers of [16,16] + [16]), batch 64, Adam');
    }
    case 'lstm-addition': {
      const { x, y } = additionData();
      return make([x, y], () => additionRnn(x, y), "tfjs-examples' addition-rnn (LSTM 128, 2 digits), batch 32, Adam");
    }
  }
}

/** Reads the last variable (updated by the last step) asynchronously: the step's work is then finished. */
export function syncOn(p: Problem): () => Promise<void> {
  const last = p.varList[p.varList.length - 1] as tf.Variable;
  return async () => {
    await last.data();
  };
}

/** `optimizer.minimize(loss, false, varList)` on `p`, as a variant named `name`. */
export function minimizing(name: string, p: Problem, optimizer: tf.Optimizer): DisposableVariant {
  return {
    name,
    step: () => {
      optimizer.minimize(() => p.loss(), false, p.varList);
    },
    sync: syncOn(p),
    dispose: () => optimizer.dispose(),
  };
}

export function bare(p: Problem): DisposableVariant {
  return minimizing('bare adam', p, tf.train.adam(LEARNING_RATE));
}

/** `withTransforms(tf.train.adam(1e-3), ...transforms)` on `p`. */
export function transformed(name: string, p: Problem, ...transforms: GradientTransform[]): DisposableVariant {
  return minimizing(name, p, withTransforms(tf.train.adam(LEARNING_RATE), ...transforms));
}

/**
 * Compares variants, each on its own copy of one kind of model (same initial weights): `makeVariants` gets one
 * copy per variant and returns them, the baseline first. Frees the variants and the models afterwards.
 */
export async function compareOn(
  kind: ProblemKind,
  copies: number,
  makeVariants: (problem: (i: number) => Problem) => readonly DisposableVariant[],
  config: Omit<BenchConfig, 'id' | 'title' | 'baseline' | 'candidates'>,
): Promise<BenchResult> {
  const set = problemSet(kind, copies);
  let variants: readonly DisposableVariant[] = [];
  try {
    variants = makeVariants((i) => {
      const p = set.problems[i];
      if (!p) throw new Error(`compareOn(${kind}): only ${copies} copies of the model`);
      return p;
    });
    const [baseline, ...candidates] = variants as [DisposableVariant, ...DisposableVariant[]];
    return await runBench({ ...config, id: set.id, title: set.title, baseline, candidates });
  } finally {
    for (const v of variants) v.dispose();
    set.dispose();
  }
}
