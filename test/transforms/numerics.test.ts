import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as gradstab from '../../src/index.js';
import { numericallyClose, numericsCases } from '../helpers/numerics-table.js';
import { useBackend, useCpu } from '../helpers/tf.js';

/**
 * The float32 edges (NaN, ±Infinity, 3e38, 1e20, 1e-25, -0, zeros, zero-size tensors) through every transform and
 * the monitor, on cpu and on wasm; test/browser runs the same table on webgl. See test/helpers/numerics-table.ts.
 */
describe.each(['cpu', 'wasm'] as const)('float32 edges on %s', (backend) => {
  beforeAll(() => useBackend(backend));
  afterAll(useCpu);

  it.each(numericsCases(tf, gradstab).map((c) => [c.name, c] as const))('%s', async (_, c) => {
    const before = tf.memory().numTensors;
    const { got, want } = await c.run();
    expect(numericallyClose(got, want), `got [${got}], want [${want}]`).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
  });
});
