import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { copyScripts, installedCopies, installProject, runJson, sh, workRoot } from './project.js';

/**
 * Two copies of tfjs: the app pins @tensorflow/tfjs 4.17.0 and also asks for tfjs-core and tfjs-layers 4.22.0, so
 * npm nests 4.17.0 under tfjs and puts 4.22.0 at the top, where gradstab finds it. gradstab must say so with a
 * GradStabError naming both versions and the command that fixes it, whichever loads first, and that command must
 * fix it.
 */
const scripts: Record<string, string> = {
  'tfjs-first.mjs': `import '@tensorflow/tfjs';
try {
  await import('gradstab');
  console.log(JSON.stringify({ ok: true }));
} catch (e) {
  console.log(JSON.stringify({ name: e.name, message: e.message }));
}
`,
  'gradstab-first.mjs': `const gs = await import('gradstab');
await import('@tensorflow/tfjs');
try {
  gs.heNormal();
  console.log(JSON.stringify({ ok: true }));
} catch (e) {
  console.log(JSON.stringify({ name: e.name, message: e.message }));
}
`,
  'tfjs-first.cjs': `require('@tensorflow/tfjs');
try {
  require('gradstab');
  console.log(JSON.stringify({ ok: true }));
} catch (e) {
  console.log(JSON.stringify({ name: e.name, message: e.message }));
}
`,
};

const dependencies = () => ({
  gradstab: `file:${inject('tarball')}`,
  '@tensorflow/tfjs': '4.17.0',
  '@tensorflow/tfjs-core': '4.22.0',
  '@tensorflow/tfjs-layers': '4.22.0',
});

describe('two copies of tfjs-core and tfjs-layers', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await installProject(join(workRoot, 'duplicate-tfjs'), dependencies());
    for (const [name, code] of Object.entries(scripts)) writeFileSync(join(dir, name), code);
  });

  it('are really installed (the set-up this test needs)', () => {
    expect(
      installedCopies(dir, '@tensorflow/tfjs-core')
        .map((c) => c.version)
        .sort(),
    ).toEqual(['4.17.0', '4.22.0']);
  });

  it.each(Object.keys(scripts))('%s: a GradStabError naming both versions and the fix', async (script) => {
    const result = await runJson<{ name?: string; message?: string; ok?: boolean }>(dir, script);
    expect(result.name).toBe('GradStabError');
    expect(result.message).toMatch(script.startsWith('gradstab') ? /^heNormal: / : /^import 'gradstab': /);
    expect(result.message).toContain('2 copies of @tensorflow/tfjs-core are loaded: ');
    expect(result.message).toMatch(
      /4\.17\.0 at \S+node_modules\/@tensorflow\/tfjs\/node_modules\/@tensorflow\/tfjs-core/,
    );
    expect(result.message).toMatch(/4\.22\.0 at \S+\/node_modules\/@tensorflow\/tfjs-core \(gradstab’s\)/);
    expect(result.message).toContain('2 copies of @tensorflow/tfjs-layers are loaded');
    expect(result.message).toContain('npm install @tensorflow/tfjs-core@4.17.0 @tensorflow/tfjs-layers@4.17.0');
  });

  it('the command in the message fixes it: one copy, and training works', async () => {
    const fixed = join(workRoot, 'duplicate-tfjs-fixed');
    rmSync(fixed, { recursive: true, force: true });
    await installProject(fixed, dependencies());
    rmSync(join(fixed, '.installed')); // npm changes this project below: never reuse it as installed
    await sh(
      'npm',
      [
        'install',
        '--no-audit',
        '--no-fund',
        '--loglevel=error',
        '@tensorflow/tfjs-core@4.17.0',
        '@tensorflow/tfjs-layers@4.17.0',
      ],
      fixed,
    );
    expect(installedCopies(fixed, '@tensorflow/tfjs-core').map((c) => c.version)).toEqual(['4.17.0']);
    expect(installedCopies(fixed, '@tensorflow/tfjs-layers').map((c) => c.version)).toEqual(['4.17.0']);
    copyScripts(fixed, 'train-body.cjs', 'train.mjs');
    const r = await runJson<{ core: string; iterations: number }>(fixed, 'train.mjs');
    expect(r).toMatchObject({ core: '4.17.0', iterations: 40 });
  });
});
