import { join } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { copyScripts, root, runJson, sh } from './project.js';

describe('a tree-shaken bundle (esbuild) of an app that imports gradstab for its side effects', () => {
  const dir = inject('consumer');
  beforeAll(async () => {
    copyScripts(dir, 'bundled.mjs');
    const esbuild = join(root, 'node_modules', '.bin', 'esbuild');
    await sh(
      esbuild,
      [
        'bundled.mjs',
        '--bundle',
        '--format=esm',
        '--platform=node',
        '--tree-shaking=true',
        '--external:@tensorflow/*',
        '--outfile=bundled.out.mjs',
        '--log-level=warning',
      ],
      dir,
    );
  });

  it('keeps the optimizer class registration: a saved GradStabTransformedOptimizer loads', async () => {
    expect(await runJson(dir, 'bundled.out.mjs')).toEqual({ optimizer: 'GradStabTransformedOptimizer' });
  });
});
