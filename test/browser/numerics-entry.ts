// The float32-edges table (test/helpers/numerics-table.ts) on the webgl backend, bundled by the browser test with
// gradstab's ESM build: the page puts the results in window.__numerics.
import * as tf from '@tensorflow/tfjs';
import * as gradstab from 'gradstab';
import { numericallyClose, numericsCases } from '../helpers/numerics-table.js';

interface Row {
  name: string;
  ok: boolean;
  got?: number[];
  want?: number[];
  error?: string;
}

async function run(): Promise<void> {
  await tf.setBackend('webgl');
  await tf.ready();
  const rows: Row[] = [];
  for (const c of numericsCases(tf, gradstab)) {
    try {
      const { got, want } = await c.run();
      rows.push({ name: c.name, ok: numericallyClose(got, want), got, want });
    } catch (e) {
      rows.push({ name: c.name, ok: false, error: e instanceof Error ? e.message : String(e) });
    }
  }
  (window as unknown as { __numerics: unknown }).__numerics = {
    backend: tf.getBackend(),
    webglVersion: tf.env().getNumber('WEBGL_VERSION'),
    floatPrecision: tf.env().getBool('WEBGL_RENDER_FLOAT32_ENABLED') ? 32 : 16,
    rows,
  };
}

void run();
