/**
 * `npm run demo`: what exploding gradients do to a tfjs model, and what gradstab's clipping does about it.
 *
 * Trains the same seeded MLP on built-in data (a noisy sine, with a few corrupted targets of magnitude 1e3, the
 * kind of batch that makes a step explode) three ways: the bare optimizer, `clipOptimizer({globalClipNorm})` and
 * `withTransforms(skipNonFinite, clipByGlobalNorm)`. Prints a table of final loss on clean data, the largest
 * gradient norm seen and whether the weights stayed finite.
 */
import * as tf from '@tensorflow/tfjs';
import { clipByGlobalNorm, clipOptimizer, globalNorm, skipNonFinite, withTransforms } from '../src/index.js';
import { useBackend } from './shared/backend.js';
import { backendFlag } from './shared/cli.js';

interface Options {
  backend: 'wasm' | 'cpu';
  steps: number;
}

function parseArgs(argv: string[]): Options {
  const options: Options = { backend: 'wasm', steps: 300 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') {
      console.log(
        [
          'usage: npm run demo -- [--backend wasm|cpu] [--steps N]',
          '',
          'Trains a small MLP on built-in data with corrupted batches, without and with gradstab clipping,',
          'and prints final clean loss, largest gradient norm and whether the weights stayed finite.',
          '  --backend  tfjs backend (default wasm, falls back to cpu)',
          '  --steps    training steps per configuration (default 300)',
        ].join('\n'),
      );
      process.exit(0);
    } else if (arg === '--backend') {
      options.backend = backendFlag(argv[++i], 'demo: ');
    } else if (arg === '--steps') options.steps = Number(argv[++i]);
    else throw new Error(`demo: unknown argument ${arg} (see --help)`);
  }
  if (!Number.isInteger(options.steps) || options.steps < 1)
    throw new Error('demo: --steps must be a whole number >= 1');
  return options;
}

/** y = sin(3x) + noise; every 10th batch has a few targets corrupted to +-1000 (a bad label, a sensor glitch). */
function makeBatch(step: number): { x: tf.Tensor2D; y: tf.Tensor2D } {
  return tf.tidy(() => {
    const x = tf.randomUniform([32, 1], -1, 1, 'float32', step) as tf.Tensor2D;
    let y = tf.add(tf.sin(tf.mul(x, 3)), tf.randomNormal([32, 1], 0, 0.05, 'float32', step + 1e6)) as tf.Tensor2D;
    if (step % 10 === 9) {
      const mask = tf.cast(tf.less(tf.randomUniform([32, 1], 0, 1, 'float32', step + 2e6), 0.1), 'float32');
      y = tf.add(tf.mul(y, tf.sub(1, mask)), tf.mul(mask, 1000)) as tf.Tensor2D;
    }
    return { x, y };
  });
}

function makeModel(): tf.Sequential {
  const model = tf.sequential();
  [32, 32, 32].forEach((units, i) => {
    model.add(
      tf.layers.dense({
        units,
        activation: 'tanh',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 10 + i }),
        ...(i === 0 ? { inputShape: [1] } : {}),
      }),
    );
  });
  model.add(tf.layers.dense({ units: 1, kernelInitializer: tf.initializers.glorotUniform({ seed: 99 }) }));
  return model;
}

interface Row {
  configuration: string;
  cleanLoss: number;
  maxGradNorm: number;
  firstNonFinite: number | null;
  finite: boolean;
  skipped: number;
}

async function train(name: string, optimizer: tf.Optimizer, steps: number, skippedOf: () => number): Promise<Row> {
  const model = makeModel();
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  let maxGradNorm = 0;
  let firstNonFinite: number | null = null;
  for (let step = 0; step < steps; step++) {
    const { x, y } = makeBatch(step);
    // Measure the raw gradient norm for the table; training itself goes through the optimizer as usual.
    const { value, grads } = tf.variableGrads(
      () => tf.losses.meanSquaredError(y, model.predict(x) as tf.Tensor) as tf.Scalar,
      vars,
    );
    const norm = globalNorm(grads);
    const n = (await norm.data())[0] as number;
    if (Number.isFinite(n)) maxGradNorm = Math.max(maxGradNorm, n);
    else firstNonFinite ??= step + 1;
    optimizer.applyGradients(grads);
    tf.dispose([x, y, value, grads, norm]);
    if (process.stdout.isTTY) process.stdout.write(`\r  ${name}: step ${step + 1}/${steps}`);
  }
  if (process.stdout.isTTY) process.stdout.write('\r\x1b[K');
  const clean = tf.tidy(() => {
    const x = tf.linspace(-1, 1, 200).reshape([200, 1]);
    return tf.losses.meanSquaredError(tf.sin(tf.mul(x, 3)), model.predict(x) as tf.Tensor);
  });
  const cleanLoss = (await clean.data())[0] as number;
  const finite = (await Promise.all(model.getWeights().map((w) => w.data()))).every((d) => d.every(Number.isFinite));
  clean.dispose();
  model.dispose();
  console.log(`  ${name}: done`);
  return { configuration: name, cleanLoss, maxGradNorm, firstNonFinite, finite, skipped: skippedOf() };
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const backend = await useBackend(options.backend);
  console.log(`gradstab demo: ${options.steps} steps per configuration on the ${backend} backend\n`);
  const lr = 0.05;
  const clipped = clipOptimizer(tf.train.sgd(lr), { globalClipNorm: 1 });
  const guarded = withTransforms(tf.train.sgd(lr), skipNonFinite(), clipByGlobalNorm(1));
  const rows = [
    await train('SGD, no clipping', tf.train.sgd(lr), options.steps, () => 0),
    await train('SGD + clipOptimizer({globalClipNorm: 1})', clipped, options.steps, () => clipped.skippedSteps),
    await train('SGD + skipNonFinite() + clipByGlobalNorm(1)', guarded, options.steps, () => guarded.skippedSteps),
  ];
  console.log('');
  console.table(
    rows.map((r) => ({
      configuration: r.configuration,
      'clean loss': Number.isFinite(r.cleanLoss) ? Number(r.cleanLoss.toPrecision(3)) : String(r.cleanLoss),
      'max finite grad norm': Number(r.maxGradNorm.toPrecision(3)),
      'first NaN/Inf gradient at step': r.firstNonFinite ?? '-',
      'weights finite': r.finite,
      'skipped steps': r.skipped,
    })),
  );
  const [bare, clip] = rows as [Row, Row];
  console.log(
    `\nThe corrupted batches produce gradient norms up to ${clip.maxGradNorm.toPrecision(3)}. ` +
      (Number.isFinite(bare.cleanLoss)
        ? `Unclipped, the model ends at clean loss ${bare.cleanLoss.toPrecision(3)}; `
        : `Unclipped, the weights blow up and the gradients are NaN/Inf from step ${bare.firstNonFinite}; `) +
      `with clipping it ends at ${clip.cleanLoss.toPrecision(3)}.`,
  );
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
