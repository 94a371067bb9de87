import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  autoClip,
  clipByGlobalNorm,
  clipOptimizer,
  GradientHealthMonitor,
  GradStabError,
  skipNonFinite,
  type TransformedOptimizer,
  withTransforms,
  zClip,
} from '../../src/index.js';
import { saveAndLoad, tinyData, tinyModel, weightsOf } from '../helpers/models.js';
import { useCpu } from '../helpers/tf.js';

beforeAll(useCpu);
afterEach(() => tf.disposeVariables());

const fitArgs = { batchSize: 4, epochs: 1, shuffle: false, verbose: 0 } as const;

/** Trains `model` for `epochs` epochs of 4 steps on the tiny data. */
async function train(model: tf.LayersModel, epochs: number): Promise<void> {
  const { x, y } = tinyData();
  await model.fit(x, y, { ...fitArgs, epochs });
  tf.dispose([x, y]);
}

describe('withTransforms around a TransformedOptimizer: one flat wrapper', () => {
  it('runs the new transforms first, then the old ones, and trains as one withTransforms call would', async () => {
    const monitor = new GradientHealthMonitor();
    const clipped = clipOptimizer(tf.train.adam(0.05), { globalClipNorm: 0.5 });
    const inner = clipped.optimizer;
    const rewrapped = withTransforms(clipped, monitor.tap);
    expect(rewrapped.transforms.map((t) => t.kind)).toEqual(['gradientHealthTap', 'clipByGlobalNorm']);
    expect(rewrapped.optimizer).toBe(inner);

    const a = tinyModel();
    a.compile({ optimizer: rewrapped, loss: 'meanSquaredError' });
    await train(a, 3);
    const b = tinyModel();
    b.compile({ optimizer: withTransforms(tf.train.adam(0.05), clipByGlobalNorm(0.5)), loss: 'meanSquaredError' });
    await train(b, 3);
    expect(weightsOf(a)).toEqual(weightsOf(b));
    await monitor.flush();
    expect(monitor.history).toHaveLength(12);
  });

  it('keeps the state of stateful transforms: zClip and autoClip go on as if never rewrapped', async () => {
    const make = () => withTransforms(tf.train.sgd(0.1), zClip({ warmupSteps: 2 }), autoClip({ window: 5 }));
    const straight = tinyModel();
    straight.compile({ optimizer: make(), loss: 'meanSquaredError' });
    await train(straight, 4);

    const resumed = tinyModel();
    const first = make();
    resumed.compile({ optimizer: first, loss: 'meanSquaredError' });
    await train(resumed, 2);
    const stateBefore = await first.readState();
    resumed.optimizer = withTransforms(resumed.optimizer, new GradientHealthMonitor().tap);
    const second = resumed.optimizer as TransformedOptimizer;
    const shifted = Object.fromEntries(
      Object.entries(stateBefore).map(([k, v]) => [k.replace(/^(\d+)\//, (_, i) => `${Number(i) + 1}/`), v]),
    );
    expect(await second.readState()).toEqual(shifted);
    await train(resumed, 2);
    expect(weightsOf(resumed)).toEqual(weightsOf(straight));
  });

  it('resumes a loaded model with a monitor in one line, keeping iterations and every transform’s state', async () => {
    const make = () => withTransforms(tf.train.adam(0.05), autoClip({ window: 6 }), skipNonFinite());
    const straight = tinyModel();
    straight.compile({ optimizer: make(), loss: 'meanSquaredError' });
    await train(straight, 4);

    const model = tinyModel();
    model.compile({ optimizer: make(), loss: 'meanSquaredError' });
    await train(model, 2);
    const loaded = await saveAndLoad(model);
    const monitor = new GradientHealthMonitor();
    loaded.optimizer = withTransforms(loaded.optimizer, monitor.tap);
    expect(loaded.optimizer.iterations).toBe(8);
    await train(loaded, 2);
    const close = weightsOf(loaded).flat();
    weightsOf(straight)
      .flat()
      .forEach((w, i) => {
        expect(close[i]).toBeCloseTo(w, 5);
      });
    await monitor.flush();
    expect(monitor.history.map((r) => r.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);

    // Saved and loaded again as one flat wrapper: the tap loads as an inert pass-through.
    const again = await saveAndLoad(loaded);
    const opt = again.optimizer as TransformedOptimizer;
    expect(opt.transforms.map((t) => t.kind)).toEqual(['gradientHealthTap', 'autoClip', 'skipNonFinite']);
    expect(opt.iterations).toBe(16);
    expect(Object.keys(await opt.readState())).toEqual(
      Object.keys(await (loaded.optimizer as TransformedOptimizer).readState()),
    );
  });

  it('spends the old wrapper: using it again says so; disposing it frees nothing the new one holds', async () => {
    const old = withTransforms(tf.train.adam(0.1), skipNonFinite());
    const fresh = withTransforms(old, clipByGlobalNorm(1));
    const w = tf.variable(tf.tensor1d([1, 2]), true, 'spent/w');
    const loss = () => tf.sum(tf.square(w)) as tf.Scalar;
    const message =
      'this TransformedOptimizer was wrapped again by withTransforms, which took over its inner optimizer and state: ' +
      'use the optimizer that withTransforms returned, got a spent TransformedOptimizer with transforms [skipNonFinite].';
    expect(() => old.minimize(loss)).toThrow(new GradStabError(`TransformedOptimizer.applyGradients: ${message}`));
    expect(() => withTransforms(old)).toThrow(new GradStabError(`withTransforms: ${message}`));
    await expect(old.getWeights()).rejects.toThrow(GradStabError);
    old.dispose();
    fresh.minimize(loss);
    expect(fresh.iterations).toBe(1);
    expect(await fresh.readState()).toEqual({
      '1/consecutive': 0,
      '1/totalNonFinite': 0,
      '1/totalSkipped': 0,
    });
  });

  it('leaves no tensor behind: the old state moves, it is not copied', () => {
    const before = tf.memory().numTensors;
    const old = withTransforms(tf.train.sgd(0.1), skipNonFinite(), zClip());
    const afterOld = tf.memory().numTensors;
    const fresh = withTransforms(old, clipByGlobalNorm(1));
    expect(tf.memory().numTensors).toBe(afterOld);
    fresh.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
