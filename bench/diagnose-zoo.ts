/**
 * The diagnosis zoo as a benchmark: every network of `test/helpers/zoo.ts` diagnosed with the default budget, its
 * winning prescription and the known-good configuration trained for the case's budget, and a 1M-parameter MLP
 * timed. Reports per network the findings, the winner, the held-out losses (unchanged, winner, known-good) and
 * the seconds the diagnosis took; then the targets.
 *
 *   npm run bench:diagnose                                # wasm (conv nets on cpu: wasm has no Conv2DBackpropFilter)
 *   npm run bench:diagnose -- --backend cpu --write docs/benchmarks.md
 */
import * as tf from '@tensorflow/tfjs';
import { type DiagnoseProgress, diagnose } from '../src/index.js';
import { checkZooCase, ZOO, type ZooOutcome } from '../test/helpers/zoo.js';
import { type BackendName, describeBackend, useBackend } from './backends.js';
import { writeBlock } from './markdown-block.js';

interface Args {
  backend: BackendName;
  write?: string;
  filter?: string;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { backend: 'wasm' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--backend') {
      const b = argv[++i];
      if (b !== 'cpu' && b !== 'wasm') throw new Error(`--backend must be cpu or wasm, got ${b}`);
      args.backend = b;
    } else if (a === '--write') args.write = argv[++i];
    else if (a === '--') continue;
    else if (a !== undefined) args.filter = a;
  }
  return args;
}

const fmt = (x: number | null): string => (x === null ? '-' : Number.isFinite(x) ? x.toPrecision(3) : String(x));

/** A sigmoid MLP of 6 layers of 400 units on 64 inputs: 0.83M parameters, vanishing gradients. */
function millionParameterModel(): tf.LayersModel {
  const model = tf.sequential();
  for (let i = 0; i < 6; i++) {
    model.add(
      tf.layers.dense({
        units: 400,
        activation: 'sigmoid',
        kernelInitializer: tf.initializers.glorotUniform({ seed: i }),
        ...(i === 0 ? { inputShape: [64] } : {}),
      }),
    );
  }
  model.add(tf.layers.dense({ units: 1, activation: 'sigmoid' }));
  model.compile({ optimizer: tf.train.sgd(0.5), loss: 'binaryCrossentropy' });
  return model;
}

async function timeMillion(): Promise<{ params: number; seconds: number; stages: string[]; summary: string }> {
  const model = millionParameterModel();
  const x = tf.randomNormal([1024, 64], 0, 1, 'float32', 1);
  const y = tf.tidy(() => tf.cast(tf.greater(tf.sum(x, 1, true), 0), 'float32'));
  const stages = new Set<string>();
  const started = performance.now();
  const d = await diagnose(model, { x, y }, { onProgress: (p: DiagnoseProgress) => stages.add(p.stage) });
  const seconds = (performance.now() - started) / 1000;
  const summary = d.summary();
  d.dispose();
  const params = model.countParams();
  model.dispose();
  tf.dispose([x, y]);
  return { params, seconds, stages: [...stages], summary };
}

function markdown(
  outcomes: readonly (ZooOutcome & { backend: string })[],
  million: Awaited<ReturnType<typeof timeMillion>>,
  backend: string,
): string {
  const faulty = outcomes.filter((o) => o.expected.length > 0);
  const healthy = outcomes.filter((o) => o.expected.length === 0);
  const rows = outcomes.map(
    (o) =>
      `| ${o.name} | ${o.backend} | ${o.expected.join(', ') || 'none (healthy)'} | ${[...new Set(o.found)].join(', ') || 'none'} | ` +
      `${o.winner ?? '-'} | ${fmt(o.baselineLoss)} | ${fmt(o.fixedLoss)} | ${fmt(o.knownGoodLoss)} | ` +
      `${o.fixed === null ? '-' : o.fixed ? 'yes' : 'no'} | ${o.seconds.toFixed(1)} |`,
  );
  const right = faulty.filter((o) => o.rightFinding).length;
  const falsePositives = healthy.filter((o) => !o.rightFinding).length;
  const fixed = faulty.filter((o) => o.fixed).length;
  const slowest = [...new Set(outcomes.map((o) => o.backend))]
    .map((b) => `${Math.max(...outcomes.filter((o) => o.backend === b).map((o) => o.seconds)).toFixed(1)} s on ${b}`)
    .join(', ');
  return [
    `<!-- bench:diagnose-zoo:start -->`,
    '',
    `- Command: \`npm run bench:diagnose -- ${process.argv.slice(2).join(' ')}\``.replace(/ -- `$/, '`'),
    `- Date: ${new Date().toISOString().slice(0, 10)}; backend: ${backend} (conv nets on cpu)`,
    '',
    '| network | backend | expected | found | winner | unchanged | winner applied | known-good | within 20% | diagnosis s |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
    `Held-out losses after each case's budget (200 to 300 steps), same batches in the same order. Targets: the right`,
    `finding on ${right} of ${faulty.length} faulty networks; ${falsePositives} false positives on ${healthy.length}`,
    `healthy ones; the winner within 20% of the known-good loss on ${fixed} of ${faulty.length}`,
    `(${((fixed / faulty.length) * 100).toFixed(0)}%, target 90%); slowest diagnosis ${slowest}.`,
    `A ${(million.params / 1e6).toFixed(2)}M-parameter sigmoid MLP (6x400, 1024 examples, default options) took`,
    `${million.seconds.toFixed(1)} s on ${backend} (target 60 s), reporting the stages ${million.stages.join(', ')}.`,
    '',
    `<!-- bench:diagnose-zoo:end -->`,
  ].join('\n');
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const outcomes: (ZooOutcome & { backend: string })[] = [];
  for (const c of ZOO) {
    if (args.filter && !c.name.includes(args.filter)) continue;
    const backend: BackendName = c.cpuOnly ? 'cpu' : args.backend;
    await useBackend(backend);
    const outcome = await checkZooCase(c);
    outcomes.push({ ...outcome, backend });
    console.error(
      `${c.name} [${backend}]: ${outcome.found.join(', ') || 'healthy'}; winner ${outcome.winner ?? '-'} ` +
        `(${fmt(outcome.baselineLoss)} -> ${fmt(outcome.fixedLoss)}, known-good ${fmt(outcome.knownGoodLoss)}); ` +
        `${outcome.seconds.toFixed(1)} s`,
    );
  }
  await useBackend(args.backend);
  const million = await timeMillion();
  console.error(`1M-parameter MLP: ${million.seconds.toFixed(1)} s\n${million.summary}`);
  const block = markdown(outcomes, million, `${args.backend} (${await describeBackend()})`);
  console.log(block);
  if (args.write) writeBlock(args.write, 'diagnose-zoo', block);
}

await main();
