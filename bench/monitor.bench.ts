/**
 * What does `GradientHealthMonitor` cost in a training step, next to a bare optimizer and next to the naive
 * monitor of W&B `watch` / Lightning `grad_norm` (a norm per parameter tensor, each read on the host)?
 */
import * as tf from '@tensorflow/tfjs';
import { GradientHealthMonitor, type GradientHealthMonitorOptions, withTransforms } from '../src/index.js';
import { bare, classification, LEARNING_RATE, mlp6x256, type Problem, syncOn } from './clipping.bench.js';
import { type BenchConfig, type BenchResult, runBench, type Variant } from './harness.js';
import type { BenchSuite, SuiteContext } from './suite.js';

/** The targets: at most 5% over a bare Adam step reading every step, 2% reading every 10th. */
const TARGET_EVERY_1 = 1.05;
const TARGET_EVERY_10 = 1.02;
/** The longest read interval and the monitor's default `sampleEvery`: blocks hold whole multiples of it. */
const CYCLE = 10;

const EVERY_1 = 'monitor (every 1)';
const EVERY_10 = 'monitor (every 10)';
const SAMPLE_1 = 'monitor (every 1, sampleEvery 1)';
const NAIVE = 'naive (norm + dataSync per variable)';
const NORM_COLUMN = 'last global grad norm (read back)';
const STEPS_COLUMN = 'steps read back';

interface Disposable extends Variant {
  dispose(): void;
}

const fmtNorm = (x: number | undefined): string => (x === undefined ? '?' : x.toPrecision(5));

/**
 * `withTransforms(tf.train.adam(1e-3), monitor.tap)` stepping with `minimize(loss, false, varList)`. A block ends
 * with `await monitor.flush()` (the read started by the block's last read step, and any still pending) and then
 * an async read of the last bias, so the monitor's read work is inside the timed block and nothing is left
 * pending from one block to the next.
 */
function monitored(name: string, p: Problem, options: GradientHealthMonitorOptions): Disposable {
  const monitor = new GradientHealthMonitor(options);
  const optimizer = withTransforms(tf.train.adam(LEARNING_RATE), monitor.tap);
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
function naive(p: Problem): Disposable {
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

async function compare(ctx: SuiteContext, sizes: { full: Sizes; quick: Sizes }): Promise<BenchResult> {
  const { x, y } = classification(256, 10)();
  const problems = Array.from({ length: 5 }, () => mlp6x256(x, y));
  const p = (i: number) => problems[i] as Problem;
  const base = bare(p(0));
  const every1 = monitored(EVERY_1, p(1), { every: 1 });
  const every10 = monitored(EVERY_10, p(2), { every: 10 });
  const sample1 = monitored(SAMPLE_1, p(3), { every: 1, sampleEvery: 1 });
  const naiveVariant = naive(p(4));
  const s = ctx.quick ? sizes.quick : sizes.full;
  // Blocks and the counting steps hold whole cycles of 10 steps: the every-10 monitor reads exactly once per block
  // (its flush only waits for that read) and every monitor samples the weights exactly once per block.
  const steps = roundUp(ctx.steps ?? s.steps, CYCLE);
  const config: BenchConfig = {
    id: 'mlp-6x256',
    title: '6x256 Dense MLP, batch 64, Adam',
    baseline: base,
    candidates: [every1, every10, sample1, naiveVariant],
    targets: { [EVERY_1]: TARGET_EVERY_1, [EVERY_10]: TARGET_EVERY_10 },
    // 5 warm-up steps and 10 counting steps: neither count boundary falls just after a sampled step (steps 1, 11,
    // 21, ...), when the monitor holds a snapshot of the weights (14 tensors) until the next step.
    warmup: 5,
    countSteps: CYCLE,
    rounds: ctx.rounds ?? s.rounds,
    stepsPerBlock: steps,
    log: ctx.log,
  };
  try {
    return await runBench(config);
  } finally {
    for (const v of [base, every1, every10, sample1, naiveVariant]) v.dispose();
    for (const q of problems) q.dispose();
    tf.dispose([x, y]);
  }
}

const suite: BenchSuite = {
  id: 'monitor',
  title: 'GradientHealthMonitor: cost per training step',
  description: [
    'One Adam (lr 1e-3) training step, `optimizer.minimize(loss, false, varList)`, on the **mlp-6x256** model of the',
    'clipping benchmark (6 Dense(256, relu) layers on 256 inputs and a Dense(10) head, softmax cross-entropy, 14',
    'variables in 7 layers, 0.40 M weights) and a fixed random batch of 64, for five variants, each with its own',
    'copy of the model (same initial weights, so all follow the same trajectory):',
    '',
    '- **bare adam** (baseline): `tf.train.adam(1e-3)`.',
    `- **${EVERY_1}**: \`withTransforms(tf.train.adam(1e-3), monitor.tap)\` with`,
    '  `new GradientHealthMonitor({ every: 1 })`: per step, per layer the gradient norm, max |g| and non-finite',
    '  count and the global norm, packed on the device into one vector and read with one async `data()` per step;',
    '  with the default `sampleEvery: 10`, also the weight norms on every 10th step and the update ratio on the step',
    '  after.',
    `- **${EVERY_10}**: the same with \`{ every: 10 }\` (default \`sampleEvery: 10\`): the figures of 10 steps`,
    '  are concatenated and read with one async `data()` every 10th step.',
    `- **${SAMPLE_1}**: \`{ every: 1, sampleEvery: 1 }\`, weight norms and update ratios every step, for`,
    '  context (no target).',
    `- **${NAIVE}**: the naive monitor of W&B \`watch\` (a hook per parameter reading its statistics with`,
    "  `.tolist()`) and Lightning's `grad_norm` (a norm per parameter, each logged with `.item()`):",
    '  `tf.variableGrads`, then per gradient tensor `tf.norm(g).dataSync()` (one blocking read per variable; the',
    '  global norm is summed on the host), then `optimizer.applyGradients`. It measures less than the monitor (no',
    '  max |g|, no non-finite count, no weight norms), for context (no target).',
    '',
    `Targets: **<= ${TARGET_EVERY_1}** for ${EVERY_1}, **<= ${TARGET_EVERY_10}** for ${EVERY_10}.`,
    `Blocks are whole multiples of ${CYCLE} steps (\`--steps\` is rounded up to one), as are the steps over which reads`,
    'and leaks are counted: each block holds exactly one weight sample per monitor and exactly one read of the',
    "every-10 monitor. A monitor's block ends with `await monitor.flush()`, which waits for its read in flight (and",
    'reads anything still pending), then an async read of the last bias: the read work is inside the timed block',
    'and nothing is carried from one block to the next. The last two columns are read after the timed rounds: the',
    'global gradient norm of the last step as each monitor read it back (the same model and data everywhere, so the',
    'values agree), and how many of the steps observed were read back (all of them: no read was lost or left',
    'pending).',
    '',
    'Each round times one block of N steps of every variant, in the order listed, reversed every other round',
    '(a full GC before each block). The ratio is the median over rounds of (variant ms / baseline ms in the same',
    'round), with a 95% bootstrap interval of that median and its IQR. Targets are checked against the interval:',
    '**met** when it lies wholly at or under the target, **missed** when wholly above, else **unclear**. Blocking',
    'reads are `readSync` calls on the backend not nested in an async `read`; async reads are `read` calls (one',
    'per `data()`); leaks are the change of `tf.memory().numTensors` per step after warm-up; kernels are those',
    '`tf.profile` saw per step (mean of 3 steps without a weight sample or a read of the every-10 monitor, so its',
    'count is a little under the mean over a cycle).',
  ].join('\n'),
  async run(ctx) {
    return [
      await compare(
        ctx,
        ctx.backend === 'cpu'
          ? { full: { rounds: 8, steps: 10 }, quick: { rounds: 3, steps: 10 } }
          : { full: { rounds: 16, steps: 10 }, quick: { rounds: 4, steps: 10 } },
      ),
    ];
  },
};

export default suite;
