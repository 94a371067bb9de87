/**
 * What do the adaptive gradient transforms (`adaptiveGradClip`, `autoClip`, `zClip`) and `accumulateGradients`
 * cost in a training step, next to a bare optimizer, on the 6x256 MLP of the clipping benchmark?
 */
import * as tf from '@tensorflow/tfjs';
import {
  accumulateGradients,
  adaptiveGradClip,
  autoClip,
  type GradientTransform,
  type TransformedOptimizer,
  withTransforms,
  zClip,
} from '../src/index.js';
import { ours } from './clipping.bench.js';
import { type BenchConfig, type BenchResult, runBench, type Variant, type VariantResult } from './harness.js';
import { bare, classification, LEARNING_RATE, mlp6x256, type Problem, syncOn } from './problems.js';
import type { BenchSuite, SuiteContext } from './suite.js';

/** Micro-batches per update of the accumulating variant. */
const ACCUMULATE = 4;
/** The target for each of the four new transforms: at most 5% over a bare Adam step. */
const TARGET = 1.05;

const AGC = 'adaptiveGradClip()';
const AUTO = 'autoClip()';
const Z = 'zClip()';
const ACC = `accumulateGradients({steps: ${ACCUMULATE}})`;

interface Transformed extends Variant {
  readonly optimizer: TransformedOptimizer;
  dispose(): void;
}

/** `withTransforms(tf.train.adam(1e-3), transform)` stepping with `minimize(loss, false, varList)`. */
function transformed(name: string, p: Problem, transform: GradientTransform): Transformed {
  const optimizer = withTransforms(tf.train.adam(LEARNING_RATE), transform);
  return {
    name,
    optimizer,
    step: () => {
      optimizer.minimize(() => p.loss(), false, p.varList);
    },
    sync: syncOn(p),
    dispose: () => optimizer.dispose(),
  };
}

const num = (x: number | number[] | undefined): string =>
  typeof x === 'number' ? (Number.isFinite(x) ? x.toPrecision(3) : String(x)) : '?';
const count = (x: number | number[] | undefined): string => (typeof x === 'number' ? String(Math.round(x)) : '?');

/**
 * The last step's figures from the transform state (read once, asynchronously, after the timed rounds): context
 * only. By then the fixed batch is nearly fitted and the norms are tiny; the cost does not depend on them, as no
 * transform branches on data.
 */
async function lastStep(name: string, optimizer: TransformedOptimizer): Promise<string> {
  const s = await optimizer.readState();
  switch (name) {
    case AGC:
      return `norm ${num(s['0/norm'])} -> ${num(s['0/clippedNorm'])}, ${count(s['0/clippedUnits'])} units clipped`;
    case AUTO:
      return `norm ${num(s['0/norm'])}, threshold ${num(s['0/threshold'])}`;
    case Z:
      return `norm ${num(s['0/norm'])}, threshold ${num(s['0/threshold'])}`;
    case ACC:
      return `${count(s['0/count'])} of ${ACCUMULATE} micro-batches pending`;
    default:
      return '';
  }
}

const COLUMN = 'state after the run (readState)';

function withExtra(result: BenchResult, extra: ReadonlyMap<string, string>): BenchResult {
  const variants = result.variants.map(
    (v): VariantResult => ({ ...v, extra: { ...v.extra, [COLUMN]: extra.get(v.name) ?? '' } }),
  );
  return { ...result, variants };
}

interface Sizes {
  readonly rounds: number;
  readonly steps: number;
}

const roundUp = (n: number, k: number) => Math.ceil(n / k) * k;

async function compare(ctx: SuiteContext, sizes: { full: Sizes; quick: Sizes }): Promise<BenchResult> {
  const { x, y } = classification(256, 10)();
  const problems = Array.from({ length: 6 }, () => mlp6x256(x, y));
  const p = (i: number) => problems[i] as Problem;
  const base = bare(p(0));
  const adaptive = [
    transformed(AGC, p(1), adaptiveGradClip()),
    transformed(AUTO, p(2), autoClip()),
    transformed(Z, p(3), zClip()),
    transformed(ACC, p(4), accumulateGradients({ steps: ACCUMULATE })),
  ];
  const fixed = ours(p(5));
  const s = ctx.quick ? sizes.quick : sizes.full;
  // Blocks (and the counting steps) hold whole accumulation cycles, so that each has the same share of updates.
  const steps = roundUp(ctx.steps ?? s.steps, ACCUMULATE);
  const config: BenchConfig = {
    id: 'mlp-6x256',
    title: '6x256 Dense MLP, batch 64, Adam',
    baseline: base,
    candidates: [...adaptive, fixed],
    targets: Object.fromEntries(adaptive.map((v) => [v.name, TARGET])),
    warmup: 2 * ACCUMULATE,
    rounds: ctx.rounds ?? s.rounds,
    stepsPerBlock: steps,
    log: ctx.log,
  };
  try {
    const result = await runBench(config);
    const extra = new Map<string, string>();
    for (const v of adaptive) extra.set(v.name, await lastStep(v.name, v.optimizer));
    return withExtra(result, extra);
  } finally {
    for (const v of [base, ...adaptive, fixed]) v.dispose();
    for (const q of problems) q.dispose();
    tf.dispose([x, y]);
  }
}

const suite: BenchSuite = {
  id: 'adaptive-clipping',
  title: 'Adaptive clipping and gradient accumulation: cost per training step',
  description: [
    'One Adam (lr 1e-3) training step, `optimizer.minimize(loss, false, varList)`, on the **mlp-6x256** model of the',
    'clipping benchmark (6 Dense(256, relu) layers on 256 inputs and a Dense(10) head, softmax cross-entropy, 14',
    'variables, 0.40 M weights) and a fixed random batch of 64, for six variants, each with its own copy of the',
    'model (same initial weights):',
    '',
    '- **bare adam** (baseline): `tf.train.adam(1e-3)`.',
    '- **adaptiveGradClip()**: `withTransforms(tf.train.adam(1e-3), adaptiveGradClip())` (clipping 0.01, eps',
    '  1e-3, no variable excluded; the wrapper passes the weights).',
    '- **autoClip()**: `withTransforms(tf.train.adam(1e-3), autoClip())` (10th percentile of a window of 1000 norms).',
    '- **zClip()**: `withTransforms(tf.train.adam(1e-3), zClip())` (alpha 0.97, z 2.5, 25 warm-up steps).',
    `- **${ACC}**: \`withTransforms(tf.train.adam(1e-3), ${ACC})\`. Here a **step is one micro-batch**`,
    `  call of \`minimize\`: forward, backward and accumulation every call, Adam's update on every ${ACCUMULATE}th.`,
    `  Blocks (and the steps over which reads and leaks are counted) are whole multiples of ${ACCUMULATE} calls`,
    `  (\`--steps\` is rounded up to one), so its ratio is the mean cost of a call over whole cycles. Its`,
    '  kernels/step is the mean of 3 calls that only accumulate (the profile starts at the first call of a cycle).',
    '- **clipByGlobalNorm**: `withTransforms(tf.train.adam(1e-3), clipByGlobalNorm(1))`, for context (no target;',
    '  see the clipping block for its own benchmark).',
    '',
    `The target (**<= ${TARGET}**) applies to each of the four new transforms. Every transform computes on the`,
    'device and branches on nothing, so a step costs the same whether its clip is active or not; the last column is',
    'the transform state after the timed rounds, read once with `await optimizer.readState()`, to show what the',
    'transform was doing on this problem.',
    '',
    'Each round times one block of N steps of every variant, in the order listed, reversed every other round',
    '(a full GC before each block); each block ends with an async read of the last bias (on cpu and wasm every',
    'kernel runs inside the call that launches it, so the block holds all its work). The ratio is the median over',
    'rounds of (variant ms / baseline ms in the same round), with a 95% bootstrap interval of that median and its',
    'IQR. Targets are checked against the interval: **met** when it lies wholly at or under the target, **missed**',
    'when wholly above, else **unclear**. Blocking reads are `readSync` calls on the backend not nested in an async',
    '`read`; leaks are the change of `tf.memory().numTensors` per step after warm-up; kernels are those',
    '`tf.profile` saw per step (mean of 3 steps).',
  ].join('\n'),
  async run(ctx) {
    return [
      await compare(
        ctx,
        ctx.backend === 'cpu'
          ? { full: { rounds: 12, steps: 4 }, quick: { rounds: 4, steps: 4 } }
          : { full: { rounds: 16, steps: 8 }, quick: { rounds: 4, steps: 4 } },
      ),
    ];
  },
};

export default suite;
