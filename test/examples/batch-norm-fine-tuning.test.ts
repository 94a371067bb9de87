import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  batchNormFineTuning,
  DEFAULTS,
  type FineTuneRun,
  parseArgs,
  resultText,
} from '../../examples/batch-norm-fine-tuning.js';
import { runExampleScript } from '../helpers/run-example.js';
import { useCpu } from '../helpers/tf.js';

let runs: FineTuneRun[] = [];
let leaked = 0;

beforeAll(async () => {
  await useCpu();
  const before = tf.memory().numTensors;
  runs = await batchNormFineTuning({ steps: 24 }); // 48 pre-training steps, 24 fine-tuning steps
  leaked = tf.memory().numTensors - before;
}, 60_000);

const run = (bn: 'gradstab' | 'tfjs') => runs.find((r) => r.batchNorm === bn) as FineTuneRun;

describe('examples/batch-norm-fine-tuning.ts: a frozen base with batch norm, a new head', () => {
  it('pre-trains, and the loaded model predicts as the saved one, with the same batch-norm class', () => {
    for (const r of runs) {
      expect(r.pretrainLoss).toBeLessThan(0.3);
      expect(r.loadedLoss).toBe(r.pretrainLoss);
    }
    expect(run('gradstab').loadedClass).toBe('GradStabBatchNormalization');
    expect(run('tfjs').loadedClass).toBe('BatchNormalization');
  });

  it("gradstab's frozen batch norm keeps its moving statistics exactly, while the new head learns", () => {
    const r = run('gradstab');
    expect(r.trainableWeights).toEqual(['newHead/kernel', 'newHead/bias']);
    expect(r.frozenWeightsChange).toBe(0);
    expect(r.movingMeanChange).toBe(0);
    expect(r.movingVarianceChange).toBe(0);
    expect(r.headLossAfter).toBeLessThan(r.headLossBefore / 3);
  });

  it("tfjs's frozen batch norm moves its moving statistics towards the shifted data (the contrast)", () => {
    const r = run('tfjs');
    expect(r.trainableWeights).toEqual(['newHead/kernel', 'newHead/bias']);
    expect(r.frozenWeightsChange).toBe(0);
    expect(r.movingMeanChange).toBeGreaterThan(0.1);
    expect(r.movingVarianceChange).toBeGreaterThan(0.01);
  });

  it('prints both runs and leaves no tensor behind', () => {
    const text = resultText(runs);
    expect(text).toContain('=== gradstab layers.batchNormalization');
    expect(text).toContain('=== tf.layers.batchNormalization');
    expect(text).toContain('largest change of a moving mean 0, of a moving variance 0');
    expect(leaked).toBe(0);
  });
});

describe('examples/batch-norm-fine-tuning.ts from the command line', () => {
  it('checks its flags', () => {
    expect(parseArgs([])).toEqual({ backend: 'wasm', options: DEFAULTS });
    expect(parseArgs(['--steps', '16', '--backend', 'cpu'])).toEqual({
      backend: 'cpu',
      options: { ...DEFAULTS, steps: 16 },
    });
    expect(parseArgs(['--help'])).toBe('help');
    expect(() => parseArgs(['--steps', '12'])).toThrow('--steps must be a multiple of 8, got 12');
    expect(() => parseArgs(['--steps', '0'])).toThrow('--steps needs a whole number >= 8, got 0');
  });

  it('runs as a script: --help prints the usage', () => {
    const out = runExampleScript('batch-norm-fine-tuning.ts', '--help');
    expect(out).toContain(
      'usage: node --import tsx examples/batch-norm-fine-tuning.ts [--backend wasm|cpu] [--steps N]',
    );
  }, 30_000);
});
