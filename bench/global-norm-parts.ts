/**
 * Diagnostic (not part of `npm run bench`): where the time of `clipByGlobalNorm` goes, op by op, on gradients
 * shaped like the clipping benchmarks' models, and what cheaper formulations would cost.
 *
 *   node --import tsx bench/global-norm-parts.ts [cpu|wasm] [mlp|small]
 *
 * The baseline is the library's own clipping of one step's gradients (`gradientPipeline(clipByGlobalNorm(1))`);
 * the other rows are its parts and alternatives, timed side by side with the same harness.
 */
import * as tf from '@tensorflow/tfjs';
import { clipByGlobalNorm, gradientPipeline } from '../src/index.js';
import { BACKENDS, type BackendName, useBackend } from './backends.js';
import { formatTable, runBench, type Variant } from './harness.js';

const backend = (process.argv[2] ?? 'cpu') as BackendName;
const shapes = process.argv[3] ?? 'mlp';
if (!BACKENDS.includes(backend) || !['mlp', 'small'].includes(shapes)) {
  console.error('usage: node --import tsx bench/global-norm-parts.ts [cpu|wasm] [mlp|small]');
  process.exit(1);
}
await useBackend(backend);

const shapeList: number[][] =
  shapes === 'mlp'
    ? [...Array.from({ length: 6 }, () => [[256, 256], [256]]).flat(), [256, 10], [10]]
    : Array.from({ length: 200 }, (_, i) => (i % 2 ? [16] : [16, 16]));
const grads: tf.NamedTensorMap = {};
shapeList.forEach((s, i) => {
  grads[`g${i}`] = tf.randomNormal(s, 0, 0.01, 'float32', i);
});
const list = Object.values(grads);
const flat = (): tf.Tensor1D => tf.concat1d(list.map((g) => tf.reshape(g, [-1]) as tf.Tensor1D));
const coefOf = (norm: tf.Tensor): tf.Tensor => tf.minimum(tf.div(1, tf.add(norm, 1e-6)), 1);

/** A variant running `fn` in a tidy; the last output is kept until the next step so that `sync` can read it. */
function op(name: string, fn: () => tf.Tensor[]): Variant {
  let last: tf.Tensor[] = [];
  return {
    name,
    step: () => {
      tf.dispose(last);
      last = tf.tidy(fn);
    },
    sync: async () => {
      const t = last[last.length - 1];
      if (t) await t.data();
    },
  };
}

const pipeline = gradientPipeline(clipByGlobalNorm(1));
const variants: Variant[] = [
  op('clipByGlobalNorm (pipeline.apply)', () => {
    const out = pipeline.apply(grads).grads;
    return list.map((_, i) => out[`g${i}`] as tf.Tensor);
  }),
  op('part: concat', () => [flat()]),
  op('part: abs (flat)', () => [tf.abs(flat())]),
  op('part: max (flat)', () => [tf.max(flat())]),
  op('part: div by scalar tensor (flat)', () => [tf.div(flat(), tf.scalar(3))]),
  op('part: square (flat)', () => [tf.square(flat())]),
  op('part: sum (flat)', () => [tf.sum(flat())]),
  op('part: mul each grad by a scalar', () => {
    const c = tf.scalar(0.5);
    return list.map((g) => tf.mul(g, c));
  }),
  // Not a way out: on wasm, tf.split makes a blocking read per piece (the read counter shows it).
  op('alt: mul the flat vector once, split back', () => {
    const f = flat();
    const parts = tf.split(
      tf.mul(f, tf.scalar(0.5)),
      list.map((g) => g.size),
    );
    return parts.map((p, i) => tf.reshape(p, (list[i] as tf.Tensor).shape));
  }),
  op('alt: unscaled concat, square, sum + mul', () => {
    const f = flat();
    const c = coefOf(tf.sqrt(tf.sum(tf.square(f))));
    return list.map((g) => tf.mul(g, c));
  }),
  op('alt: unscaled per-tensor sum(square) + mul', () => {
    const c = coefOf(tf.sqrt(tf.addN(list.map((g) => tf.sum(tf.square(g))))));
    return list.map((g) => tf.mul(g, c));
  }),
  op('alt: scaled, max&min instead of abs + mul', () => {
    const f = flat();
    const m = tf.maximum(tf.max(f), tf.neg(tf.min(f)));
    const s = tf.where(tf.logicalAnd(tf.isFinite(m), tf.greater(m, 0)), m, tf.onesLike(m));
    const c = coefOf(tf.mul(s, tf.sqrt(tf.sum(tf.square(tf.div(f, s))))));
    return list.map((g) => tf.mul(g, c));
  }),
];

const [baseline, ...candidates] = variants as [Variant, ...Variant[]];
const result = await runBench({
  id: `global-norm-parts-${shapes}`,
  title: `clipByGlobalNorm's parts on ${list.length} gradients (${shapes === 'mlp' ? 'mlp-6x256' : 'deep-16x100'} shapes)`,
  baseline,
  candidates,
  rounds: 9,
  stepsPerBlock: backend === 'cpu' ? 10 : 20,
  profile: false,
});
console.log(formatTable(result));
pipeline.dispose();
tf.dispose(list);
