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

  it('keeps its state alive inside tf.tidy (as fit runs each batch), in the same variables, without growth', () => {
    const pipeline = gradientPipeline(skipNonFinite());
    const held = pipeline.state['0/totalSkipped'] as tf.Variable;
    tf.tidy(() => {
      pipeline.apply({ g: tf.tensor1d([Number.NaN]) });
    });
    expect(held.isDisposed).toBe(false);
    expect(values(held)).toEqual([1]);
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      pipeline.apply({ g: tf.tensor1d([Number.NaN]) });
    });
    expect(pipeline.state['0/totalSkipped']).toBe(held);
    expect(values(held)).toEqual([2]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('survives transforms whose outputs alias their state, their inputs or the params', () => {
    // optax's trace pattern: the same tensor is the new gradient and the new state.
    const trace: GradientTransform = {
      kind: 'testTrace',
      config: {},
      init: () => ({ last: tf.zeros([2]) }),
      update: (grads, _state) => {
        const s = tf.mul(grads.w as tf.Tensor, 0.5);
        return { grads: { w: s }, state: { last: s } };
      },
    };
    // keeps the raw input gradient as its state, and hands back the weight itself as the gradient.
    const aliasing: GradientTransform = {
      kind: 'testAliasing',
      config: {},
      init: () => ({ input: tf.zeros([2]) }),
      update: (grads, _state, context) => ({
        grads: { w: context.params?.w as tf.Tensor },
        state: { input: grads.w as tf.Tensor },
      }),
    };
    const w = tf.variable(tf.tensor1d([3, 4]), true, 'alias/w');
    const pipeline = gradientPipeline(trace, aliasing);
    for (let i = 0; i < 2; i++) {
      const grads = { w: tf.tensor1d([2, 2]) };
      const out = pipeline.apply(grads, { w });
      tf.dispose([grads, out.grads]); // the caller frees what it was handed
    }
    expect(w.isDisposed).toBe(false);
    expect(values(w)).toEqual([3, 4]);
    expect(values(pipeline.state['0/last'] as tf.Tensor)).toEqual([1, 1]);
    expect(values(pipeline.state['1/input'] as tf.Tensor)).toEqual([1, 1]);
    pipeline.dispose();
  });

  it('demands a gradient back for every input', () => {
    const dropping: GradientTransform = {
      kind: 'testDrop',
      config: {},
      init: () => ({}),
      update: (_g, state) => ({ grads: {}, state }),
    };
    expect(() => gradientPipeline(dropping).apply({ a: tf.ones([1]) })).toThrow(
      new GradStabError(
        'gradientPipeline.apply: the transforms must return a gradient for every input, and "a" is missing, got [].',
      ),
    );
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

  it('setState assigns saved values and refuses unknown keys, non-tensors and other shapes', () => {
    const pipeline = gradientPipeline(skipNonFinite());
    const five = tf.scalar(5, 'int32');
    pipeline.setState({ '0/totalSkipped': five });
    five.dispose(); // the loader frees its tensors after loading
    expect(values(pipeline.state['0/totalSkipped'] as tf.Tensor)).toEqual([5]);
    const cases: [Record<string, unknown>, string][] = [
      [
        { '0/nope': tf.scalar(1) },
        'gradientPipeline.setState: state keys are those the transforms\' init() created (0/consecutive, 0/totalNonFinite, 0/totalSkipped), got "0/nope".',
      ],
      [{ '0/totalSkipped': 3 }, 'gradientPipeline.setState: the state "0/totalSkipped" must be a tensor, got 3.'],
      [
        { '0/totalSkipped': tf.ones([2], 'int32') },
        'gradientPipeline.setState: the state "0/totalSkipped" must keep its shape [] and dtype int32, got shape [2] and dtype int32.',
      ],
    ];
    for (const [state, message] of cases)
      expect(() => pipeline.setState(state as never)).toThrow(new GradStabError(message));
  });
});

describe('gradientPipeline: bad input and use after dispose (issue 13)', () => {
  it('names gradientPipeline for a bad transform, and apply for bad params', () => {
    expect(() => gradientPipeline('x' as never)).toThrow(
      new GradStabError(
        'gradientPipeline: transform 0 must be a gradient transform (an object with kind, config, init and update), got "x".',
      ),
    );
    const pipeline = gradientPipeline(clipByGlobalNorm(1));
    expect(() => pipeline.apply({ w: tf.ones([2]) }, 5 as never)).toThrow(
      new GradStabError(
        'gradientPipeline.apply: params must be a map {name: tensor} of the variables’ current values, got 5.',
      ),
    );
    expect(() => pipeline.apply(null as never)).toThrow(
      new GradStabError(
        'gradientPipeline.apply: gradients must be a map {name: tensor} (as from tf.variableGrads) or a list of {name, tensor}, got null.',
      ),
    );
    pipeline.dispose();
  });

  it('after dispose() apply and setState say so, instead of failing inside a transform', () => {
    const pipeline = gradientPipeline(skipNonFinite());
    pipeline.dispose();
    const rule = 'this pipeline was disposed: build a new one with gradientPipeline(...), got a disposed pipeline.';
    expect(() => pipeline.apply({ w: tf.ones([2]) })).toThrow(new GradStabError(`gradientPipeline.apply: ${rule}`));
    expect(() => pipeline.setState({})).toThrow(new GradStabError(`gradientPipeline.setState: ${rule}`));
  });

  it('setState is all or nothing, and refuses a __proto__ key', () => {
    const pipeline = gradientPipeline(skipNonFinite());
    const consecutive = pipeline.state['0/consecutive'] as tf.Variable;
    expect(() =>
      pipeline.setState({ '0/consecutive': tf.scalar(5, 'int32'), ['__proto__']: tf.scalar(1, 'int32') }),
    ).toThrow(
      new GradStabError(
        'gradientPipeline.setState: state keys are those the transforms\' init() created (0/consecutive, 0/totalNonFinite, 0/totalSkipped), got "__proto__".',
      ),
    );
    expect(values(consecutive)).toEqual([0]);
    pipeline.dispose();
  });
});
