import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULTS, type LsuvExampleResult, lsuvExample, parseArgs, resultText } from '../../examples/lsuv.js';
import { runExampleScript } from '../helpers/run-example.js';
import { useCpu } from '../helpers/tf.js';

const options = { depth: 8, steps: 40 };
let result: LsuvExampleResult;
let leaked = 0;

beforeAll(async () => {
  await useCpu();
  const before = tf.memory().numTensors;
  result = await lsuvExample(options);
  leaked = tf.memory().numTensors - before;
}, 60_000);

const hidden = () => result.layers.filter((l) => l.name !== 'out');

describe('examples/lsuv.ts: LSUV on a deep ReLU MLP with the default init', () => {
  it("the default init's output variance shrinks with depth (about halved per ReLU layer)", () => {
    const v = hidden().map((l) => l.defaultInit);
    expect(v).toHaveLength(8);
    for (let i = 1; i < v.length; i++) expect(v[i]).toBeLessThan(v[i - 1] as number);
    expect(v.at(-1)).toBeLessThan(1e-2 * (v[0] as number));
  });

  it("after LSUV every hidden layer's output variance is within tolerance (0.1) of 1, also on fresh inputs", () => {
    expect(result.report.converged).toBe(true);
    for (const l of hidden()) {
      const rep = result.report.layers.find((r) => r.name === l.name);
      expect(rep?.status).toBe('scaled');
      expect(rep?.orthogonalInit).toBe(true);
      expect(Math.abs((rep?.varianceAfter as number) - 1)).toBeLessThan(0.1);
      expect(Math.abs(l.lsuvBatch - 1)).toBeLessThan(0.1); // measured again here, with the model's own layers
      expect(Math.abs(l.fresh - 1)).toBeLessThan(0.15);
    }
    const out = result.report.layers.find((r) => r.name === 'out');
    expect(out?.status).toBe('skipped');
    expect(out?.reason).toContain('fewer than minUnits (32)');
  });

  it('the LSUV model trains where the default-init model does not move', () => {
    const first = (xs: readonly (readonly [number, number])[]) => (xs[0] as readonly [number, number])[1];
    const last = (xs: readonly (readonly [number, number])[]) => (xs.at(-1) as readonly [number, number])[1];
    expect(result.defaultLosses.map(([s]) => s)).toEqual([0, 20, 40]);
    expect(Math.abs(last(result.defaultLosses) - first(result.defaultLosses))).toBeLessThan(0.02);
    expect(last(result.lsuvLosses)).toBeLessThan(0.6 * last(result.defaultLosses));
    expect(last(result.lsuvLosses)).toBeLessThan(first(result.lsuvLosses));
  });

  it('prints a line per layer and leaves no tensor behind', () => {
    const text = resultText(result);
    for (const l of result.layers) expect(text).toMatch(new RegExp(`^${l.name} `, 'm'));
    expect(text).toContain('converged: true');
    expect(leaked).toBe(0);
  });
});

describe('examples/lsuv.ts from the command line', () => {
  it('checks its flags', () => {
    expect(parseArgs([])).toEqual({ backend: 'wasm', options: DEFAULTS });
    expect(parseArgs(['--depth', '4', '--steps', '10', '--backend', 'cpu'])).toEqual({
      backend: 'cpu',
      options: { ...DEFAULTS, depth: 4, steps: 10 },
    });
    expect(parseArgs(['-h'])).toBe('help');
    expect(() => parseArgs(['--depth', '0'])).toThrow('--depth needs a whole number in [1, 100], got 0');
    expect(() => parseArgs(['--steps', 'x'])).toThrow('--steps needs a whole number >= 1, got x');
  });

  it('runs as a script: --help prints the usage', () => {
    const out = runExampleScript('lsuv.ts', '--help');
    expect(out).toContain('usage: node --import tsx examples/lsuv.ts [--backend wasm|cpu] [--steps N] [--depth N]');
  }, 30_000);
});
