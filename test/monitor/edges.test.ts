import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GradientHealthMonitor, GradStabError, gradientHealthSpec, withTransforms } from '../../src/index.js';
import { buildReport, formatSummary, historyToCsv } from '../../src/monitor/report.js';
import type { StepRecord } from '../../src/monitor/types.js';
import { useCpu } from '../helpers/tf.js';

beforeAll(useCpu);
afterEach(() => tf.disposeVariables());

describe('GradientHealthMonitor at the edges', () => {
  it('keeps the latest historySize steps in order, without moving the whole history on every step', async () => {
    const monitor = new GradientHealthMonitor({ historySize: 5 });
    for (let i = 1; i <= 12; i++) monitor.observe({ 'a/w': tf.tensor1d([i]) });
    await monitor.flush();
    expect(monitor.history.map((r) => [r.step, r.globalNorm])).toEqual([8, 9, 10, 11, 12].map((s) => [s, s]));
    expect(monitor.report().recorded).toBe(5);
  });

  it('reports, summarises, writes CSV and plots a history of 200,000 steps (no spread of the history)', () => {
    const history: StepRecord[] = Array.from({ length: 200_000 }, (_, i) => ({
      step: i + 1,
      globalNorm: 1 + (i % 7),
      layers: [
        { layer: 'a', norm: 1 + (i % 5), maxAbs: 1, nonFinite: 0 },
        { layer: 'b', norm: 2, maxAbs: 2, nonFinite: i === 5 ? 1 : 0 },
      ],
    }));
    const report = buildReport(200_000, history, [], { vanishing: 0, exploding: 0, nonFinite: 0, spike: 0 });
    expect(report.layers.map((l) => [l.layer, l.minNorm, l.maxNorm, l.nonFiniteSteps])).toEqual([
      ['a', 1, 5, 0],
      ['b', 2, 2, 1],
    ]);
    expect(report.globalNorm.max).toBe(7);
    expect(formatSummary(report)).toContain('(200000 recorded)');
    expect(historyToCsv(history).split('\n')).toHaveLength(600_002);
    expect(JSON.stringify(gradientHealthSpec(history)).length).toBeGreaterThan(0);
  });

  it('a saved history (toJSON, with NaN and Infinity written as strings) plots as the live one', async () => {
    const monitor = new GradientHealthMonitor();
    monitor.observe({ 'a/w': tf.tensor1d([1, 2]) });
    monitor.observe({ 'a/w': tf.tensor1d([Number.NaN, 2]) });
    monitor.observe({ 'a/w': tf.tensor1d([Number.POSITIVE_INFINITY, 2]) });
    await monitor.flush();
    const saved = JSON.parse(JSON.stringify(monitor.toJSON()));
    expect(saved.history[1].globalNorm).toBe('NaN');
    expect(saved.history[2].globalNorm).toBe('Infinity');
    expect(gradientHealthSpec(saved.history)).toEqual(gradientHealthSpec(monitor.history));
    // What JSON.stringify alone makes of them, null, plots too.
    const plain = JSON.parse(JSON.stringify(monitor.history));
    expect(plain[1].globalNorm).toBeNull();
    expect(() => gradientHealthSpec(plain)).not.toThrow();
  });

  it('reports every layer it has seen, in the order first seen: a layer frozen midway keeps its line', async () => {
    const monitor = new GradientHealthMonitor();
    for (let i = 0; i < 3; i++) monitor.observe({ 'a/w': tf.tensor1d([1]), 'b/w': tf.tensor1d([2]) });
    for (let i = 0; i < 3; i++) monitor.observe({ 'b/w': tf.tensor1d([2]) }); // layer a frozen
    await monitor.flush();
    const report = monitor.report();
    expect(report.layers.map((l) => [l.layer, l.lastNorm])).toEqual([
      ['a', 1],
      ['b', 2],
    ]);
  });

  it('watches one model: gradients of another model (no variable in common) are a GradStabError', async () => {
    const monitor = new GradientHealthMonitor();
    const make = (name: string) => tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [2], name })] });
    const first = make('first');
    const second = make('second');
    first.compile({ optimizer: withTransforms(tf.train.sgd(0.1), monitor.tap), loss: 'meanSquaredError' });
    second.compile({ optimizer: withTransforms(tf.train.sgd(0.1), monitor.tap), loss: 'meanSquaredError' });
    await first.fit(tf.ones([4, 2]), tf.ones([4, 1]), { epochs: 1, verbose: 0 });
    const fitSecond = second.fit(tf.ones([4, 2]), tf.ones([4, 1]), { epochs: 1, verbose: 0 });
    await expect(fitSecond).rejects.toThrow(GradStabError);
    await expect(fitSecond).rejects.toThrow(
      'GradientHealthMonitor: a GradientHealthMonitor serves one model: its state belongs to the variables it has ' +
        'seen (first/kernel, first/bias), and none of these gradients is for one of them; make one monitor per ' +
        'model, got gradients for second/kernel, second/bias.',
    );
    await monitor.flush();
    expect(monitor.steps).toBe(1);
  });
});

describe('GradientHealthMonitor bounds what waits on the device', () => {
  it('reads at least every 1000 steps: every above that is refused, and every 1000 holds at most 1000 pending', async () => {
    expect(() => new GradientHealthMonitor({ every: 1e9 })).toThrow(
      new GradStabError('GradientHealthMonitor: every must be at most 1000 (steps between reads), got 1000000000.'),
    );
    const monitor = new GradientHealthMonitor({ every: 1000 });
    const g = { 'a/w': tf.tensor1d([1]) };
    monitor.observe(g);
    const start = tf.memory().numTensors;
    for (let i = 0; i < 2999; i++) monitor.observe(g);
    expect(tf.memory().numTensors - start).toBeLessThan(1000);
    await monitor.flush();
    expect(monitor.history.map((r) => r.step)).toEqual([1000, 2000, 3000]);
    monitor.dispose();
  });
});
