import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULTS,
  type FitClippingResult,
  fitWithClipping,
  parseArgs,
  resultText,
} from '../../examples/fit-with-clipping.js';
import { runExampleScript } from '../helpers/run-example.js';
import { useCpu } from '../helpers/tf.js';

// 256 examples in batches of 32: 8 batches per epoch, one with outliers (batch 3), one with a NaN (batch 6).
const options = { steps: 64, examples: 256 };
let result: FitClippingResult;
let leaked = 0;

beforeAll(async () => {
  await useCpu();
  const before = tf.memory().numTensors;
  result = await fitWithClipping(options);
  leaked = tf.memory().numTensors - before;
}, 60_000);

const run = (name: string) => {
  const found = result.runs.find((r) => r.name === name);
  if (!found) throw new Error(`no run ${name}`);
  return found;
};

describe('examples/fit-with-clipping.ts: model.fit with Adam on outlier batches, without and with clipping', () => {
  it('unclipped Adam is dragged away by the outliers; clipOptimizer learns', () => {
    const adam = run('adam');
    const clipped = run('clipOptimizer');
    expect(adam.lossAfter).toBeGreaterThan(adam.lossBefore); // worse than at the start
    expect(clipped.weightsFinite).toBe(true);
    expect(clipped.lossAfter).toBeLessThan(clipped.lossBefore / 3);
    expect(clipped.lossAfter).toBeLessThan(adam.lossAfter / 100);
  });

  it('clipping alone turns a NaN batch into NaN weights; skipNonFinite before it keeps training finite', () => {
    expect(run('clipOptimizer + NaN').weightsFinite).toBe(false);
    expect(Number.isNaN(run('clipOptimizer + NaN').lossAfter)).toBe(true);
    const g = run('skip + clip + NaN');
    expect(g.weightsFinite).toBe(true);
    expect(g.lossAfter).toBeLessThan(g.lossBefore / 3);
    expect(g.nonFiniteSteps).toBe(8); // batch 6 of each of the 8 epochs
    expect(g.skippedSteps).toBe(8);
    expect(g.iterations).toBe(64 - 8);
    expect(g.clippedSteps).toBeGreaterThanOrEqual(8); // at least the outlier batch of each epoch
    expect(g.clippedSteps).toBeLessThan(64 - 8);
    expect(g.maxRawNorm).toBeGreaterThan(100);
  });

  it('save/load with includeOptimizer brings back the wrapper, its transforms, iterations and skip count', () => {
    const s = result.saveLoad;
    expect(s.optimizerClass).toBe('GradStabTransformedOptimizer');
    expect(s.innerOptimizer).toBe('Adam');
    expect(s.transforms).toEqual(['gradientHealthTap', 'skipNonFinite', 'clipByGlobalNorm']);
    expect(s.iterationsLoaded).toBe(s.iterationsSaved);
    expect(s.totalSkippedLoaded).toBe(8);
    expect(s.maxPredictionDiff).toBe(0);
    expect(Number.isFinite(s.lossAfterResuming)).toBe(true);
  });

  it('prints every run and the measured counts, and leaves no tensor behind but the one tfjs save leaks', () => {
    const text = resultText(result, { ...DEFAULTS, ...options });
    for (const r of result.runs) expect(text).toContain(r.name);
    expect(text).toMatch(/of 64 steps, \d+ had a raw global gradient norm above 1 .* 8 were skipped/);
    // tfjs 4.22's model.save(..., {includeOptimizer: true}) leaks one tensor: the `iter` scalar that
    // Optimizer.saveIterations() creates for the saved weights is never disposed. Everything else is freed.
    expect(leaked).toBe(1);
  });
});

describe('examples/fit-with-clipping.ts from the command line', () => {
  it('checks its flags', () => {
    expect(parseArgs([])).toEqual({ backend: 'wasm', options: DEFAULTS });
    expect(parseArgs(['--backend', 'cpu', '--steps', '32'])).toEqual({
      backend: 'cpu',
      options: { ...DEFAULTS, steps: 32 },
    });
    expect(parseArgs(['-h'])).toBe('help');
    expect(() => parseArgs(['--steps', '0'])).toThrow('--steps needs a whole number >= 1, got 0');
    expect(() => parseArgs(['--backend', 'gpu'])).toThrow('--backend must be wasm or cpu, got gpu');
    expect(() => parseArgs(['--epochs', '3'])).toThrow('unknown argument --epochs');
  });

  it('runs as a script: --help prints the usage', () => {
    const out = runExampleScript('fit-with-clipping.ts', '--help');
    expect(out).toContain('usage: node --import tsx examples/fit-with-clipping.ts [--backend wasm|cpu] [--steps N]');
  }, 30_000);
});
