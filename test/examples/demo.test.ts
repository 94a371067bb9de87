import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const demo = (...args: string[]) =>
  execFileSync(process.execPath, ['--import', 'tsx', 'examples/demo.ts', ...args], { cwd: root, encoding: 'utf8' });

describe('npm run demo', () => {
  it('shows the unclipped run blowing up and the clipped runs staying finite', () => {
    const out = demo('--backend', 'cpu', '--steps', '80');
    const rows = out.split('\n').filter((l) => l.includes("'SGD"));
    expect(rows).toHaveLength(3);
    expect(rows[0]).toMatch(/'SGD, no clipping'.*'NaN'.*false/);
    for (const row of rows.slice(1)) expect(row).toMatch(/│ true\s+│/);
    expect(out).toMatch(/gradients are NaN\/Inf from step \d+; with clipping it ends at 0\.\d+/);
  });

  it('documents its options', () => {
    expect(demo('--help')).toContain('usage: npm run demo -- [--backend wasm|cpu] [--steps N]');
  });
});
