import { beforeAll, describe, expect, it } from 'vitest';
import { compareDepth, DEFAULTS, depthTable } from '../../examples/batch-norm-depth.js';
import { spawnExampleScript } from '../helpers/run-example.js';
import { useCpu } from '../helpers/tf.js';

beforeAll(useCpu);

describe('examples/batch-norm-depth.ts: a 20-layer sigmoid MLP learns only with batch normalization', () => {
  it('without: stuck at chance with vanishing gradients; with: learns the rings', async () => {
    const rows = await compareDepth({ ...DEFAULTS, examples: 256, batchSize: 32, epochs: 15 });
    const [plain, normalized] = rows;
    expect(plain?.firstToLastGradient).toBeLessThan(1e-8); // the first layer gets almost no gradient
    expect(plain?.lossAfter).toBeGreaterThan(0.65); // ln 2 = 0.693 is a coin toss
    expect(plain?.accuracyAfter).toBeLessThan(0.6);
    expect(normalized?.firstToLastGradient).toBeGreaterThan(0.1);
    expect(normalized?.lossAfter).toBeLessThan(0.35);
    expect(normalized?.accuracyAfter).toBeGreaterThan(0.85); // 91% on cpu with these seeds
    expect(depthTable(rows)).toContain('| sigmoid + batchNormalization |');
  }, 60_000);
});

describe('examples/batch-norm-depth.ts from the command line', () => {
  it('prints its usage with --help and rejects unknown flags', () => {
    const run = (...args: string[]) => spawnExampleScript('batch-norm-depth.ts', ...args);
    expect(run('--help').stdout).toContain('usage: node --import tsx examples/batch-norm-depth.ts');
    const bad = run('--depth', '0');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('--depth needs a whole number >= 1, got 0');
  }, 30_000);
});
