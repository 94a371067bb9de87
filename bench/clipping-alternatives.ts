/**
 * Experiment (not part of `npm run bench`): would a cheaper global norm meet the clipping targets? Runs the
 * clipping benchmark's models with the library's `clipByGlobalNorm` next to two bench-only transforms that
 * skip the overflow-safe rescaling (`m * ||g / m||`) and compute `sqrt(sum(g^2))` directly. They show what
 * that safety costs; they are not proposals to drop it silently (they overflow for |g| above ~1e19).
 *
 *   node --import tsx bench/clipping-alternatives.ts [cpu|wasm] [--rounds N] [--steps N]
 */
import * as tf from '@tensorflow/tfjs';
import { type GradientTransform, withTransforms } from '../src/index.js';
import { BACKENDS, type BackendName, useBackend } from './backends.js';
import { ours } from './clipping.bench.js';
import { formatTable, runBench, type Variant } from './harness.js';
import {
  bare,
  classification,
  deep16,
  LEARNING_RATE,
  MAX_NORM,
  mlp6x256,
  type Problem,
  regression,
  syncOn,
} from './problems.js';

const argv = process.argv.slice(2);
const backend = (argv.find((a) => !a.startsWith('--') && !/^\d+$/.test(a)) ?? 'cpu') as BackendName;
const flag = (name: string, dflt: number) => {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};
if (!BACKENDS.includes(backend)) {
  console.error('usage: node --import tsx bench/clipping-alternatives.ts [cpu|wasm] [--rounds N] [--steps N]');
  process.exit(1);
}
await useBackend(backend);

/** Global-norm clipping with the textbook (unscaled) norm: one flat concat, square, sum. */
function unscaledConcat(maxNorm: number): GradientTransform {
  return {
    kind: 'benchUnscaledConcat',
    config: { maxNorm },
    init: () => ({}),
    update: (grads, state) => {
      const gs = Object.values(grads);
      const flat = tf.concat1d(gs.map((g) => tf.reshape(g, [-1]) as tf.Tensor1D));
      const coef = tf.minimum(tf.div(maxNorm, tf.add(tf.sqrt(tf.sum(tf.square(flat))), 1e-6)), 1);
      const out: tf.NamedTensorMap = {};
      for (const [k, g] of Object.entries(grads)) out[k] = tf.mul(g, coef);
      return { grads: out, state };
    },
  };
}

/** The same, with a sum of squares per tensor (no concat). */
function unscaledPerTensor(maxNorm: number): GradientTransform {
  return {
    kind: 'benchUnscaledPerTensor',
    config: { maxNorm },
    init: () => ({}),
    update: (grads, state) => {
      const sumSq = tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g))));
      const coef = tf.minimum(tf.div(maxNorm, tf.add(tf.sqrt(sumSq), 1e-6)), 1);
      const out: tf.NamedTensorMap = {};
      for (const [k, g] of Object.entries(grads)) out[k] = tf.mul(g, coef);
      return { grads: out, state };
    },
  };
}

function withTransform(name: string, p: Problem, t: GradientTransform): Variant & { dispose(): void } {
  const opt = withTransforms(tf.train.adam(LEARNING_RATE), t);
  return {
    name,
    step: () => {
      opt.minimize(() => p.loss(), false, p.varList);
    },
    sync: syncOn(p),
    dispose: () => opt.dispose(),
  };
}

const cases = [
  { id: 'mlp-6x256', make: mlp6x256, data: classification(256, 10), target: 1.03 },
  { id: 'deep-16x100', make: deep16, data: regression(16, 16), target: 1.1 },
];
for (const c of cases) {
  const { x, y } = c.data();
  const problems = [c.make(x, y), c.make(x, y), c.make(x, y), c.make(x, y)] as const;
  const variants = [
    bare(problems[0]),
    ours(problems[1]),
    withTransform('unscaled, concat (bench-only)', problems[2], unscaledConcat(MAX_NORM)),
    withTransform('unscaled, per tensor (bench-only)', problems[3], unscaledPerTensor(MAX_NORM)),
  ] as const;
  const slow = backend === 'cpu' && c.id === 'mlp-6x256';
  const result = await runBench({
    id: c.id,
    title: 'clipByGlobalNorm vs unscaled-norm variants',
    baseline: variants[0],
    candidates: variants.slice(1),
    targets: Object.fromEntries(variants.slice(1).map((v) => [v.name, c.target])),
    rounds: flag('--rounds', slow ? 12 : 14),
    stepsPerBlock: flag('--steps', slow ? 3 : 10),
    profile: false,
    log: (l) => process.stderr.write(`${l}\n`),
  });
  console.log(`${formatTable(result)}\n`);
  for (const v of variants) v.dispose();
  for (const p of problems) p.dispose();
  tf.dispose([x, y]);
}
