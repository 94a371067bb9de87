/**
 * Builds what the browser example serves: gradstab's ESM build (tsup with the project's own config, minus the
 * declaration files and the CommonJS format) and the esbuild browser bundle of `bundle-entry.js`. Used by
 * `serve.ts` and by test/browser/browser.test.ts, so neither needs a prior `npm run build`.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build as esbuild } from 'esbuild';
import { build as tsup } from 'tsup';
import projectConfig from '../../tsup.config.js';

/** The repository's root directory. */
export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** Where the builds go by default: under the gitignored `.tmp/`. */
export const defaultOutDir = join(repoRoot, '.tmp', 'browser');

/** What {@link buildExample} wrote. */
export interface ExampleBuild {
  /** The directory holding gradstab's ESM build (`index.js`), served at `/dist/`. */
  readonly esmDir: string;
  /** The directory holding the esbuild bundle (`bundle.js`), served at `/examples/browser/build/`. */
  readonly bundleDir: string;
  /** The bundle's size in bytes. */
  readonly bundleBytes: number;
}

/** gradstab's ESM build, as `npm run build` makes `dist/index.js`, into `outDir`. */
export async function buildEsm(outDir: string): Promise<string> {
  if (typeof projectConfig === 'function' || Array.isArray(projectConfig)) {
    throw new Error('examples/browser/build.ts expects tsup.config.ts to export one plain options object');
  }
  await tsup({
    ...projectConfig,
    config: false,
    entry: [join(repoRoot, 'src', 'index.ts')],
    format: ['esm'],
    dts: false,
    outDir,
    silent: true,
  });
  return join(outDir, 'index.js');
}

/**
 * The bundler path: `bundle-entry.js` with gradstab (the ESM build at `gradstabEsm`, as a bundler finds it in
 * node_modules), tfjs, vega and vega-lite in one ES module for the browser, `outDir/bundle.js`.
 */
export async function buildBundle(gradstabEsm: string, outDir: string): Promise<number> {
  const outfile = join(outDir, 'bundle.js');
  await esbuild({
    absWorkingDir: repoRoot,
    entryPoints: [join(repoRoot, 'examples', 'browser', 'bundle-entry.js')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    minify: true,
    sourcemap: true,
    alias: { gradstab: gradstabEsm },
    outfile,
    logLevel: 'error',
  });
  return (await stat(outfile)).size;
}

/** Both builds, into `outDir/dist` and `outDir/bundle`. */
export async function buildExample(outDir: string = defaultOutDir): Promise<ExampleBuild> {
  const esmDir = join(outDir, 'dist');
  const bundleDir = join(outDir, 'bundle');
  const esm = await buildEsm(esmDir);
  const bundleBytes = await buildBundle(esm, bundleDir);
  return { esmDir, bundleDir, bundleBytes };
}

/** The server mounts that make the example pages load these builds. */
export function exampleMounts(build: ExampleBuild): Record<string, string> {
  return { '/dist/': build.esmDir, '/examples/browser/build/': build.bundleDir };
}
