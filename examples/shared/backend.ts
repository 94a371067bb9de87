import { createRequire } from 'node:module';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

/**
 * Switches tfjs to `wasm` (its binary ships in the npm package, so it needs no download) or `cpu`, falling back to
 * `cpu` when wasm cannot start. Production mode: no "install tfjs-node" banner and no debug checks. Returns the
 * backend in use.
 */
export async function useBackend(name: 'wasm' | 'cpu'): Promise<'wasm' | 'cpu'> {
  tf.enableProdMode();
  if (name === 'wasm') {
    const require = createRequire(import.meta.url);
    const pkg = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
    setWasmPaths(`${path.join(pkg, 'dist')}${path.sep}`);
    try {
      if (await tf.setBackend('wasm')) {
        await tf.ready();
        return 'wasm';
      }
    } catch {
      // fall through to cpu
    }
    console.error('wasm backend unavailable; using cpu');
  }
  await tf.setBackend('cpu');
  await tf.ready();
  return 'cpu';
}
