/**
 * `npm run demo`: what vanishing and exploding gradients do to a deep tfjs network, and what each gradstab module
 * does about it.
 *
 * Trains the same 30-hidden-layer MLP (width 32) on two interleaved spirals (generated, seeded) in six
 * configurations: sigmoid with tfjs's default init; ReLU with Xavier init; ReLU with He init; sigmoid with gradstab's
 * batch normalization; ReLU + He at 60x the learning rate without and with `clipByGlobalNorm`. gradstab's
 * `GradientHealthMonitor` watches every run. Prints a table (held-out loss and accuracy, the first/last layer
 * gradient-norm ratio at initialization, the monitor's verdicts), the He et al. 2015 (Fig. 3) comparison, and writes
 * a self-contained HTML report with the monitor's charts.
 *
 * Last, gradstab's `diagnose()` on the three configurations that do not train (sigmoid with the default init, ReLU
 * with Xavier, ReLU + He at the high learning rate without clipping): each model built and compiled as above, and
 * diagnosed on the training spirals with a short budget (the steps per configuration / 6, within [10, 100], per
 * trial). Prints each one's findings, its winning prescription and that prescription's verified held-out loss against
 * the unchanged model's (or that no candidate beat it), then a table; the report gets a section per diagnosis with
 * the prescriptions' code and the trials' loss curves.
 *
 *   npm run demo                                   # wasm backend (else cpu), 640 steps per configuration
 *   npm run demo -- --backend cpu --steps 320 --output report.html
 *   npm run demo -- --diagnose-steps 0             # without the diagnose section
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { renderGradientHealthSvg } from '../src/index.js';
import { CONFIGURATIONS, type Configuration } from './demo/configurations.js';
import {
  DIAGNOSE_HEADERS,
  DIAGNOSED_IDS,
  type DiagnoseOutcome,
  diagnoseConfiguration,
  diagnoseIntro,
  diagnoseRow,
  diagnoseStepsFor,
  diagnosisText,
  findingKinds,
  verifiedWinner,
} from './demo/diagnose-section.js';
import { htmlReport } from './demo/html-report.js';
import { Progress, type ProgressSink } from './demo/progress.js';
import {
  firstToLastAtInit,
  formatNumber,
  formatPercent,
  LEARNING_LOSS,
  stepsToLearn,
  TABLE_HEADERS,
  tableRow,
  verdictText,
} from './demo/results.js';
import { spirals } from './demo/spirals.js';
import { formatTable } from './demo/table.js';
import { type RunResult, type TrainingSettings, trainConfiguration } from './demo/train.js';
import { useBackend } from './shared/backend.js';
import { parseCommandLine, runWhenExecuted, wholeFlag } from './shared/cli.js';

/** The command line. */
export interface DemoOptions {
  readonly backend: 'wasm' | 'cpu';
  readonly steps: number;
  readonly depth: number;
  readonly width: number;
  /** Where the HTML report goes. */
  readonly output: string;
  /**
   * `diagnose()`'s steps per trial in the last section, 0 to skip it. Defaults to the steps per configuration / 6,
   * within [10, 100].
   */
  readonly diagnoseSteps?: number;
}

export const DEFAULT_OPTIONS: DemoOptions = {
  backend: 'wasm',
  steps: 640,
  depth: 30,
  width: 32,
  output: 'gradstab-demo-report.html',
};

const HELP = `usage: npm run demo -- [--backend wasm|cpu] [--steps N] [--output FILE] [--depth N] [--width N]
                     [--diagnose-steps N]

Trains one deep MLP on two spirals in six configurations (sigmoid / ReLU + Xavier / ReLU + He / batch norm /
a 60x learning rate without and with gradient clipping), watched by gradstab's gradient-health monitor.
Prints a table and writes a self-contained HTML report with the monitor's charts.
Then runs gradstab's diagnose() on the three configurations that do not train (sigmoid, ReLU + Xavier, the
60x learning rate unclipped): prints what it found, the prescription that beat the unchanged model in a short
verified trial (or that none did) and a table; the report gets their code and the trials' loss curves.

  --backend  tfjs backend: wasm (default; falls back to cpu) or cpu
  --steps    optimizer steps per configuration, rounded up to whole epochs of 16 batches (default ${DEFAULT_OPTIONS.steps})
  --output   the HTML report's path (default ${DEFAULT_OPTIONS.output})
  --depth    hidden layers (default ${DEFAULT_OPTIONS.depth})
  --width    units per hidden layer (default ${DEFAULT_OPTIONS.width})
  --diagnose-steps  diagnose()'s steps per trial, 0 to skip the section (default: --steps / 6, within [10, 100])
  --help     this text`;

/** Parses the command line; `undefined` means `--help` was asked for. */
export function parseDemoArgs(argv: readonly string[]): DemoOptions | undefined {
  const args = parseCommandLine(
    argv,
    DEFAULT_OPTIONS,
    {
      '--steps': (value, o) => ({ ...o, steps: wholeFlag('demo: --steps', value, 1) }),
      '--depth': (value, o) => ({ ...o, depth: wholeFlag('demo: --depth', value, 1, 200) }),
      '--width': (value, o) => ({ ...o, width: wholeFlag('demo: --width', value, 1, 4096) }),
      '--diagnose-steps': (value, o) => {
        const n = wholeFlag('demo: --diagnose-steps', value, 0, 10000);
        if (n > 0 && n < 10) throw new Error(`demo: --diagnose-steps must be 0 (skip) or at least 10, got ${n}`);
        return { ...o, diagnoseSteps: n };
      },
      '--output': (file, o) => {
        if (!file) throw new Error('demo: --output needs a file path');
        return { ...o, output: file };
      },
    },
    'demo: ',
  );
  return args === 'help' ? undefined : { ...args.options, backend: args.backend };
}

/** What the demo measured. */
export interface DemoResult {
  readonly backend: string;
  readonly settings: TrainingSettings;
  readonly runs: readonly RunResult[];
  readonly findings: readonly string[];
  /** `diagnose()`'s steps per trial (0: the section was skipped). */
  readonly diagnoseSteps: number;
  /** The diagnoses of the configurations that do not train (those of `runs`), in the demo's order. */
  readonly diagnoses: readonly DiagnoseOutcome[];
  /** The report's absolute path. */
  readonly reportPath: string;
}

const TRAIN_EXAMPLES = 1024;
const TEST_EXAMPLES = 512;
const BATCH_SIZE = 64;
const LEARNING_RATE = 0.005;

/** The sentences the demo concludes with, each from the runs' figures (and honest when a run disagrees). */
export function findings(runs: readonly RunResult[], depth: number): string[] {
  const get = (id: string) => runs.find((r) => r.config.id === id);
  const out: string[] = [];
  const xavier = get('relu-xavier');
  const he = get('relu-he');
  if (xavier && he) {
    const heLearns = stepsToLearn(he);
    const xavierLearns = stepsToLearn(xavier);
    const reproduced =
      heLearns !== undefined && he.testLoss < 0.2 && (xavierLearns === undefined || xavierLearns >= 3 * heLearns);
    const when = (step: number | undefined) =>
      step === undefined
        ? `never gets below ${LEARNING_LOSS} in ${xavier.stepsRun} steps`
        : `gets below ${LEARNING_LOSS} at step ${step}`;
    out.push(
      `He et al. 2015, Fig. 3 at small scale (${depth} ReLU layers): with Xavier init the first hidden layer gets ` +
        `${formatNumber(firstToLastAtInit(xavier))} of the last one's gradient at init and the training loss ` +
        `${when(xavierLearns)}; held-out loss ${formatNumber(xavier.initialTestLoss)} -> ` +
        `${formatNumber(xavier.testLoss)} (${formatPercent(xavier.testAccuracy)}). With He init: ` +
        `${formatNumber(firstToLastAtInit(he))}, the training loss ${when(heLearns)}, held-out loss ` +
        `${formatNumber(he.initialTestLoss)} -> ${formatNumber(he.testLoss)} (${formatPercent(he.testAccuracy)}). ` +
        (reproduced
          ? 'Reproduced: Xavier stalls, He learns.'
          : 'Not reproduced in this run (the criterion: He learns and ends below 0.2; Xavier never learns, or 3x later).'),
    );
  }
  const sigmoid = get('sigmoid-default');
  const bn = get('sigmoid-batchnorm');
  if (sigmoid && bn) {
    out.push(
      `Sigmoid: with tfjs's default init ${formatPercent(sigmoid.testAccuracy)} (first/last gradient ` +
        `${formatNumber(firstToLastAtInit(sigmoid))}); with layers.batchNormalization() ${formatPercent(bn.testAccuracy)}.`,
    );
  }
  const wild = get('relu-he-high-lr');
  const clipped = get('relu-he-high-lr-clipped');
  if (wild && clipped) {
    out.push(
      `Learning rate x${wild.config.learningRateScale}: without clipping the monitor saw ${verdictText(wild)}; ` +
        `with clipByGlobalNorm(${clipped.config.clipNorm}) (${clipped.clippedSteps} of ${clipped.stepsRun} steps ` +
        `clipped) ${formatPercent(clipped.testAccuracy)} accuracy, test loss ${formatNumber(clipped.testLoss)}.`,
    );
  }
  return out;
}

/**
 * Runs the demo on the current tfjs backend: trains `configurations`, prints progress and the table to `sink`,
 * diagnoses those of them that do not train, and writes the HTML report.
 */
export async function runDemo(
  options: DemoOptions,
  sink: ProgressSink = process.stdout,
  configurations: readonly Configuration[] = CONFIGURATIONS,
): Promise<DemoResult> {
  const settings: TrainingSettings = {
    depth: options.depth,
    width: options.width,
    steps: Math.ceil(options.steps / (TRAIN_EXAMPLES / BATCH_SIZE)) * (TRAIN_EXAMPLES / BATCH_SIZE),
    batchSize: BATCH_SIZE,
    learningRate: LEARNING_RATE,
  };
  const backend = tf.getBackend();
  sink.write(
    `gradstab demo: a ${settings.depth}x${settings.width} MLP on two spirals, ${settings.steps} steps per ` +
      `configuration, ${backend} backend\n\n`,
  );
  const train = spirals(TRAIN_EXAMPLES, 1);
  const test = spirals(TEST_EXAMPLES, 2);
  const progress = new Progress(sink);
  const runs: RunResult[] = [];
  const charts: string[] = [];
  for (const [i, config] of configurations.entries()) {
    progress.start(`[${i + 1}/${configurations.length}] ${config.title}`, settings.steps);
    const run = await trainConfiguration(config, train, test, settings, (step, loss) => progress.step(step, loss));
    progress.done(`test accuracy ${formatPercent(run.testAccuracy)}; ${verdictText(run)}`);
    runs.push(run);
    charts.push(await renderGradientHealthSvg(run.history, { title: config.title, width: 640 }));
  }

  const rows = runs.map(tableRow);
  const conclusions = findings(runs, settings.depth);
  sink.write(`\n${formatTable(TABLE_HEADERS, rows)}\n\n${conclusions.map((f) => `${f}\n`).join('')}`);

  const diagnoseSteps = options.diagnoseSteps ?? diagnoseStepsFor(settings.steps);
  const broken = diagnoseSteps === 0 ? [] : configurations.filter((c) => DIAGNOSED_IDS.includes(c.id));
  const diagnoses: DiagnoseOutcome[] = [];
  try {
    if (broken.length > 0) sink.write('\n');
    for (const [i, config] of broken.entries()) {
      progress.start(`[diagnose ${i + 1}/${broken.length}] ${config.title}`, diagnoseSteps);
      const outcome = await diagnoseConfiguration(config, train, settings, diagnoseSteps, progress);
      const winner = verifiedWinner(outcome);
      progress.done(
        `${findingKinds(outcome).join(', ') || 'nothing found'}; ` +
          (winner ? `best verified fix: ${winner.kind}` : 'no verified fix'),
      );
      diagnoses.push(outcome);
    }
  } finally {
    tf.dispose([train.x, train.y, test.x, test.y]);
  }
  if (diagnoses.length > 0) {
    sink.write(
      `\n${diagnoseIntro(diagnoseSteps, diagnoses)}\n\n${diagnoses.map((d) => `${diagnosisText(d)}\n\n`).join('')}` +
        `${formatTable(DIAGNOSE_HEADERS, diagnoses.map(diagnoseRow))}\n`,
    );
  }

  const reportPath = path.resolve(options.output);
  mkdirSync(path.dirname(reportPath), { recursive: true });
  const sections = runs.map((run, i) => ({
    id: run.config.id,
    title: run.config.title,
    story: run.config.story,
    losses: run.losses,
    chartSvg: charts[i] ?? '',
    verdicts: verdictText(run),
  }));
  writeFileSync(
    reportPath,
    htmlReport({
      backend,
      settings,
      headers: TABLE_HEADERS,
      rows,
      findings: conclusions,
      sections,
      ...(diagnoses.length > 0 ? { diagnose: { steps: diagnoseSteps, outcomes: diagnoses } } : {}),
    }),
  );
  sink.write(`\nReport with the monitor's charts: ${reportPath}\n`);
  return { backend, settings, runs, findings: conclusions, diagnoseSteps, diagnoses, reportPath };
}

async function main(argv: readonly string[]): Promise<void> {
  const options = parseDemoArgs(argv);
  if (options === undefined) {
    console.log(HELP);
    return;
  }
  await useBackend(options.backend);
  await runDemo(options);
}

runWhenExecuted(import.meta.url, main);
