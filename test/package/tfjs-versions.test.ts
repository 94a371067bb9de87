import { join } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { copyScripts, devVersion, installedCopies, installProject, runJson, workRoot } from './project.js';

/** What test/package/scripts/train-body.cjs reports. */
interface TrainResult {
  tfjs: string;
  core: string;
  layers: string;
  firstLoss: number;
  lastLoss: number;
  steps: number;
  monitoredLayers: string[];
  optimizer: string;
  transforms: string[];
  iterations: number;
  layerClasses: string[];
  kernelInitializer: string;
  bnIsLayer: boolean;
}

/**
 * `npm install gradstab @tensorflow/tfjs@<version>`, as the README says, for the oldest tfjs we test and the newest:
 * npm must install one copy of tfjs-core and tfjs-layers (gradstab's peers are optional, so npm takes the ones tfjs
 * brings instead of adding the newest beside them), and a short fit with clipping, batch norm and the monitor must
 * train, save and load, from an ES module and from CommonJS.
 */
describe.each(['4.17.0', devVersion('@tensorflow/tfjs')])('npm install gradstab @tensorflow/tfjs@%s', (version) => {
  let dir = '';
  beforeAll(async () => {
    dir = await installProject(join(workRoot, `tfjs-${version}`), {
      gradstab: `file:${inject('tarball')}`,
      '@tensorflow/tfjs': version,
    });
    copyScripts(dir, 'train-body.cjs', 'train.mjs', 'train.cjs');
  });

  it('installs one copy of tfjs-core and of tfjs-layers, the version tfjs asks for', () => {
    for (const pkg of ['@tensorflow/tfjs-core', '@tensorflow/tfjs-layers']) {
      expect(installedCopies(dir, pkg).map((c) => c.version)).toEqual([version]);
    }
  });

  it.each(['train.mjs', 'train.cjs'])(
    '%s: trains with clipping, batch norm and the monitor; saves and loads',
    async (script) => {
      const r = await runJson<TrainResult>(dir, script);
      expect([r.tfjs, r.core, r.layers]).toEqual([version, version, version]);
      expect(r.lastLoss).toBeLessThan(r.firstLoss / 2);
      expect(r.steps).toBe(40);
      expect(r.monitoredLayers).toEqual(['hidden', 'bn', 'out']);
      expect(r.optimizer).toBe('GradStabTransformedOptimizer');
      expect(r.transforms).toEqual(['gradientHealthTap', 'clipByGlobalNorm']);
      expect(r.iterations).toBe(40);
      expect(r.layerClasses).toEqual(['Dense', 'GradStabBatchNormalization', 'GradStabReLU', 'Dense']);
      expect(r.kernelInitializer).toBe('GradStabVarianceScaling');
      expect(r.bnIsLayer).toBe(true);
    },
  );
});
