import { createRequire } from 'node:module';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { layers, pytorchBatchNormArgs } from '../../src/index.js';
import { channelLayout } from '../../src/normalization/batch-norm-core.js';
import { type BatchNormPass, batchNormFixtures, type TensorFixture } from '../helpers/fixtures.js';
import { maxViolation, values } from '../helpers/tf.js';

/**
 * On wasm the layer takes its other route for channels-last inputs (broadcast ops instead of the fused
 * tf.batchNorm kernel, which is slower there); the rest of the suite runs on cpu and never sees it. These tests run
 * on wasm against the PyTorch fixtures, channels-last and channels-first.
 */
beforeAll(async () => {
  tf.enableProdMode(); // IS_TEST's kernel-leak checks misfire on wasm's in-place reshapes
  const pkg = path.dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json'));
  setWasmPaths(`${path.join(pkg, 'dist')}${path.sep}`);
  expect(await tf.setBackend('wasm')).toBe(true);
});

const fixtures = batchNormFixtures();
const toLast = (r: number) => [0, ...Array.from({ length: r - 2 }, (_, i) => i + 2), 1];
const tensor = (t: TensorFixture, last: boolean) =>
  tf.tidy(() => {
    const x = tf.tensor(t.values, t.shape);
    return last ? tf.transpose(x, toLast(t.shape.length)) : x;
  });

/** Output and gradients of sum(y * w) through the layer, compared with PyTorch's. */
function expectPass(layer: tf.layers.Layer, pass: BatchNormPass, last: boolean, training: boolean): void {
  const x = tf.variable(tensor(pass.x, last));
  const w = tensor(pass.w, last);
  let y = tf.scalar(0) as tf.Tensor;
  const { grads } = tf.variableGrads(() => {
    y = tf.keep(layer.apply(x, { training }) as tf.Tensor);
    return tf.sum(tf.mul(y, w)) as tf.Scalar;
  });
  const gradOf = (name: string): tf.Tensor => {
    const weight = layer.weights.find((v) => v.originalName.endsWith(`/${name}`));
    if (weight === undefined) throw new Error(`the layer has no ${name}`);
    return grads[(weight.read() as tf.Variable).name] as tf.Tensor;
  };
  const check = (got: tf.Tensor, want: number[]) => expect(maxViolation(values(got), want, 1e-4, 1e-4)).toBe(0);
  check(y, values(tensor(pass.y, last)));
  check(grads[x.name] as tf.Tensor, values(tensor(pass.dx, last)));
  if (pass.dgamma) check(gradOf('gamma'), pass.dgamma);
  if (pass.dbeta) check(gradOf('beta'), pass.dbeta);
  tf.dispose([x, w, y, grads]);
}

describe('batch normalization on wasm (broadcast route for channels-last inputs)', () => {
  it('takes the broadcast route there', () => {
    expect(channelLayout([2, 3], 1).fused).toBe(false);
    expect(channelLayout([2, 3], 1).channelsLast).toBe(true);
  });

  it.each(fixtures.cases.map((c) => [c.name, c] as const))(
    '%s matches PyTorch channels-last and channels-first',
    (_, c) => {
      for (const last of [true, false]) {
        const layer = layers.batchNormalization({
          ...pytorchBatchNormArgs({ momentum: c.momentum, eps: c.eps }),
          ...(last ? { axis: -1 } : {}),
          center: c.affine,
          scale: c.affine,
        });
        const shape = last ? toLast(c.shape.length).map((i) => c.shape[i] as number) : c.shape;
        layer.apply(tf.zeros(shape)); // builds it
        const channels = c.shape[1] as number;
        const learned = c.gamma && c.beta ? [tf.tensor1d(c.gamma), tf.tensor1d(c.beta)] : [];
        layer.setWeights([...learned, tf.zeros([channels]), tf.ones([channels])]);
        for (const step of c.steps) expectPass(layer, step, last, true);
        const stats = layer.getWeights().slice(-2);
        const lastStep = c.steps[c.steps.length - 1];
        expect(maxViolation(values(stats[0] as tf.Tensor), lastStep?.runningMean ?? [], 1e-4, 1e-4)).toBe(0);
        expect(maxViolation(values(stats[1] as tf.Tensor), lastStep?.runningVar ?? [], 1e-4, 1e-4)).toBe(0);
        expectPass(layer, c.eval, last, false);
        layer.dispose();
      }
    },
  );
});
