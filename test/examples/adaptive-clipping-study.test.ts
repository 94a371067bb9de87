import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULTS, runStudy, type StudyRow, studyTable } from '../../examples/adaptive-clipping-study.js';
import { spawnExampleScript } from '../helpers/run-example.js';
import { useCpu } from '../helpers/tf.js';

beforeAll(useCpu);

describe('examples/adaptive-clipping-study.ts: gradient spikes with and without clipping (Adam)', () => {
  it('unclipped, the spikes wreck the held-out loss; each clipping transform keeps it on course', async () => {
    // 200 steps (spikes at 40, 80, 120, 160), a smaller held-out set: the same qualitative result as the full run.
    const result = await runStudy({ ...DEFAULTS, steps: 200, heldOut: 256 });
    const byMethod = (prefix: string) => result.rows.find((r) => r.method.startsWith(prefix)) as StudyRow;
    const none = byMethod('none');
    const clipped = ['clipByGlobalNorm', 'autoClip', 'zClip', 'adaptiveGradClip'].map(byMethod);
    expect(result.rows.map((r) => r.method)).toEqual([
      'none',
      `clipByGlobalNorm(${result.fixedClip.toPrecision(2)})`,
      'autoClip()',
      'zClip()',
      'adaptiveGradClip({exclude: /^output\\//})',
    ]);
    // The limit is 2x the median healthy norm of the unclipped run.
    expect(result.fixedClip).toBeCloseTo(2 * result.healthyMedianNorm, 1);
    const beforeFirstSpike = (r: StudyRow) => r.atCheckpoints[0] as number;
    for (const r of clipped) {
      expect(r.finite).toBe(true);
      // A spike does not lift the held-out loss above where it stood before the first spike...
      expect(r.maxAfterSpike).toBeLessThan(1.1 * beforeFirstSpike(r));
      // ...and the unclipped run ends far worse (about 6x on cpu with these seeds).
      expect(none.finalLoss).toBeGreaterThan(3 * r.finalLoss);
      expect(none.maxAfterSpike).toBeGreaterThan(2 * beforeFirstSpike(none));
    }
    // Every run saw the same kind of spike: raw norms of order 1e6 (inputs x1e3).
    for (const r of result.rows) expect(r.maxRawNorm).toBeGreaterThan(1e5);
    // How often each one acts: the fixed limit and zClip only on the spikes and a few steps, autoClip (10th
    // percentile) most steps, AGC (clipping 0.01 at batch 32) every step.
    const share = Object.fromEntries(result.rows.map((r) => [r.method.replace(/\(.*$/, ''), r.clippedShare]));
    expect(share.none).toBe(0);
    expect(share.clipByGlobalNorm).toBeGreaterThanOrEqual(4 / 200);
    expect(share.clipByGlobalNorm).toBeLessThan(0.1);
    expect(share.zClip).toBeGreaterThanOrEqual(4 / 200);
    expect(share.zClip).toBeLessThan(0.1);
    expect(share.autoClip).toBeGreaterThan(0.5);
    expect(share.adaptiveGradClip).toBeGreaterThan(0.9);
    const table = studyTable(result);
    expect(table.split('\n')).toHaveLength(2 + result.rows.length);
    expect(table).toContain('| `zClip()` |');
  }, 30_000);
});

describe('examples/adaptive-clipping-study.ts from the command line', () => {
  it('prints its usage with --help and rejects bad options', () => {
    const run = (...args: string[]) => spawnExampleScript('adaptive-clipping-study.ts', ...args);
    expect(run('--help').stdout).toContain('usage: node --import tsx examples/adaptive-clipping-study.ts');
    const bad = run('--steps', '10');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('--steps needs a whole number >= 50, got 10');
  }, 30_000);
});
