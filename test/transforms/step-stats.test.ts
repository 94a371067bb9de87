import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import {
  autoClip,
  clipByGlobalNorm,
  clipByNorm,
  GradientHealthMonitor,
  gradientPipeline,
  skipNonFinite,
  zClip,
} from '../../src/index.js';
import { applyClip, clipFactor, NORM_EPS } from '../../src/internal/norms.js';
import { planBatches, SOLO_SIZE } from '../../src/internal/tensor-batches.js';
import { StepStats } from '../../src/transforms/step-stats.js';
import { tensorsLeftBy, useBackend, useCpu } from '../helpers/tf.js';

afterAll(useCpu);

/** Gradients of many shapes: small ones sharing shapes, scalars, an empty one, large ones, in a mixed order. */
function mixedGradients(seed: number): tf.Tensor[] {
  const shapes: number[][] = [
    [16, 16],
    [16],
    [],
    [16, 16],
    [80, 64], // 5120 entries: on its own
    [16],
    [3, 0], // empty
    [],
    [16, 16],
    [7],
    [SOLO_SIZE],
    [16],
  ];
  return shapes.map((shape, i) => tf.mul(tf.randomNormal(shape, 0, 1, 'float32', seed + i), 10 ** ((i % 5) - 2)));
}

const bits = (t: tf.Tensor) => Array.from(new Uint32Array(new Float32Array(t.dataSync()).buffer));

describe('planBatches', () => {
  it('joins small tensors of one shape, leaves large and empty ones alone, and reports the order', () => {
    const plan = planBatches([[16, 16], [16], [], [16, 16], [80, 64], [16], [3, 0], [], [16, 16]]);
    expect(plan.batches.map((b) => b.members)).toEqual([[0, 3, 8], [1, 5], [2, 7], [4], [6]]);
    expect(plan.order).toEqual([0, 3, 8, 1, 5, 2, 7, 4, 6]);
    expect(planBatches([]).batches).toEqual([]);
  });
});

describe.each(['cpu', 'wasm'] as const)('StepStats on %s', (backend) => {
  it('gives every tensor the same figures, bit for bit, batched or alone', async () => {
    await useBackend(backend);
    const gs = mixedGradients(1);
    tf.tidy(() => {
      const stats = new StepStats(false);
      const { order } = stats.plan(gs);
      const parts = stats.parts(gs);
      const squares = stats.squares(gs);
      const counts = stats.nonFiniteCounts(gs);
      const norms = stats.norms(gs);
      order.forEach((tensor, position) => {
        const alone = new StepStats(false);
        const g = [gs[tensor] as tf.Tensor];
        const at = (v: tf.Tensor) => tf.slice(v, [position], [1]);
        expect(bits(at(parts.max)), `max of ${tensor}`).toEqual(bits(alone.parts(g).max));
        expect(bits(at(parts.unit)), `unit of ${tensor}`).toEqual(bits(alone.parts(g).unit));
        expect(bits(at(parts.squares)), `squares of ${tensor}`).toEqual(bits(alone.parts(g).squares));
        expect(bits(at(squares)), `sum of squares of ${tensor}`).toEqual(bits(alone.squares(g)));
        expect(bits(at(counts))).toEqual(bits(alone.nonFiniteCounts(g)));
        expect(bits(at(norms.scale))).toEqual(bits(alone.norms(g).scale));
        expect(bits(at(norms.reduced))).toEqual(bits(alone.norms(g).reduced));
      });
    });
    tf.dispose(gs);
  });

  it('scales every tensor as a clip of it alone would, bit for bit, in the input order and shapes', async () => {
    await useBackend(backend);
    const gs = mixedGradients(2);
    tf.tidy(() => {
      const stats = new StepStats(false);
      const factor = clipFactor(1, stats.globalNorm(gs), NORM_EPS);
      const scaled = stats.scaled(gs, factor);
      const norms = stats.norms(gs);
      const each = stats.scaledEach(gs, clipFactor(1, norms, 0));
      const { order } = stats.plan(gs);
      gs.forEach((g, i) => {
        expect(scaled[i]?.shape).toEqual(g.shape);
        expect(bits(scaled[i] as tf.Tensor)).toEqual(bits(applyClip(g, factor)));
        const position = order.indexOf(i);
        const own = clipFactor(1, new StepStats(false).globalNorm([g]), 0);
        expect(each[i]?.shape).toEqual(g.shape);
        expect(bits(each[i] as tf.Tensor), `tensor ${i} at ${position}`).toEqual(bits(applyClip(g, own)));
      });
    });
    tf.dispose(gs);
  });

  it('clips the same, bit for bit, with a monitor and a skip sharing the figures in front or without them', async () => {
    await useBackend(backend);
    const grads: tf.NamedTensorMap = {};
    mixedGradients(3).forEach((g, i) => {
      grads[`v${i}`] = g;
    });
    const makers = [
      () => clipByGlobalNorm(0.5),
      () => clipByNorm(0.5),
      () => zClip({ warmupSteps: 2 }),
      () => autoClip(),
    ];
    for (const make of makers) {
      const monitor = new GradientHealthMonitor({ every: 2 });
      const alone = gradientPipeline(make());
      const shared = gradientPipeline(monitor.tap, skipNonFinite({ decideOn: 'device' }), make());
      for (let step = 0; step < 3; step++) {
        const a = alone.apply(grads).grads;
        const b = shared.apply(grads).grads;
        for (const name of Object.keys(grads)) {
          expect(bits(b[name] as tf.Tensor), `${make().kind} step ${step} ${name}`).toEqual(bits(a[name] as tf.Tensor));
        }
        tf.dispose([...Object.values(a), ...Object.values(b)]);
      }
      await monitor.flush();
      for (const p of [alone, shared]) p.dispose();
      monitor.dispose();
    }
    tf.dispose(Object.values(grads));
  });

  it('takes an empty gradient map in every transform that measures', async () => {
    await useBackend(backend);
    for (const make of [
      () => clipByGlobalNorm(1),
      () => clipByNorm(1),
      () => zClip(),
      () => autoClip(),
      () => skipNonFinite(),
    ]) {
      const pipeline = gradientPipeline(make());
      const out = pipeline.apply({});
      expect(out.grads, make().kind).toEqual({});
      expect(out.skip).toBe(false);
      pipeline.dispose();
    }
  });

  it('keeps NaN and Infinity in their own tensor: counts and norms per tensor', async () => {
    await useBackend(backend);
    tf.tidy(() => {
      const gs = [tf.tensor1d([1, Number.NaN, 2]), tf.tensor1d([3, 4, 0]), tf.tensor1d([Infinity, 1, -Infinity])];
      const stats = new StepStats(false);
      expect(Array.from(stats.nonFiniteCounts(gs).dataSync())).toEqual([1, 0, 2]);
      const n = stats.norms(gs);
      const value = Array.from(tf.mul(n.scale, n.reduced).dataSync());
      expect(value[0]).toBeNaN();
      expect(value[1]).toBeCloseTo(5, 6);
      expect(value[2]).toBe(Number.POSITIVE_INFINITY);
      expect(Array.from(stats.squares(gs).dataSync())).toEqual([Number.NaN, 25, Number.POSITIVE_INFINITY]);
    });
  });
});

describe('sharing and cost per variable', () => {
  /** Kernels `tf.profile` sees for one pipeline step over `grads`. */
  async function kernelsOf(transforms: Parameters<typeof gradientPipeline>, grads: tf.NamedTensorMap) {
    const pipeline = gradientPipeline(...transforms);
    tf.dispose(pipeline.apply(grads).grads); // lazy state, first-step work
    const info = await tf.profile(() => {
      tf.dispose(pipeline.apply(grads).grads);
    });
    pipeline.dispose();
    return info.kernels.length;
  }

  /** `n` small gradients: n/2 [16, 16] kernels and n/2 [16] biases, as the deep-16x100 benchmark model. */
  function manySmall(n = 200): tf.NamedTensorMap {
    const grads: tf.NamedTensorMap = {};
    for (let i = 0; i < n / 2; i++) {
      grads[`l${i}/kernel`] = tf.randomNormal([16, 16], 0, 1, 'float32', i);
      grads[`l${i}/bias`] = tf.randomNormal([16], 0, 1, 'float32', 1000 + i);
    }
    return grads;
  }

  it('clips 200 small variables in as many kernels as 20: the cost does not grow per variable', async () => {
    await useCpu();
    const many = manySmall(200);
    const few = manySmall(20);
    for (const transform of [clipByGlobalNorm(1), clipByNorm(1), zClip(), autoClip()]) {
      const kernels = await kernelsOf([transform], many);
      const fewKernels = await kernelsOf([transform], few);
      // The per-variable figures and scaling work on two batches (one per shape), so ten times the variables cost
      // no more kernels; a kernel per variable would be 200 at least.
      expect(kernels, transform.kind).toBe(fewKernels);
      expect(kernels, transform.kind).toBeLessThan(200);
    }
    tf.dispose([...Object.values(many), ...Object.values(few)]);
  });

  it('does not split a batch on wasm, whose split copies the whole batch once per piece', async () => {
    await useBackend('wasm');
    const grads = manySmall(20);
    const pipeline = gradientPipeline(clipByGlobalNorm(1));
    tf.dispose(pipeline.apply(grads).grads);
    const info = await tf.profile(() => {
      tf.dispose(pipeline.apply(grads).grads);
    });
    const names = new Set(info.kernels.map((k) => k.name));
    for (const copying of ['SplitV', 'Slice', 'Unpack']) expect(names.has(copying), copying).toBe(false);
    pipeline.dispose();
    tf.dispose(Object.values(grads));
    await useCpu();
  });

  it('computes each figure once per step: a monitor and a skip before a clip add almost no kernel', async () => {
    await useCpu();
    const grads = manySmall();
    const clip = await kernelsOf([clipByGlobalNorm(1)], grads);
    const monitor = new GradientHealthMonitor({ every: 1000 });
    const withTap = await kernelsOf([monitor.tap, clipByGlobalNorm(1)], grads);
    // The tap's figures are the clip's norm parts, packed into one vector (a concat) and appended to the figures
    // waiting to be read (a concat).
    expect(withTap - clip).toBeLessThanOrEqual(2);
    const withSkip = await kernelsOf([skipNonFinite({ decideOn: 'device' }), clipByGlobalNorm(1)], grads);
    // isFinite of the shared norm, the counters (int32 scalar arithmetic) and the device flag.
    expect(withSkip - clip).toBeLessThanOrEqual(14);
    monitor.dispose();
    tf.dispose(Object.values(grads));
  });

  it('frees the step figures with the step', async () => {
    await useCpu();
    const grads = manySmall();
    const monitor = new GradientHealthMonitor({ every: 1 });
    const pipeline = gradientPipeline(monitor.tap, skipNonFinite({ decideOn: 'device' }), clipByNorm(1));
    tf.dispose(pipeline.apply(grads).grads);
    await monitor.flush();
    expect(
      await tensorsLeftBy(async () => {
        tf.dispose(pipeline.apply(grads).grads);
        await monitor.flush();
      }),
    ).toBe(0);
    pipeline.dispose();
    monitor.dispose();
    tf.dispose(Object.values(grads));
  });
});
