import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { heldOutLoss, settleBatchNorm, splitExamples, trainSteps } from '../../src/diagnose/trial.js';
import { layers } from '../../src/index.js';
import { countBlockingReads, tensorsLeftBy, useCpu } from '../helpers/tf.js';

describe('trial building blocks', () => {
  beforeAll(useCpu);

  it('splits examples into the first ones to train on and the last ones held out', () => {
    const x = tf.tensor2d([[0], [1], [2], [3], [4]]);
    const y = tf.tensor2d([[10], [11], [12], [13], [14]]);
    const { train, heldOut } = splitExamples({ x: [x], y: [y], count: 5 }, 2);
    expect(train.count).toBe(3);
    expect(Array.from((train.x[0] as tf.Tensor).dataSync())).toEqual([0, 1, 2]);
    expect(Array.from((heldOut.y[0] as tf.Tensor).dataSync())).toEqual([13, 14]);
    tf.dispose([x, y, ...train.x, ...train.y, ...heldOut.x, ...heldOut.y]);
  });

  it('trains in order, wrapping around, with the hooks around each step, and reads nothing blocking', async () => {
    const model = tf.sequential({
      layers: [tf.layers.dense({ units: 1, inputShape: [1], kernelInitializer: 'zeros' })],
    });
    model.compile({ optimizer: tf.train.sgd(0.01), loss: 'meanSquaredError' }); // stable: 0.01 * 2 * 25 < 2
    const x = tf.tensor2d([[1], [2], [3], [4], [5]]);
    const y = tf.tensor2d([[2], [4], [6], [8], [10]]);
    const examples = { x: [x], y: [y], count: 5 };
    const seen: string[] = [];
    await trainSteps(model, examples, 4, 2, {
      beforeStep: (step) => seen.push(`before ${step}`),
      afterStep: (step, loss) => {
        seen.push(`after ${step} ${loss.toFixed(2)}`);
        return true;
      },
    });
    // Batches [1, 2], [3, 4], [5], then [1, 2] again; the first loss is of zero weights: mean((2, 4)^2) = 10.
    expect(seen.slice(0, 2)).toEqual(['before 1', 'after 1 10.00']);
    expect(seen.length).toBe(8);
    let steps = 0;
    await trainSteps(model, examples, 10, 2, { afterStep: () => ++steps < 3 });
    expect(steps).toBe(3); // stopped by the hook
    const step = () => trainSteps(model, examples, 3, 2, { afterStep: () => true });
    expect(await tensorsLeftBy(step)).toBe(0);
    expect(await countBlockingReads(step)).toBe(0);
    const before = await heldOutLoss(model, examples, 2);
    expect(before).toBeGreaterThanOrEqual(0);
    await trainSteps(model, examples, 50, 5, { afterStep: () => true });
    expect(await heldOutLoss(model, examples, 2)).toBeLessThan(before);
    expect(await tensorsLeftBy(() => heldOutLoss(model, examples, 2))).toBe(0);
    tf.dispose([x, y]);
    model.dispose();
  });
});

describe('settleBatchNorm', () => {
  it("brings a batch norm's moving statistics to the data's under the current weights, changing no weight", async () => {
    await useCpu();
    const x = tf.add(tf.mul(tf.randomNormal([128, 3], 0, 1, 'float32', 3), 2), 5); // mean 5, variance 4
    const model = tf.sequential({
      layers: [layers.batchNormalization({ inputShape: [3], momentum: 0.9, name: 'bn' })],
    });
    const examples = { x: [x], y: [x], count: 128 };
    const passes = settleBatchNorm(model, examples, 32);
    expect(passes).toBe(44); // 0.9^44 < 0.01 < 0.9^43
    const [gamma, beta, mean, variance] = model.getWeights().map((w) => Array.from(w.dataSync()));
    expect(gamma).toEqual([1, 1, 1]);
    expect(beta).toEqual([0, 0, 0]);
    const { mean: m, variance: v } = tf.moments(x, 0);
    const want = { mean: Array.from(m.dataSync()), variance: Array.from(v.dataSync()) };
    for (const [i, value] of (mean ?? []).entries()) expect(value).toBeCloseTo(want.mean[i] as number, 0);
    for (const [i, value] of (variance ?? []).entries()) {
      expect(Math.abs(value / (want.variance[i] as number) - 1)).toBeLessThan(0.15);
    }
    const plain = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [3] })] });
    expect(settleBatchNorm(plain, examples, 32)).toBe(0);
    tf.dispose([x, m, v]);
    model.dispose();
    plain.dispose();
  });
});
