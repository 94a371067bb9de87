/** Selecting tfjs backends in Node for the benchmarks. */

import { createRequire } from 'node:module';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

export const BACKENDS = ['cpu', 'wasm'] as const;
export type BackendName = (typeof BACKENDS)[number];

let wasmPathsSet = false;

/**
 * Makes `name` the active backend. For wasm, points the loader at the `.wasm` binaries shipped in
 * `@tensorflow/tfjs-backend-wasm/dist/` (in Node the default relative URL does not resolve).
 */
export async function useBackend(name: BackendName): Promise<void> {
  if (name === 'wasm' && !wasmPathsSet) {
    const require = createRequire(import.meta.url);
    const pkg = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
    setWasmPaths(`${path.join(pkg, 'dist')}${path.sep}`);
    wasmPathsSet = true;
  }
  const ok = await tf.setBackend(name);
  if (!ok || tf.getBackend() !== name) throw new Error(`could not initialise the ${name} backend`);
  await tf.ready();
}

/** A short description of the active backend for reports (wasm: which binary features are on). */
export async function describeBackend(): Promise<string> {
  const name = tf.getBackend();
  if (name !== 'wasm') return name;
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  return `wasm (simd ${simd ? 'on' : 'off'}, threads ${threads ? 'on' : 'off'})`;
}
