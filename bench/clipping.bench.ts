/**
 * What does `clipByGlobalNorm` cost in a training step, next to a bare optimizer and next to the hand-rolled
 * global-norm clipping found in public tfjs code (which reads the norm on the host every step)?
 */
import * as tf from '@tensorflow/tfjs';
import { clipByGlobalNorm, withTransforms } from '../src/index.js';
import { type BenchConfig, type BenchResult, runBench, type Variant } from './harness.js';
import type { BenchSuite, SuiteContext } from './suite.js';

export const MAX_NORM = 1;
export const LEARNING_RATE = 1e-3;
const BATCH = 64;

/** A model to train: its variables in a fixed order and its loss on a fixed batch. */
export interface Problem {
  readonly varList: tf.Variable[];
  loss(): tf.Scalar;
  dispose(): void;
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
  const varList = model.trainableWeights.map((w) => w.read() as tf.Variable);
  return {
    varList,
    loss: () => tf.losses.softmaxCrossEntropy(y, model.apply(x) as tf.Tensor) as tf.Scalar,
    dispose: () => model.dispose(),
  };
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

/** Reads the last variable (updated by the last step) asynchronously: the step's work is then finished. */
export function syncOn(p: Problem): () => Promise<void> {
  const last = p.varList[p.varList.length - 1] as tf.Variable;
  return async () => {
    await last.data();
  };
}

export function bare(p: Problem): Variant & { dispose(): void } {
  const opt = tf.train.adam(LEARNING_RATE);
  return {
    name: 'bare adam',
    step: () => {
      opt.minimize(() => p.loss(), false, p.varList);
    },
    sync: syncOn(p),
    dispose: () => opt.dispose(),
  };
}

export function ours(p: Problem): Variant & { dispose(): void } {
  const opt = withTransforms(tf.train.adam(LEARNING_RATE), clipByGlobalNorm(MAX_NORM));
  return {
    name: 'clipByGlobalNorm',
    step: () => {
      opt.minimize(() => p.loss(), false, p.varList);
    },
    sync: syncOn(p),
    dispose: () => opt.dispose(),
  };
}

/** The wrapper with no transform: what `TransformedOptimizer` itself costs, apart from any clipping. */
function wrapperOnly(p: Problem): Variant & { dispose(): void } {
  const opt = withTransforms(tf.train.adam(LEARNING_RATE));
  return {
    name: 'withTransforms (none)',
    step: () => {
      opt.minimize(() => p.loss(), false, p.varList);
    },
    sync: syncOn(p),
    dispose: () => opt.dispose(),
  };
}

/**
 * The pattern in public tfjs code: `variableGrads`, a `tf.norm` per gradient, the global norm read on the host
 * with one `dataSync()`, a `tf.mul` per gradient when it is over the limit, then `applyGradients`.
 */
function handRolled(p: Problem): Variant & { dispose(): void } {
  const opt = tf.train.adam(LEARNING_RATE);
  let steps = 0;
  let clipped = 0;
  return {
    name: 'hand-rolled (dataSync)',
    step: () => {
      tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => p.loss(), p.varList);
        const norms = Object.values(grads).map((g) => tf.norm(g));
        const total = tf.sqrt(tf.addN(norms.map((n) => tf.square(n))));
        const norm = total.dataSync()[0] as number;
        steps++;
        let scaled = grads;
        if (norm > MAX_NORM) {
          clipped++;
          const s = MAX_NORM / norm;
          scaled = {};
          for (const [name, g] of Object.entries(grads)) scaled[name] = tf.mul(g, s);
        }
        // tfjs types this argument as a map of Variables; at run time it takes gradient tensors (as minimize does).
        opt.applyGradients(scaled as unknown as Parameters<typeof opt.applyGradients>[0]);
        value.dispose();
      });
    },
    sync: syncOn(p),
    extra: () => ({ 'clip active': `${Math.round((100 * clipped) / Math.max(1, steps))}% of steps` }),
    dispose: () => opt.dispose(),
  };
}

interface Sizes {
  readonly rounds: number;
  readonly steps: number;
}

async function compare(
  ctx: SuiteContext,
  id: string,
  title: string,
  make: (x: tf.Tensor2D, y: tf.Tensor2D) => Problem,
  inputs: () => { x: tf.Tensor2D; y: tf.Tensor2D },
  sizes: { full: Sizes; quick: Sizes },
  target: number,
): Promise<BenchResult> {
  const { x, y } = inputs();
  const problems = [make(x, y), make(x, y), make(x, y), make(x, y)] as const;
  const variants = [bare(problems[0]), ours(problems[1]), wrapperOnly(problems[2]), handRolled(problems[3])] as const;
  const s = ctx.quick ? sizes.quick : sizes.full;
  const config: BenchConfig = {
    id,
    title,
    baseline: variants[0],
    candidates: [variants[1], variants[2], variants[3]],
    targets: { [variants[1].name]: target },
    warmup: 5,
    rounds: ctx.rounds ?? s.rounds,
    stepsPerBlock: ctx.steps ?? s.steps,
    log: ctx.log,
  };
  try {
    return await runBench(config);
  } finally {
    for (const v of variants) v.dispose();
    for (const p of problems) p.dispose();
    tf.dispose([x, y]);
  }
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

const suite: BenchSuite = {
  id: 'clipping',
  title: 'Global-norm clipping: cost per training step',
  description: [
    'One Adam (lr 1e-3) training step, `optimizer.minimize(loss, false, varList)`, on a fixed random batch of 64,',
    'for four variants, each with its own copy of the model (same initial weights):',
    '',
    '- **bare adam** (baseline): `tf.train.adam(1e-3)`.',
    '- **clipByGlobalNorm**: `withTransforms(tf.train.adam(1e-3), clipByGlobalNorm(1))`.',
    '- **withTransforms (none)**: `withTransforms(tf.train.adam(1e-3))`, the wrapper with no transform: its own',
    '  cost, for context (no target).',
    '- **hand-rolled (dataSync)**: the pattern in public tfjs code: `tf.variableGrads`, `tf.norm` per gradient,',
    '  the global norm read on the host with one `dataSync()`, `tf.mul` by `maxNorm / norm` when over the limit,',
    '  then `optimizer.applyGradients`. Its "clip active" column is how often the norm was over 1.',
    '',
    'Models: **mlp-6x256** is `tf.layers` with 6 Dense(256, relu) layers on 256 inputs and a Dense(10) head,',
    'softmax cross-entropy (14 variables, 0.40 M weights); **deep-16x100** is a raw loop of 100',
    '`tanh(h W + b)` layers with W [16,16] and b [16], MSE (200 variables, 27 k weights).',
    '',
    'Each round times one block of N steps of every variant, in the order listed, reversed every other round',
    '(a full GC before each block); each block ends with an async read of the last bias. The ratio is the median',
    'over rounds of (variant ms / baseline ms in the same round), with a 95% bootstrap interval of that median',
    'and its IQR.',
    'Targets are checked against the interval: **met** when it lies wholly at or under the target, **missed** when',
    'wholly above, else **unclear**. Blocking reads are `readSync` calls on the backend not nested in an async',
    '`read`; leaks are the change of `tf.memory().numTensors` per step after warm-up; kernels are those',
    '`tf.profile` saw per step (mean of 3 steps).',
  ].join('\n'),
  async run(ctx) {
    return [
      await compare(
        ctx,
        'mlp-6x256',
        '6x256 Dense MLP, batch 64, Adam',
        mlp6x256,
        classification(256, 10),
        ctx.backend === 'cpu'
          ? { full: { rounds: 14, steps: 3 }, quick: { rounds: 4, steps: 2 } }
          : { full: { rounds: 16, steps: 10 }, quick: { rounds: 4, steps: 4 } },
        1.03,
      ),
      await compare(
        ctx,
        'deep-16x100',
        '200 small variables (100 layers of [16,16] + [16]), batch 64, Adam',
        deep16,
        regression(16, 16),
        { full: { rounds: 20, steps: 10 }, quick: { rounds: 4, steps: 4 } },
        1.1,
      ),
    ];
  },
};

export default suite;
