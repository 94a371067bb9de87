// The float32-edges table (test/helpers/numerics-table.ts) on the webgl backend, bundled by the browser test with
// gradstab's ESM build: the page puts the results in window.__numerics.
import * as tf from '@tensorflow/tfjs';
import * as gradstab from 'gradstab';
import { numericallyClose, numericsCases } from '../helpers/numerics-table.js';
import { GOOD_BATCHES, INF_BATCH, NAN_BATCH, type SkipResult } from '../helpers/skip-batches.js';

interface Row {
  name: string;
  ok: boolean;
  got?: number[];
  want?: number[];
  error?: string;
}

/**
 * skipNonFinite with its default on webgl (decided on the device): Adam on a tiny regression through bad batches
 * (a bad first step, a NaN and an Infinity between good ones) must end exactly as a run without them, with no
 * blocking read of the backend during training.
 */
async function skipOnWebgl(): Promise<SkipResult> {
  const good = GOOD_BATCHES as number[][];
  const bad = NAN_BATCH as number[];
  const inf = INF_BATCH as number[];
  const backend = tf.backend() as unknown as { readSync: (...args: unknown[]) => unknown };
  const train = async (optimizer: tf.Optimizer, batches: number[][], name: string) => {
    const w = tf.variable(tf.tensor1d([0.5, -0.3]), true, `${name}/w`);
    const original = backend.readSync;
    let reads = 0;
    backend.readSync = function (this: unknown, ...args: unknown[]) {
      reads++;
      return original.apply(this, args);
    };
    try {
      for (const batch of batches) {
        const x = tf.tensor1d(batch);
        optimizer.minimize(() => tf.sum(tf.square(tf.sub(tf.mul(w, x), 1))) as tf.Scalar, false, [w]);
        x.dispose();
      }
    } finally {
      backend.readSync = original;
    }
    const slots = (await optimizer.getWeights()).filter((v) => !v.name.startsWith('__gradstab__'));
    const values = [await w.data(), ...(await Promise.all(slots.map((s) => s.tensor.data())))].map((v) =>
      Array.from(v),
    );
    w.dispose();
    return { reads, values };
  };
  const clean = await train(tf.train.adam(0.1), good, 'clean');
  const optimizer = gradstab.withTransforms(
    tf.train.adam(0.1),
    gradstab.skipNonFinite(),
    gradstab.clipByGlobalNorm(10),
  );
  const skipped = await train(optimizer, [bad, good[0] as number[], bad, inf, ...good.slice(1)], 'skipped');
  await optimizer.flush();
  return {
    readSync: skipped.reads,
    sameWeights: JSON.stringify(skipped.values) === JSON.stringify(clean.values),
    weights: skipped.values,
    clean: clean.values,
    iterations: optimizer.iterations,
    skippedSteps: optimizer.skippedSteps,
  };
}

/** What `diagnose()` did on webgl: its findings and winner, its blocking reads, and the tensors it left. */
export interface DiagnoseOnWebgl {
  readSync: number;
  findings: string[];
  winner: string | null;
  improved: boolean | null;
  tensorsLeft: number;
  summary: string;
}

/**
 * `diagnose()` on webgl (the guide's deep sigmoid MLP, 60 steps per trial, as the guide): every trial's figures must be read
 * asynchronously, so the backend's readSync is counted while it runs.
 */
async function diagnoseOnWebgl(): Promise<DiagnoseOnWebgl> {
  const backend = tf.backend() as unknown as { readSync: (...args: unknown[]) => unknown };
  const model = tf.sequential();
  for (let i = 0; i < 8; i++) {
    model.add(
      tf.layers.dense({
        units: 16,
        activation: 'sigmoid',
        ...(i === 0 ? { inputShape: [4] } : {}),
        kernelInitializer: tf.initializers.glorotUniform({ seed: i }),
      }),
    );
  }
  model.add(
    tf.layers.dense({ units: 1, activation: 'sigmoid', kernelInitializer: tf.initializers.glorotUniform({ seed: 9 }) }),
  );
  model.compile({ optimizer: tf.train.sgd(0.5), loss: 'binaryCrossentropy' });
  const x = tf.randomNormal([256, 4], 0, 1, 'float32', 1);
  const y = tf.tidy(() => tf.cast(tf.greater(tf.sum(x, 1, true), 0), 'float32'));
  const before = tf.memory().numTensors;
  const original = backend.readSync;
  let reads = 0;
  backend.readSync = function (this: unknown, ...args: unknown[]) {
    reads++;
    return original.apply(this, args);
  };
  let diagnosis: gradstab.Diagnosis;
  try {
    diagnosis = await gradstab.diagnose(model, { x, y }, { steps: 60 });
  } finally {
    backend.readSync = original;
  }
  const best = diagnosis.prescriptions[0];
  const result = {
    readSync: reads,
    findings: diagnosis.findings.map((f) => f.kind),
    winner: best?.kind ?? null,
    improved: best?.verified?.improved ?? null,
    tensorsLeft: 0,
    summary: diagnosis.summary(),
  };
  diagnosis.dispose();
  result.tensorsLeft = tf.memory().numTensors - before;
  model.dispose();
  (model.optimizer as tf.Optimizer | undefined)?.dispose();
  tf.dispose([x, y]);
  return result;
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
    skip: await skipOnWebgl().catch((e: unknown) => ({ error: e instanceof Error ? e.message : String(e) })),
    diagnose: await diagnoseOnWebgl().catch((e: unknown) => ({ error: e instanceof Error ? e.message : String(e) })),
  };
}

void run();
