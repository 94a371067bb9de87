import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  accumulateGradients,
  adaptiveGradClip,
  autoClip,
  gradientPipeline,
  withTransforms,
  zClip,
} from '../../src/index.js';
import { type AutoClipCase, adaptiveFixtures, type TensorFixture, type ZClipCase } from '../helpers/fixtures.js';
import { maxViolation, useCpu, values } from '../helpers/tf.js';

/**
 * Parity with test/fixtures/make_adaptive_fixtures.py, which implements each method from its paper's reference
 * code (optax's AGC in tfjs layout, pseeth/autoclip, bluorion-com/ZClip, PyTorch accumulation): to 1e-5.
 */
beforeAll(useCpu);
afterEach(() => tf.disposeVariables());

const fixtures = adaptiveFixtures();
const tensor = (t: TensorFixture) => tf.tensor(t.values, t.shape);
/** |a - b| <= 1e-5 + 1e-5 |b|: the 1e-5, relative for the large norms of the spike steps. */
const close = (actual: ArrayLike<number>, expected: ArrayLike<number>) => maxViolation(actual, expected, 1e-5, 1e-5);

/** The figures a transform's state holds after a step, read back from the pipeline's variables. */
function figure(pipeline: ReturnType<typeof gradientPipeline>, key: string): number {
  return values(pipeline.state[`0/${key}`] as tf.Tensor)[0] as number;
}

describe('adaptiveGradClip matches the AGC reference (unit-wise in tfjs layout, ranks 0 to 5)', () => {
  it.each(fixtures.agc.map((c) => [c.name, c] as const))('%s', (_, c) => {
    const pipeline = gradientPipeline(adaptiveGradClip({ clipping: c.clipping, eps: c.eps }));
    const grads = Object.fromEntries(c.tensors.map((t) => [t.name, tensor(t.grad)]));
    const params = Object.fromEntries(c.tensors.map((t) => [t.name, tensor(t.param)]));
    const out = pipeline.apply(grads, params);
    for (const t of c.tensors) {
      expect(close(values(out.grads[t.name] as tf.Tensor), t.clipped), t.name).toBe(0);
    }
    expect(close([figure(pipeline, 'norm')], [c.globalNormBefore])).toBe(0);
    expect(close([figure(pipeline, 'clippedNorm')], [c.globalNormAfter])).toBe(0);
  });
});

/** Runs a norm-only case through the transform, one-element gradient [N_t] per step. */
function runNorms(
  pipeline: ReturnType<typeof gradientPipeline>,
  steps: readonly { norm: number }[],
  check: (k: number, clipped: number) => void,
): void {
  steps.forEach((step, k) => {
    const out = pipeline.apply({ g: tf.tensor1d([step.norm]) });
    check(k, values(out.grads.g as tf.Tensor)[0] as number);
    tf.dispose(out.grads);
  });
}

describe('autoClip matches the AutoClip reference (np.percentile of the norms, clip_grad_norm_)', () => {
  const windowOf = (c: AutoClipCase) => c.window ?? Math.max(1000, c.steps.length);
  it.each(fixtures.autoClip.map((c) => [c.name, c] as const))('%s', (_, c) => {
    const pipeline = gradientPipeline(autoClip({ percentile: c.percentile, window: windowOf(c) }));
    if (c.steps[0]?.grads) {
      for (const step of c.steps) {
        const grads = Object.fromEntries((step.grads ?? []).map((g, j) => [`g${j}`, tensor(g)]));
        const out = pipeline.apply(grads);
        (step.clipped ?? []).forEach((want, j) => {
          expect(close(values(out.grads[`g${j}`] as tf.Tensor), want)).toBe(0);
        });
        expect(close([figure(pipeline, 'threshold')], [step.threshold])).toBe(0);
      }
      return;
    }
    runNorms(pipeline, c.steps, (k, clipped) => {
      const step = c.steps[k] as AutoClipCase['steps'][number];
      expect(close([figure(pipeline, 'threshold')], [step.threshold]), `threshold at step ${k + 1}`).toBe(0);
      expect(close([clipped], [step.clippedNorm]), `clipped norm at step ${k + 1}`).toBe(0);
      expect(close([figure(pipeline, 'clippedNorm')], [step.clippedNorm])).toBe(0);
    });
  });
});

describe('zClip matches the ZClip reference (zscore mode, adaptive scaling)', () => {
  it.each(fixtures.zClip.map((c) => [c.name, c] as const))('%s', (_, c: ZClipCase) => {
    const pipeline = gradientPipeline(
      zClip({
        alpha: c.alpha,
        zThreshold: c.zThresh,
        warmupSteps: c.warmupSteps,
        ...(c.maxGradNorm === null ? {} : { maxNorm: c.maxGradNorm }),
      }),
    );
    runNorms(pipeline, c.steps, (k, clipped) => {
      const step = c.steps[k] as ZClipCase['steps'][number];
      const at = `step ${k + 1}`;
      expect(close([clipped], [step.clippedNorm]), `clipped norm at ${at}`).toBe(0);
      const threshold = figure(pipeline, 'threshold');
      if (step.threshold === null) expect(threshold, at).toBe(Number.POSITIVE_INFINITY);
      else expect(close([threshold], [step.threshold]), `threshold at ${at}`).toBe(0);
      if (step.mean !== null && step.var !== null) {
        expect(close([figure(pipeline, 'mean')], [step.mean]), `mean at ${at}`).toBe(0);
        expect(close([figure(pipeline, 'variance')], [step.var]), `variance at ${at}`).toBe(0);
      }
    });
  });
});

describe('accumulateGradients matches PyTorch accumulation (mean of k micro-batch gradients, one step per k)', () => {
  it('averages the gradient sets', () => {
    const c = fixtures.accumulate.plain;
    const pipeline = gradientPipeline(accumulateGradients({ steps: c.k }));
    c.sets.forEach((set, i) => {
      const out = pipeline.apply(Object.fromEntries(set.map((g, j) => [c.names[j] as string, tensor(g)])));
      expect(out.skip).toBe(i < c.k - 1);
      if (!out.skip) {
        c.names.forEach((name, j) => {
          expect(close(values(out.grads[name] as tf.Tensor), (c.mean[j] as TensorFixture).values)).toBe(0);
        });
      }
    });
  });

  it('reproduces an Adam trajectory with k = 3 through model.fit (micro-batch = fit batch)', async () => {
    const c = fixtures.accumulate.mlp;
    const model = tf.sequential();
    c.layers.forEach((l, i) => {
      model.add(
        tf.layers.dense({ units: l.units, activation: l.activation, ...(i === 0 ? { inputShape: [c.inputDim] } : {}) }),
      );
    });
    model.setWeights(c.initialWeights.map(tensor));
    const o = c.optimizer;
    const optimizer = withTransforms(tf.train.adam(o.lr, o.beta1, o.beta2, o.eps), accumulateGradients({ steps: c.k }));
    model.compile({ optimizer, loss: c.loss });
    const x = tf.concat(c.microBatches.map((b) => tensor(b.x)));
    const y = tf.concat(c.microBatches.map((b) => tensor(b.y)));
    const perEpoch = c.microBatches.length / c.k; // updates per epoch
    for (let epoch = 0; epoch < c.epochs; epoch++) {
      await model.fit(x, y, { batchSize: c.microBatchSize, epochs: 1, shuffle: false, verbose: 0 });
      const update = c.updates[(epoch + 1) * perEpoch - 1];
      const weights = model.getWeights().map(values);
      update?.weightsAfter.forEach((want, i) => {
        expect(close(weights[i] as number[], want), `weight ${i} after epoch ${epoch + 1}`).toBe(0);
      });
    }
    expect(optimizer.iterations).toBe(c.updates.length);
  });
});
