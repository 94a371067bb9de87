import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  clipByGlobalNorm,
  GradientHealthMonitor,
  type MonitorEvent,
  type MonitorEventName,
  withTransforms,
} from '../../src/index.js';
import { useCpu } from '../helpers/tf.js';

beforeAll(useCpu);
afterEach(() => tf.disposeVariables());

function collect(monitor: GradientHealthMonitor): MonitorEvent[] {
  const events: MonitorEvent[] = [];
  for (const kind of ['vanishing', 'exploding', 'nonFinite', 'spike'] as MonitorEventName[]) {
    monitor.on(kind, (e) => events.push(e));
  }
  return events;
}

/** 40 steps of two layers' gradients: finite, but NaN at step 13 in layer b and a spike at step 27. */
function feed(monitor: GradientHealthMonitor): void {
  for (let step = 1; step <= 40; step++) {
    const scale = step === 27 ? 1000 : 1 + 0.01 * Math.sin(step);
    monitor.observe({
      'a/w': tf.fill([3], scale),
      'b/w': tf.tensor1d(step === 13 ? [Number.NaN, 1, Number.POSITIVE_INFINITY] : [scale, scale, scale]),
    });
  }
}

describe('GradientHealthMonitor: every step watched, every `every`-th recorded', () => {
  it('every: 10 raises each event on its own step and keeps the recorded steps plus the event steps', async () => {
    const monitor = new GradientHealthMonitor({ every: 10, thresholds: { spikeWarmup: 5 } });
    const events = collect(monitor);
    feed(monitor);
    await monitor.flush();
    expect(events.map((e) => [e.kind, e.step, e.layers])).toEqual([
      ['nonFinite', 13, ['b']],
      ['spike', 27, []],
    ]);
    expect(events[0]?.reason).toBe('non-finite gradient entries in b'); // not counted between recorded steps
    expect(monitor.history.map((r) => [r.step, r.partial === true])).toEqual([
      [10, false],
      [13, true],
      [20, false],
      [27, true],
      [30, false],
      [40, false],
    ]);
    const step13 = monitor.history[1];
    expect(step13?.layers.map((l) => [l.layer, l.nonFinite])).toEqual([
      ['a', 0],
      ['b', 1],
    ]);
    expect(monitor.history[4]?.globalNorm).toBeCloseTo(Math.sqrt(6) * (1 + 0.01 * Math.sin(30)), 5);
  });

  it('every: 1 records everything, with exact non-finite counts', async () => {
    const monitor = new GradientHealthMonitor({ thresholds: { spikeWarmup: 5 } });
    const events = collect(monitor);
    feed(monitor);
    await monitor.flush();
    expect(monitor.history).toHaveLength(40);
    expect(monitor.history.every((r) => r.partial === undefined)).toBe(true);
    expect(events.find((e) => e.kind === 'nonFinite')?.reason).toBe('2 non-finite gradient entries in b');
  });

  it('costs less on the steps it does not record: counts and weights only on recorded ones', async () => {
    const monitor = new GradientHealthMonitor({ every: 4, sampleEvery: 4 });
    const w = tf.variable(tf.ones([16, 16]), true, 'cost/w');
    const b = tf.variable(tf.ones([16]), true, 'cost/b');
    const optimizer = withTransforms(tf.train.sgd(0.01), monitor.tap);
    const x = tf.ones([2, 16]);
    const step = () => {
      optimizer.minimize(() => tf.sum(tf.add(tf.matMul(x, w), b)) as tf.Scalar, false, [w, b]);
    };
    const kernels: number[] = [];
    for (let i = 0; i < 8; i++) kernels.push((await tf.profile(step)).kernels.length);
    await monitor.flush();
    // Steps 4 and 8 are recorded (non-finite counts, weight norms, update ratios, and the read): more kernels. The
    // others differ by the append to the read buffer, a concat except on an interval's first step.
    const unrecorded = [0, 1, 2, 4, 5, 6].map((i) => kernels[i] as number);
    expect(Math.max(...unrecorded) - Math.min(...unrecorded)).toBeLessThanOrEqual(1);
    expect(kernels[7]).toBeGreaterThan((unrecorded[0] as number) + 2 * 3); // 3 more per gradient for the counts
    expect(monitor.history.map((r) => r.step)).toEqual([4, 8]);
    expect(monitor.history[1]?.layers[0]?.updateRatio).toBeGreaterThan(0);
    monitor.dispose();
  });

  it('keeps tf.memory().numTensors identical after every step, weight snapshots included', async () => {
    const monitor = new GradientHealthMonitor({ every: 2, sampleEvery: 2 });
    const w = tf.variable(tf.randomNormal([8, 8], 0, 1, 'float32', 1), true, 'mem/w');
    const optimizer = withTransforms(tf.train.adam(0.01), monitor.tap, clipByGlobalNorm(1));
    const step = async () => {
      optimizer.minimize(() => tf.sum(tf.square(w)) as tf.Scalar, false, [w]);
      await new Promise((done) => setImmediate(done)); // the read of a recorded step settles
    };
    for (let i = 0; i < 4; i++) await step(); // warm-up: Adam's slots, the snapshot variables
    const counts: number[] = [];
    for (let i = 0; i < 12; i++) {
      await step();
      counts.push(tf.memory().numTensors);
    }
    // Steps between reads append their figures to one buffer on the device, and a read swaps buffers: the count
    // is the same after every step.
    expect(new Set(counts).size).toBe(1);
    monitor.dispose();
  });
});
