/**
 * What does `GradientHealthMonitor` cost in a training step, next to a bare optimizer and next to the naive
 * monitor of W&B `watch` / Lightning `grad_norm` (a norm per parameter tensor, each read on the host)?
 */
import * as tf from '@tensorflow/tfjs';
import {
  clipByGlobalNorm,
  GradientHealthMonitor,
  type GradientHealthMonitorOptions,
  type GradientTransform,
  withTransforms,
} from '../src/index.js';
import { ours } from './clipping.bench.js';
import type { BenchResult } from './harness.js';
import {
  bare,
  compareOn,
  type DisposableVariant,
  LEARNING_RATE,
  MAX_NORM,
  type Problem,
  type ProblemKind,
  syncOn,
} from './problems.js';
import type { BenchSuite, SuiteContext } from './suite.js';

/**
 * The targets: at most 3% over a bare Adam step recording every step, 1.5% recording every 10th, and a
 * monitor chained with clipping at most 0.01 bare steps over the clipping alone.
 */
const TARGET_EVERY_1 = 1.03;
const TARGET_EVERY_10 = 1.015;
const TARGET_WITH_CLIP_EXCESS = 0.01;
/** The longest recording interval and the monitor's default `sampleEvery`: blocks hold whole multiples of it. */
const CYCLE = 10;

const EVERY_1 = 'monitor (every 1)';
const EVERY_10 = 'monitor (every 10)';
const WITH_CLIP = 'monitor (every 10) + clip';
const NAIVE = 'naive (norm + dataSync per variable)';
const NORM_COLUMN = 'last global grad norm (read back)';
const STEPS_COLUMN = 'steps read back';

const fmtNorm = (x: number | undefined): string => (x === undefined ? '?' : x.toPrecision(5));

/**
 * `withTransforms(tf.train.adam(1e-3), monitor.tap, ...after)` stepping with `minimize(loss, false, varList)`. A
 * block ends with `await monitor.flush()` (the read started by the block's last read step, and any still pending)
 * and then an async read of the last bias, so the monitor's read work is inside the timed block and nothing is left
 * pending from one block to the next.
 */
function monitored(
  name: string,
  p: Problem,
  options: GradientHealthMonitorOptions,
  ...after: GradientTransform[]
): DisposableVariant {
  const monitor = new GradientHealthMonitor(options);
  const optimizer = withTransforms(tf.train.adam(LEARNING_RATE), monitor.tap, ...after);
  const last = syncOn(p);
  return {
    name,
    step: () => {
      optimizer.minimize(() => p.loss(), false, p.varList);
    },
    sync: async () => {
      await monitor.flush();
      await last();
    },
    extra: () => {
      const history = monitor.history;
      return {
        [NORM_COLUMN]: fmtNorm(history[history.length - 1]?.globalNorm),
        [STEPS_COLUMN]: `${history.length} of ${monitor.steps}`,
      };
    },
    dispose: () => {
      optimizer.dispose();
      monitor.dispose();
    },
  };
}

/**
 * The naive monitor, as W&B `watch` (a per-parameter gradient hook that reads its statistics with `.tolist()`)
 * and Lightning's `grad_norm` (a norm per parameter, each logged with `.item()`) do it: after the backward pass,
 * one `tf.norm` per gradient tensor, each read with `dataSync()`, then the update. The global norm is summed on
 * the host from the per-tensor norms (no extra read).
 */
function naive(p: Problem): DisposableVariant {
  const optimizer = tf.train.adam(LEARNING_RATE);
  let steps = 0;
  let globalNorm: number | undefined;
  return {
    name: NAIVE,
    step: () => {
      tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => p.loss(), p.varList);
        let squares = 0;
        for (const g of Object.values(grads)) {
          const norm = tf.norm(g).dataSync()[0] as number;
          squares += norm * norm;
        }
        globalNorm = Math.sqrt(squares);
        steps++;
        // tfjs types this argument as a map of Variables; at run time it takes gradient tensors (as minimize does).
        optimizer.applyGradients(grads as unknown as Parameters<typeof optimizer.applyGradients>[0]);
        value.dispose();
      });
    },
    sync: syncOn(p),
    extra: () => ({ [NORM_COLUMN]: fmtNorm(globalNorm), [STEPS_COLUMN]: `${steps} of ${steps}` }),
    dispose: () => optimizer.dispose(),
  };
}

interface Sizes {
  readonly rounds: number;
  readonly steps: number;
}

const roundUp = (n: number, k: number) => Math.ceil(n / k) * k;

async function compare(
  ctx: SuiteContext,
  kind: ProblemKind,
  sizes: { full: Sizes; quick: Sizes },
): Promise<BenchResult> {
  const s = ctx.quick ? sizes.quick : sizes.full;
  return compareOn(
    kind,
    6,
    (p) => [
      bare(p(0)),
      ours(p(1)),
      monitored(EVERY_1, p(2), { every: 1 }),
      monitored(EVERY_10, p(3), { every: 10 }),
      monitored(WITH_CLIP, p(4), { every: 10 }, clipByGlobalNorm(MAX_NORM)),
      naive(p(5)),
    ],
    {
      targets: { [EVERY_1]: TARGET_EVERY_1, [EVERY_10]: TARGET_EVERY_10 },
      excessTargets: { [WITH_CLIP]: { over: 'clipByGlobalNorm', target: TARGET_WITH_CLIP_EXCESS } },
      // The weight snapshots behind the update ratio and the read buffers are made at the first step (in warm-up)
      // and reused after: the tensor count is the same after every step, so the leak column must read "none".
      warmup: 5,
      // Blocks and the counting steps hold whole cycles of 10 steps: the every-10 monitors record and read exactly
      // once per block (a flush only waits for that read) and every monitor weighs the weights once per block.
      countSteps: CYCLE,
      rounds: ctx.rounds ?? s.rounds,
      stepsPerBlock: roundUp(ctx.steps ?? s.steps, CYCLE),
      log: ctx.log,
    },
  );
}

const suite: BenchSuite = {
  id: 'monitor',
  title: 'GradientHealthMonitor: cost per training step',
  description: [
    'One Adam (lr 1e-3) training step, `optimizer.minimize(loss, false, varList)`, on the models of the clipping',
    'benchmark (mlp-6x256, deep-16x100, lstm-addition; see there), for six variants, each with its own copy of the',
    'model (same initial weights, so all follow the same trajectory):',
    '',
    '- **bare adam** (baseline): `tf.train.adam(1e-3)`.',
    '- **clipByGlobalNorm**: `withTransforms(tf.train.adam(1e-3), clipByGlobalNorm(1))`, the reference for the',
    '  monitor chained with clipping.',
    `- **${EVERY_1}**: \`withTransforms(tf.train.adam(1e-3), monitor.tap)\` with`,
    '  `new GradientHealthMonitor({ every: 1 })`: every step recorded: per layer the gradient norm, max |g| and',
    '  non-finite count and the global norm, packed on the device into one vector and read with one async `data()`',
    '  per step; with the default `sampleEvery: 10`, also the weight norms and update ratios every 10th step.',
    `- **${EVERY_10}**: the same with \`{ every: 10 }\`: one step in 10 is recorded (the full figures); the other`,
    '  nine compute only one sum of squares per variable (enough to catch a non-finite step or a norm spike, and',
    '  which layers went non-finite); the figures of 10 steps are read with one async `data()`.',
    `- **${WITH_CLIP}**: \`withTransforms(adam, monitor.tap, clipByGlobalNorm(1))\` with \`{ every: 10 }\`: the`,
    '  clip reuses the sums of squares the tap computed.',
    `- **${NAIVE}**: the naive monitor of W&B \`watch\` (a hook per parameter reading its statistics with`,
    "  `.tolist()`) and Lightning's `grad_norm` (a norm per parameter, each logged with `.item()`):",
    '  `tf.variableGrads`, then per gradient tensor `tf.norm(g).dataSync()` (one blocking read per variable; the',
    '  global norm is summed on the host), then `optimizer.applyGradients`. It measures less than the monitor (no',
    '  max |g|, no non-finite count, no weight norms), for context (no target).',
    '',
    `Targets: ${EVERY_1} <= ${TARGET_EVERY_1}, ${EVERY_10} <= ${TARGET_EVERY_10}, ${WITH_CLIP} <= clipByGlobalNorm +`,
    `${TARGET_WITH_CLIP_EXCESS} baseline steps (median over rounds of (its ms - clip ms) / baseline ms).`,
    `Blocks are whole multiples of ${CYCLE} steps (\`--steps\` is rounded up to one), as are the steps over which reads`,
    'and leaks are counted: each block holds exactly one weight sample per monitor and exactly one read of the',
    "every-10 monitors. A monitor's block ends with `await monitor.flush()`, which waits for its read in flight (and",
    'reads anything still pending), then an async read of the last bias: the read work is inside the timed block',
    'and nothing is carried from one block to the next. The last two columns are read after the timed rounds: the',
    'global gradient norm of the last recorded step as each monitor read it back (the same model and data',
    'everywhere, so the values agree), and how many of the steps observed are in the history (all of them with',
    '`every: 1`, one in 10 with `every: 10`).',
    '',
    'Each round times one block of N steps of every variant, in the order listed, reversed every other round',
    '(a full GC before each block). The ratio is the median over rounds of (variant ms / baseline ms in the same',
    'round), with a 95% bootstrap interval of that median and its IQR. Targets are checked against the interval:',
    '**met** when it lies wholly at or under the target, **missed** when wholly above, else **unclear**. Blocking',
    'reads are `readSync` calls on the backend not nested in an async `read`; async reads are `read` calls (one',
    'per `data()`); leaks are the change of `tf.memory().numTensors` per step after warm-up; kernels are those',
    '`tf.profile` saw per step (mean of 3 steps that neither record for the every-10 monitors nor weigh, so the',
    'every-10 counts are those of the nine steps in ten that are not recorded).',
  ].join('\n'),
  async run(ctx) {
    const cpu = ctx.backend === 'cpu';
    return [
      await compare(ctx, 'mlp-6x256', {
        full: { rounds: cpu ? 8 : 16, steps: 10 },
        quick: { rounds: 3, steps: 10 },
      }),
      await compare(ctx, 'deep-16x100', { full: { rounds: 16, steps: 10 }, quick: { rounds: 3, steps: 10 } }),
      // The unrolled LSTM is slow on cpu: fewer rounds keep the suite in minutes.
      await compare(ctx, 'lstm-addition', {
        full: { rounds: cpu ? 6 : 12, steps: 10 },
        quick: { rounds: 3, steps: 10 },
      }),
    ];
  },
};

export default suite;
