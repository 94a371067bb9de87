import { describe, expect, it } from 'vitest';
import { runExampleScript } from '../helpers/run-example.js';

describe('examples/init-depth-study.ts (the table of docs/initialization-and-activations.md)', () => {
  it('runs small and shows He keeping the ReLU signal where the tfjs default shrinks it', () => {
    const out = runExampleScript(
      'init-depth-study.ts',
      '--backend',
      'cpu',
      '--depth',
      '6',
      '--width',
      '32',
      '--batch',
      '16',
    );
    // Column 6 is the std of the last layer's output.
    const lastStd = (initializer: string) => {
      const row = out.split('\n').find((l) => l.startsWith('| relu |') && l.includes(initializer));
      return Number(row?.split('|')[6]);
    };
    const he = lastStd('`heNormal()`');
    const tfjsDefault = lastStd('tfjs layers default');
    expect(he).toBeGreaterThan(0.4);
    expect(tfjsDefault).toBeLessThan(he / 4);
  });
});
