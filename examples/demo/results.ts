import type { MonitorEventName } from '../../src/index.js';
import { formatLoss } from './progress.js';
import type { RunResult } from './train.js';

/**
 * The ratio of the first hidden layer's gradient norm to the last hidden layer's at step 1, i.e. at initialization:
 * how much of the gradient survives the trip back through the hidden layers before training changes anything.
 * Hidden layers only (named h01, h02, ...): the output layer's gradient can be ~0 for a reason of its own (a
 * constant prediction on balanced labels cancels its bias gradient).
 */
export function firstToLastAtInit(run: RunResult): number {
  const first = run.history[0];
  if (first?.step !== 1) return Number.NaN; // step 1 fell out of the history: no figure rather than a wrong one
  const hidden = first.layers.filter((l) => /^h\d+$/.test(l.layer));
  return (hidden[0]?.norm ?? Number.NaN) / (hidden[hidden.length - 1]?.norm ?? Number.NaN);
}

/** The loss level that counts as learning: well below ln 2 = 0.693, the loss of a constant prediction. */
export const LEARNING_LOSS = 0.5;
/** Steps averaged for {@link stepsToLearn}: one epoch, so that one lucky batch does not count. */
const WINDOW = 16;

/**
 * The first step at which the training loss, averaged over the last 16 steps, is below {@link LEARNING_LOSS}:
 * when the network started to learn. `undefined` when it never did. Stalling shows here even when a run escapes
 * late, which final figures alone would hide.
 */
export function stepsToLearn(run: RunResult): number | undefined {
  let sum = 0;
  for (let i = 0; i < run.losses.length; i++) {
    sum += run.losses[i] as number;
    if (i >= WINDOW) sum -= run.losses[i - WINDOW] as number;
    if (i >= WINDOW - 1 && sum / WINDOW < LEARNING_LOSS) return i + 1;
  }
  return undefined;
}

const ORDER: readonly MonitorEventName[] = ['nonFinite', 'exploding', 'vanishing'];

/** The monitor's verdicts in a few words: what it saw, on how many steps, from when. */
export function verdictText(run: RunResult): string {
  const parts: string[] = [];
  for (const kind of ORDER) {
    const count = run.report.counts[kind];
    if (count === 0) continue;
    const first = Math.min(...run.report.verdicts.filter((v) => v.kind === kind).map((v) => v.firstStep));
    if (kind === 'nonFinite') {
      parts.push(`NaN/Inf gradients at step ${first}${run.stoppedOnNonFinite ? ', fit stopped' : ''}`);
    } else parts.push(`${kind} on ${count} steps from step ${first}`);
  }
  if (parts.length === 0) parts.push('healthy');
  const spikes = run.report.counts.spike;
  if (spikes > 0) parts.push(`${spikes} spike${spikes === 1 ? '' : 's'}`);
  return parts.join('; ');
}

/** A fraction as a percentage with one decimal, NaN as NaN. */
export function formatPercent(x: number): string {
  return Number.isFinite(x) ? `${(100 * x).toFixed(1)}%` : 'NaN';
}

/** A number for the table: 3 significant digits, exponent form outside [1e-3, 1e4). */
export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  return a !== 0 && (a < 1e-3 || a >= 1e4) ? x.toExponential(1) : x.toPrecision(3);
}

export const TABLE_HEADERS = [
  'configuration',
  'test loss',
  'accuracy',
  'grad first/last hidden (init)',
  'global grad norm (typical)',
  `steps to loss < ${LEARNING_LOSS}`,
  'steps',
  'clipped',
  'monitor verdicts',
] as const;

/** One table row per run, the same in the terminal and in the HTML report. */
export function tableRow(run: RunResult): string[] {
  return [
    run.config.title,
    formatLoss(run.testLoss),
    formatPercent(run.testAccuracy),
    formatNumber(firstToLastAtInit(run)),
    formatNumber(run.report.globalNorm.typical),
    String(stepsToLearn(run) ?? '-'),
    String(run.stepsRun),
    run.config.clipNorm === undefined ? '-' : String(run.clippedSteps),
    verdictText(run),
  ];
}
