import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diagnoseGradients, type RunResult } from '../../examples/diagnose-gradients.js';
import { useCpu } from '../helpers/tf.js';

const outDir = mkdtempSync(join(tmpdir(), 'gradstab-diagnose-'));
let results: RunResult[] = [];

beforeAll(async () => {
  await useCpu();
  // 32 steps = 2 epochs of 16 batches: enough for the verdicts, small enough for the cpu backend.
  results = await diagnoseGradients({ steps: 32, outDir, runs: ['vanishing', 'healthy', 'nan-batch'] });
}, 60_000);
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

const byName = (name: string) => {
  const found = results.find((r) => r.name === name);
  if (!found) throw new Error(`no run ${name}`);
  return found;
};
const hidden = (i: number) => `h${String(i).padStart(2, '0')}`;

describe('examples/diagnose-gradients.ts: what the monitor says about four set-ups', () => {
  it("vanishing: a 'vanishing' event at step 1 naming the first layers, and a depth profile of ~1e-13", () => {
    const r = byName('vanishing');
    expect(r.steps).toBe(32);
    const vanishing = r.events.filter((e) => e.kind === 'vanishing');
    expect(vanishing.length).toBeGreaterThan(0);
    expect(vanishing[0]?.step).toBe(1);
    expect(vanishing[0]?.layers.slice(0, 5)).toEqual([1, 2, 3, 4, 5].map(hidden));
    expect(vanishing[0]?.layers).not.toContain('out');
    expect(vanishing[0]?.figures.depthRatio).toBeLessThan(1e-10);
    expect(r.report.counts.vanishing).toBe(32); // on every step
    const first = r.report.layers[0];
    expect(first?.layer).toBe('h01');
    expect(first?.depthRatio).toBeLessThan(1e-10);
    expect(first?.updateRatio).toBeLessThan(1e-10); // SGD moves h01 by nothing
    expect(r.lossAfter).toBeGreaterThan(0.68); // ln 2 = 0.693: it learned nothing
    expect(r.probe.verdicts).toEqual([]); // not saturated: sigmoid' <= 1/4 per layer does it
  });

  it('healthy: no vanishing, exploding or non-finite events; every layer within 10x of the last', () => {
    const r = byName('healthy');
    expect(r.events.filter((e) => e.kind !== 'spike')).toEqual([]);
    expect(r.report.counts).toMatchObject({ vanishing: 0, exploding: 0, nonFinite: 0 });
    for (const l of r.report.layers) {
      expect(l.depthRatio).toBeGreaterThan(0.1);
      expect(l.depthRatio).toBeLessThan(10);
    }
    expect(r.probe.verdicts).toEqual([]);
  });

  it("nan-batch: 'nonFinite' on the corrupt batch of each epoch, skipped, and training goes on", () => {
    const r = byName('nan-batch');
    const nonFinite = r.events.filter((e) => e.kind === 'nonFinite');
    expect(nonFinite.map((e) => e.step)).toEqual([4, 20]); // example 100 is in batch 4 of 16
    expect(nonFinite[0]?.layers).toEqual([...Array.from({ length: 20 }, (_, i) => hidden(i + 1)), 'out']);
    expect(r.skippedSteps).toBe(2);
    expect(r.nonFiniteStepsPerEpoch).toEqual([1, 1]);
    expect(r.report.layers.every((l) => l.nonFiniteSteps === 2)).toBe(true);
    expect(Number.isFinite(r.lossAfter)).toBe(true);
  });

  it('summaries name every layer; the pictures are SVG documents', () => {
    for (const r of results) {
      expect(r.summary).toMatch(/^gradient health after 32 steps \(32 recorded\)/);
      for (const layer of ['h01', 'h10', 'h20', 'out']) expect(r.summary).toMatch(new RegExp(`^${layer} `, 'm'));
      expect(r.svgPath).toBe(join(outDir, `${r.name}.svg`));
      const svg = readFileSync(r.svgPath, 'utf8');
      expect(svg.startsWith('<svg')).toBe(true);
      expect(svg).toContain(`${r.name}: 20 x Dense(32`); // the title
      expect(r.svgBytes).toBe(Buffer.byteLength(svg));
    }
    expect(byName('vanishing').summary).toMatch(/vanishing at steps 1-32 \(32 times\): gradient norms of h01, h02/);
    expect(byName('healthy').summary).toMatch(/\nverdicts: none/);
  });
});

describe('examples/diagnose-gradients.ts from the command line', () => {
  it('prints its usage with --help and rejects bad flags', async () => {
    const run = (...args: string[]) =>
      new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', 'examples/diagnose-gradients.ts', ...args], {
          cwd: fileURLToPath(new URL('../..', import.meta.url)),
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d) => {
          stdout += d;
        });
        child.stderr.on('data', (d) => {
          stderr += d;
        });
        child.on('close', (status) => resolve({ status, stdout, stderr }));
      });
    const [help, bad] = await Promise.all([run('--help'), run('--steps', '0')]); // side by side: each starts tsx
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('usage: node --import tsx examples/diagnose-gradients.ts');
    expect(help.stdout).toContain('--out-dir');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('--steps needs a whole number >= 1, got 0');
  }, 30_000);
});
