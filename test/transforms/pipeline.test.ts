import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  clipByGlobalNorm,
  type GradientTransform,
  GradStabError,
  gradientPipeline,
  skipNonFinite,
} from '../../src/index.js';
import { tensorsLeftBy, useCpu, values } from '../helpers/tf.js';

beforeAll(useCpu);

describe('gradientPipeline (raw tf.variableGrads loops)', () => {
  it('clips in a raw loop with any optimizer, leaking nothing per step', async () => {
    const w = tf.variable(tf.tensor1d([3, -4]), true, 'pipe/w');
    const optimizer = tf.train.sgd(1);
    const pipeline = gradientPipeline(clipByGlobalNorm(1), skipNonFinite());
    const step = () => {
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(w)) as tf.Scalar);
      const out = pipeline.apply(grads);
      if (!out.skip) optimizer.applyGradients(out.grads);
      tf.dispose([value, grads, out.grads]);
    };
    step(); // grad (6, -8), norm 10 -> clipped to (0.6, -0.8)
    expect(values(w)[0]).toBeCloseTo(2.4, 5);
    expect(values(w)[1]).toBeCloseTo(-3.2, 5);
    expect(await tensorsLeftBy(step)).toBe(0);
    pipeline.dispose();
    w.dispose();
  });

  it('keeps its state alive inside tf.tidy (as fit runs each batch) and frees replaced state', () => {
    const pipeline = gradientPipeline(skipNonFinite());
    tf.tidy(() => {
      pipeline.apply({ g: tf.tensor1d([Number.NaN]) });
    });
    const state = pipeline.state['0/totalSkipped'] as tf.Tensor;
    expect(state.isDisposed).toBe(false);
    expect(values(state)).toEqual([1]);
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      pipeline.apply({ g: tf.tensor1d([Number.NaN]) });
    });
    expect(state.isDisposed).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('passes params through to transforms that need the weights', () => {
    let seen: string[] = [];
    const spy: GradientTransform = {
      kind: 'testSpy',
      config: {},
      init: () => ({}),
      update: (grads, state, context) => {
        seen = Object.keys(context.params ?? {});
        return { grads, state };
      },
    };
    const w = tf.ones([2]);
    tf.dispose(gradientPipeline(spy).apply({ w: tf.ones([2]) }, { w }).grads);
    expect(seen).toEqual(['w']);
  });

  it('setState copies values in and checks shape and dtype', () => {
    const pipeline = gradientPipeline(skipNonFinite());
    const five = tf.scalar(5);
    pipeline.setState({ '0/totalSkipped': five });
    five.dispose();
    expect(values(pipeline.state['0/totalSkipped'] as tf.Tensor)).toEqual([5]);
    expect(() => pipeline.setState({ '0/totalSkipped': tf.ones([2]) })).toThrow(
      new GradStabError(
        'gradientPipeline.setState: the state "0/totalSkipped" must keep its shape [] and dtype float32, got shape [2] and dtype float32.',
      ),
    );
  });
});
