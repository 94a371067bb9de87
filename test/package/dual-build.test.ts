import { beforeAll, describe, expect, inject, it } from 'vitest';
import { copyScripts, runJson } from './project.js';

describe('the ES-module and CommonJS builds in one process', () => {
  const dir = inject('consumer');
  beforeAll(() => copyScripts(dir, 'dual-build.mjs'));

  it('register each class once, pass instanceof across builds, flatten wrappers across builds, save and load', async () => {
    expect(await runJson(dir, 'dual-build.mjs')).toEqual({
      twoBuilds: true,
      registeredIsFirstBuild: true,
      instanceofAcross: true,
      notEveryOptimizer: true,
      rewrapped: ['skipNonFinite', 'clipByGlobalNorm'],
      spent: 'GradStabError',
      errorAcross: true,
      customAcross: 'dualScale',
      loaded: {
        optimizerBothBuilds: true,
        transforms: ['skipNonFinite', 'clipByGlobalNorm'],
        iterations: 4,
        bnBothBuilds: true,
      },
    });
  });
});
