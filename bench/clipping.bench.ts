/**
 * What does `clipByGlobalNorm` cost in a training step, next to a bare optimizer and next to the hand-rolled
 * global-norm clipping found in public tfjs code (which reads the norm on the host every step)?
 */
import * as tf from '@tensorflow/tfjs';
import { clipByGlobalNorm, skipNonFinite } from '../src/index.js';
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
  transformed,
} from './problems.js';
import type { BenchSuite, SuiteContext } from './suite.js';

const CLIP = 'clipByGlobalNorm';
const SKIP_HOST = 'skip (host) + clip';
const SKIP_DEVICE = 'skip (device) + clip';
/** The targets: clipping at most 3% over a bare step; a skip at most 0.015 bare steps over clipping alone. */
const TARGET_CLIP = 1.03;
const TARGET_SKIP_EXCESS = 0.015;

export function ours(p: Problem): DisposableVariant {
  return transformed(CLIP, p, clipByGlobalNorm(MAX_NORM));
}

/** The wrapper with no transform: what `TransformedOptimizer` itself costs, apart from any clipping. */
function wrapperOnly(p: Problem): DisposableVariant {
  return transformed('withTransforms (none)', p);
}

/** `skipNonFinite` deciding on the host (one read) or on the device (no read), before the clip. */
function skipped(p: Problem, decideOn: 'host' | 'device'): DisposableVariant {
  const name = decideOn === 'host' ? SKIP_HOST : SKIP_DEVICE;
  return transformed(name, p, skipNonFinite({ decideOn }), clipByGlobalNorm(MAX_NORM));
}

/**
 * The pattern in public tfjs code: `variableGrads`, a `tf.norm` per gradient, the global norm read on the host
 * with one `dataSync()`, a `tf.mul` per gradient when it is over the limit, then `applyGradients`.
 */
function handRolled(p: Problem): DisposableVariant {
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
      wrapperOnly(p(2)),
      handRolled(p(3)),
      skipped(p(4), 'host'),
      skipped(p(5), 'device'),
    ],
    {
      targets: { [CLIP]: TARGET_CLIP },
      excessTargets: {
        [SKIP_HOST]: { over: CLIP, target: TARGET_SKIP_EXCESS },
        [SKIP_DEVICE]: { over: CLIP, target: TARGET_SKIP_EXCESS },
      },
      warmup: 5,
      rounds: ctx.rounds ?? s.rounds,
      stepsPerBlock: ctx.steps ?? s.steps,
      log: ctx.log,
    },
  );
}

const suite: BenchSuite = {
  id: 'clipping',
  title: 'Global-norm clipping and skipping non-finite steps: cost per training step',
  description: [
    'One Adam (lr 1e-3) training step, `optimizer.minimize(loss, false, varList)`, on a fixed random batch, for six',
    'variants, each with its own copy of the model (same initial weights):',
    '',
    '- **bare adam** (baseline): `tf.train.adam(1e-3)`.',
    `- **${CLIP}**: \`withTransforms(tf.train.adam(1e-3), clipByGlobalNorm(1))\`.`,
    '- **withTransforms (none)**: `withTransforms(tf.train.adam(1e-3))`, the wrapper with no transform: its own',
    '  cost, for context (no target).',
    '- **hand-rolled (dataSync)**: the pattern in public tfjs code: `tf.variableGrads`, `tf.norm` per gradient,',
    '  the global norm read on the host with one `dataSync()`, `tf.mul` by `maxNorm / norm` when over the limit,',
    '  then `optimizer.applyGradients`. Its "clip active" column is how often the norm was over 1.',
    `- **${SKIP_HOST}**: \`withTransforms(adam, skipNonFinite({ decideOn: 'host' }), clipByGlobalNorm(1))\`: one`,
    "  read of a boolean per step (what `decideOn: 'auto'` picks on cpu and wasm, where kernels run synchronously).",
    `- **${SKIP_DEVICE}**: the same with \`decideOn: 'device'\` (what \`'auto'\` picks on webgl and webgpu): no`,
    '  read; the inner step runs and is undone by one select per weight and optimizer slot where it was non-finite.',
    '',
    'Models: **mlp-6x256** is `tf.layers` with 6 Dense(256, relu) layers on 256 inputs and a Dense(10) head,',
    'softmax cross-entropy, batch 64 (14 variables, 0.40 M weights); **deep-16x100** is a raw loop of 100',
    '`tanh(h W + b)` layers with W [16,16] and b [16], MSE, batch 64 (200 variables, 27 k weights);',
    "**lstm-addition** is tfjs-examples' addition-rnn with an LSTM(128) encoder and decoder on 2-digit sums,",
    'batch 32 (8 variables, 0.20 M weights; the example trains on 128, a smaller batch is the harder case here).',
    '',
    'Each round times one block of N steps of every variant, in the order listed, reversed every other round',
    '(a full GC before each block); each block ends with an async read of the last bias. The ratio is the median',
    'over rounds of (variant ms / baseline ms in the same round), with a 95% bootstrap interval of that median',
    'and its IQR. The extra cost of a skip is the median over rounds of (its ms - clipByGlobalNorm ms) / baseline',
    'ms, in the same rounds.',
    `Targets: ${CLIP} <= ${TARGET_CLIP}; a skip + clip <= ${CLIP} + ${TARGET_SKIP_EXCESS} baseline steps, with 0`,
    'blocking reads (the device variant; the host one reads once per step by design and is shown beside it). They',
    'are checked against the interval: **met** when it lies wholly at or under the target, **missed** when',
    'wholly above, else **unclear**. Blocking reads are `readSync` calls on the backend not nested in an async',
    '`read`; leaks are the change of `tf.memory().numTensors` per step after warm-up; kernels are those',
    '`tf.profile` saw per step (mean of 3 steps).',
  ].join('\n'),
  async run(ctx) {
    const cpu = ctx.backend === 'cpu';
    return [
      await compare(
        ctx,
        'mlp-6x256',
        cpu
          ? { full: { rounds: 20, steps: 3 }, quick: { rounds: 4, steps: 2 } }
          : { full: { rounds: 20, steps: 10 }, quick: { rounds: 4, steps: 4 } },
      ),
      await compare(ctx, 'deep-16x100', { full: { rounds: 20, steps: 10 }, quick: { rounds: 4, steps: 4 } }),
      // The unrolled LSTM is slow on cpu: fewer steps and rounds keep the suite in minutes.
      await compare(
        ctx,
        'lstm-addition',
        cpu
          ? { full: { rounds: 10, steps: 3 }, quick: { rounds: 4, steps: 2 } }
          : { full: { rounds: 16, steps: 6 }, quick: { rounds: 4, steps: 2 } },
      ),
    ];
  },
};

export default suite;
