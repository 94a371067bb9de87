import { describe, expect, inject, it } from 'vitest';
import { root, sh } from './project.js';

describe('the packed manifest', () => {
  it('passes publint --strict', async () => {
    const { stdout } = await sh('npx', ['--no-install', 'publint', inject('tarball'), '--strict'], root);
    expect(stdout).toContain('All good!');
  });

  it('passes arethetypeswrong for node10, node16 (ESM and CJS) and bundlers', async () => {
    const { stdout } = await sh('npx', ['--no-install', 'attw', inject('tarball'), '--format', 'table-flipped'], root);
    expect(stdout).toContain('No problems found');
  });
});
