import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  chain,
  clipByGlobalNorm,
  clipByValue,
  type GradientTransform,
  GradStabError,
  gradientPipeline,
  skipNonFinite,
  transformFromConfig,
  transformToConfig,
} from '../../src/index.js';
import { useCpu, values } from '../helpers/tf.js';

beforeAll(useCpu);

/** A transform that counts its calls in its state and records the gradient it saw. */
function counter(seen: number[][]): GradientTransform {
  return {
    kind: 'testCounter',
    config: {},
    init: () => ({ calls: tf.scalar(0) }),
    update: (grads, state) => {
      seen.push(values(grads.g as tf.Tensor));
      return { grads, state: { calls: tf.add(state.calls as tf.Tensor, 1) } };
    },
  };
}

describe('chain', () => {
  it('applies transforms in the order given (clip by value then by norm differs from the reverse)', () => {
    const g = () => ({ g: tf.tensor1d([10, 0.1]) });
    const a = gradientPipeline(chain(clipByValue(1), clipByGlobalNorm(1))).apply(g()).grads.g as tf.Tensor;
    const b = gradientPipeline(chain(clipByGlobalNorm(1), clipByValue(0.5))).apply(g()).grads.g as tf.Tensor;
    expect(values(a)[0]).toBeCloseTo(1 / Math.hypot(1, 0.1), 5);
    expect(values(b)[0]).toBeCloseTo(0.5, 6);
    expect(values(b)[1]).toBeCloseTo(0.1 / Math.hypot(10, 0.1), 5);
  });

  it('prefixes each transform state with its position, nested chains too', () => {
    const t = chain(counter([]), chain(skipNonFinite(), counter([])));
    const keys = Object.keys(t.init()).sort();
    expect(keys).toEqual(['0/calls', '1/0/consecutive', '1/0/totalNonFinite', '1/0/totalSkipped', '1/1/calls']);
  });

  it('after a skip decided on the device, the transforms after it run but their state stays as it was', () => {
    const before: number[][] = [];
    const after: number[][] = [];
    const pipeline = gradientPipeline(counter(before), skipNonFinite({ decideOn: 'device' }), counter(after));
    const step = pipeline.apply({ g: tf.tensor1d([Number.NaN]) });
    expect(step.skip).toBe(true);
    expect(before).toHaveLength(1);
    expect(after).toHaveLength(1); // it ran: the chain cannot stop without reading the flag
    expect(values(pipeline.state['0/calls'] as tf.Tensor)).toEqual([1]);
    expect(values(pipeline.state['2/calls'] as tf.Tensor)).toEqual([0]); // but its state was put back
    pipeline.apply({ g: tf.tensor1d([2]) });
    expect(values(pipeline.state['2/calls'] as tf.Tensor)).toEqual([1]);
  });

  it('stops at a skip decided on the host: transforms after it neither run nor change state', () => {
    const after: number[][] = [];
    const hostSkip: GradientTransform = {
      kind: 'testHostSkip',
      config: {},
      init: () => ({}),
      update: (grads, state) => ({ grads, state, skip: true }),
    };
    const pipeline = gradientPipeline(hostSkip, counter(after));
    expect(pipeline.apply({ g: tf.tensor1d([1]) }).skip).toBe(true);
    expect(after).toHaveLength(0);
    expect(values(pipeline.state['1/calls'] as tf.Tensor)).toEqual([0]);
  });

  it('round-trips through its config, nested', () => {
    const c = JSON.parse(JSON.stringify(transformToConfig(chain(clipByValue(2), chain(clipByGlobalNorm(1))))));
    expect(transformToConfig(transformFromConfig(c))).toEqual(c);
  });

  it('rejects what is not a transform, naming its position', () => {
    expect(() => chain(clipByValue(1), 5 as never)).toThrow(
      new GradStabError(
        'chain: transform 1 must be a gradient transform (an object with kind, config, init and update), got 5.',
      ),
    );
    expect(() => chain({ kind: 'x' } as never)).toThrow('chain: transform 0 must be a gradient transform');
  });
});
