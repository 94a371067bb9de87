import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  badSteps,
  customLoopMonitor,
  DEFAULTS,
  type LoopResult,
  parseArgs,
} from '../../examples/custom-loop-monitor.js';
import { runExampleScript } from '../helpers/run-example.js';
import { useCpu } from '../helpers/tf.js';

// 64 steps: labels x1000 at step 32 (after the monitor's 25-step warm-up), a NaN input at step 48.
const options = { steps: 64, logEvery: 16 };
let result: LoopResult;
const lines: string[] = [];
let leaked = 0;

beforeAll(async () => {
  await useCpu();
  const before = tf.memory().numTensors;
  result = await customLoopMonitor(options, (line) => lines.push(line));
  leaked = tf.memory().numTensors - before;
}, 60_000);

describe('examples/custom-loop-monitor.ts: a variableGrads loop with a pipeline and a monitor', () => {
  it('injects its bad batches where it says', () => {
    expect(badSteps(64)).toEqual({ spike: 32, nan: 48 });
    expect(badSteps(DEFAULTS.steps)).toEqual({ spike: 100, nan: 150 });
  });

  it("emits 'spike' at the scaled batch and 'nonFinite' at the NaN batch, naming every layer", () => {
    const spike = result.events.filter((e) => e.kind === 'spike');
    expect(spike.map((e) => e.step)).toEqual([32]);
    expect(spike[0]?.figures.z).toBeGreaterThan(100);
    const nonFinite = result.events.filter((e) => e.kind === 'nonFinite');
    expect(nonFinite.map((e) => e.step)).toEqual([48]);
    expect(nonFinite[0]?.layers).toEqual(['h1', 'h2', 'h3', 'out']);
    expect(result.events.filter((e) => e.kind === 'vanishing' || e.kind === 'exploding')).toEqual([]);
    // The handlers printed them as they came, before the final summary.
    expect(lines.filter((l) => l.startsWith('  ['))).toEqual(
      result.events.map((e) => `  [${e.kind}] step ${e.step}: ${e.reason}`),
    );
  });

  it('reports per-layer figures for every step, in model order', () => {
    const r = result.report;
    expect(r.steps).toBe(64);
    expect(r.recorded).toBe(64);
    expect(r.layers.map((l) => l.layer)).toEqual(['h1', 'h2', 'h3', 'out']);
    for (const l of r.layers) {
      expect(l.nonFiniteSteps).toBe(1);
      expect(l.typicalNorm).toBeGreaterThan(0);
      expect(Number.isFinite(l.typicalNorm)).toBe(true);
      expect(l.maxNorm).toBeGreaterThan(10 * l.typicalNorm); // the spike
      expect(l.weightNorm).toBeGreaterThan(0);
      expect(l.updateRatio).toBeGreaterThan(0);
    }
    expect(result.summary).toMatch(/^gradient health after 64 steps \(64 recorded\)/);
    expect(result.summary).toMatch(/spike at step 32: .*\n {2}nonFinite at step 48: .* in h1, h2, h3, out/);
  });

  it('skips the NaN step, clips the spike, learns, and leaves no tensor behind', () => {
    expect(result.skipped).toEqual([48]);
    expect(result.clipped).toBeGreaterThanOrEqual(1);
    expect(result.clipped).toBeLessThan(64);
    expect(Number.isFinite(result.lossAfter)).toBe(true);
    expect(result.lossAfter).toBeLessThan(result.lossBefore / 3);
    expect(result.losses.map(([step]) => step)).toEqual([16, 32, 48, 64]);
    expect(leaked).toBe(0);
  });
});

describe('examples/custom-loop-monitor.ts from the command line', () => {
  it('checks its flags', () => {
    expect(parseArgs([])).toEqual({ backend: 'wasm', options: DEFAULTS });
    expect(parseArgs(['--backend', 'cpu', '--steps', '80'])).toEqual({
      backend: 'cpu',
      options: { ...DEFAULTS, steps: 80 },
    });
    expect(parseArgs(['--help'])).toBe('help');
    expect(() => parseArgs(['--steps', '2'])).toThrow('--steps needs a whole number >= 4, got 2');
    expect(() => parseArgs(['--backend'])).toThrow('--backend must be wasm or cpu, got undefined');
    expect(() => parseArgs(['steps'])).toThrow('unknown argument steps');
  });

  it('runs as a script: --help prints the usage', () => {
    const out = runExampleScript('custom-loop-monitor.ts', '--help');
    expect(out).toContain('usage: node --import tsx examples/custom-loop-monitor.ts [--backend wasm|cpu] [--steps N]');
  }, 30_000);
});
