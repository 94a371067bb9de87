import { type DiagnoseProgress, type DiagnosisJSON, diagnose, type FindingKind } from '../../src/index.js';
import { buildModel, type Configuration } from './configurations.js';
import { formatLoss, type Progress } from './progress.js';
import type { Points } from './spirals.js';
import { logisticLoss, optimizerFor, type TrainingSettings } from './train.js';

/** The configurations that train badly, which the demo's last section diagnoses, in the demo's order. */
export const DIAGNOSED_IDS: readonly string[] = ['sigmoid-default', 'relu-xavier', 'relu-he-high-lr'];

/** The kinds of finding that explain a configuration that does not train. */
export const PROBLEM_KINDS: readonly FindingKind[] = [
  'vanishing',
  'exploding',
  'nonFinite',
  'learningRateTooHigh',
  'unstableLoss',
  'deadUnits',
  'saturated',
];

/** `diagnose()`'s steps per trial for the demo's steps per configuration: a sixth of them, within [10, 100]. */
export function diagnoseStepsFor(steps: number): number {
  return Math.max(10, Math.min(100, Math.round(steps / 6)));
}

/** One configuration's diagnosis as plain data (no tensors, no functions): what the demo prints and reports. */
export interface DiagnoseOutcome {
  readonly config: Configuration;
  /** `diagnosis.toJSON()`: the findings, the prescriptions (best first), the rejected ones and the measurements. */
  readonly diagnosis: DiagnosisJSON;
  /** `diagnosis.summary()`. */
  readonly summary: string;
}

type PlainPrescription = DiagnosisJSON['prescriptions'][number];

/** What a diagnosis is doing, in a few words: its stage, and for a candidate's trial which one it is. */
function stageText(p: DiagnoseProgress, candidate: number): string {
  if (p.stage === 'baseline') return 'baseline trial (the unchanged model)';
  if (p.stage === 'rangeTest') return 'learning-rate range test';
  return `verifying candidate ${candidate}: ${p.candidate ?? '?'}`;
}

/**
 * Diagnoses one configuration: its model built as the demo builds it, compiled with its optimizer and loss, and
 * `diagnose()` run on the training points for `steps` steps per trial in the demo's batches, its stages shown on
 * `progress`. The model, optimizers and the diagnosis are freed before it returns.
 */
export async function diagnoseConfiguration(
  config: Configuration,
  train: Points,
  settings: TrainingSettings,
  steps: number,
  progress: Progress,
): Promise<DiagnoseOutcome> {
  const model = buildModel(config, settings.depth, settings.width);
  const optimizer = optimizerFor(config, settings);
  try {
    model.compile({ optimizer, loss: logisticLoss });
    let candidate = 0;
    const diagnosis = await diagnose(
      model,
      { x: train.x, y: train.y },
      {
        steps,
        batchSize: settings.batchSize,
        // The demo trains on the spirals in the order generated; the diagnosis trials do the same.
        shuffle: false,
        // The compiled optimizer's class and settings, made by the demo (whose momentum optimizer frees all its tensors).
        optimizer: () => optimizerFor(config, settings),
        onProgress: (p) => {
          if (p.stage === 'verify' && p.step === 1) candidate++;
          progress.stage(p.fraction, stageText(p, candidate), p.step, p.steps);
        },
      },
    );
    try {
      return { config, diagnosis: diagnosis.toJSON(), summary: diagnosis.summary() };
    } finally {
      diagnosis.dispose();
    }
  } finally {
    model.dispose();
    optimizer.dispose();
  }
}

/** Layer names, short: all of up to three, else the first two, the last and how many (as diagnose() writes them). */
export function layerList(layers: readonly string[]): string {
  if (layers.length <= 3) return layers.join(', ');
  return `${layers[0]}, ${layers[1]}, … ${layers[layers.length - 1]} (${layers.length})`;
}

/** The kinds found, each once, worst first. */
export function findingKinds(outcome: DiagnoseOutcome): string[] {
  return [...new Set(outcome.diagnosis.findings.map((f) => f.kind))];
}

/** The prescription that won with a verified trial, if any (an `'architecture'` one is advice, not verified). */
export function verifiedWinner(outcome: DiagnoseOutcome): PlainPrescription | undefined {
  const best = outcome.diagnosis.prescriptions[0];
  return best?.verified?.improved ? best : undefined;
}

/** A held-out loss change in words: `-23.4%`, or `finite, was NaN`. */
function change(before: number, after: number): string {
  if (!Number.isFinite(before)) return Number.isFinite(after) ? `finite, was ${before}` : 'not finite either';
  const percent = (100 * (after - before)) / Math.abs(before);
  const text = percent.toFixed(1);
  return text === '0.0' || text === '-0.0' ? 'within 0.05%' : `${percent > 0 ? '+' : ''}${text}%`;
}

/** The step from which a trial's training loss was not finite, if it was not at the end. */
function nonFiniteFrom(losses: readonly number[]): number | undefined {
  const i = losses.findIndex((l) => !Number.isFinite(l));
  return i < 0 ? undefined : i + 1;
}

/** One trial's result against the baseline's, in one sentence. */
export function verifiedText(outcome: DiagnoseOutcome, p: PlainPrescription): string {
  const v = p.verified;
  if (!v) return 'not verified (advice to follow by hand)';
  const m = outcome.diagnosis.measurements;
  const notes: string[] = [];
  const baselineEnd = nonFiniteFrom(m.losses);
  if (baselineEnd !== undefined) notes.push(`the unchanged model's loss was not finite from step ${baselineEnd}`);
  const end = nonFiniteFrom(v.losses);
  if (end !== undefined) notes.push(`the changed model's was not finite from step ${end}`);
  return (
    `held-out loss ${formatLoss(v.baselineLoss)} -> ${formatLoss(v.loss)} (${change(v.baselineLoss, v.loss)}), ` +
    `the unchanged model -> with the change, ${m.steps} steps from the same start` +
    (notes.length > 0 ? `; ${notes.join('; ')}` : '')
  );
}

/** The text for one diagnosed configuration: its findings, the winning prescription and its verified result. */
export function diagnosisText(outcome: DiagnoseOutcome): string {
  const d = outcome.diagnosis;
  const m = d.measurements;
  const lines = [`${outcome.config.title}${d.healthy ? ': healthy (nothing found)' : ''}`];
  const nonFinite = nonFiniteFrom(m.losses);
  lines.push(
    `  baseline (the unchanged model): held-out loss ${formatLoss(m.heldOutBefore)} -> ${formatLoss(m.heldOutAfter)}` +
      (nonFinite === undefined
        ? ` in ${m.steps} steps (training loss ${m.trend})`
        : ` (training loss ${m.trend}, not finite at step ${nonFinite} of ${m.steps}: the trial stopped there)`),
  );
  for (const f of d.findings) {
    lines.push(`  finding: ${f.kind} (${f.severity})${f.layers.length > 0 ? ` in ${layerList(f.layers)}` : ''}`);
  }
  const winner = verifiedWinner(outcome);
  const tried = d.prescriptions.filter((p) => p.verified).length + d.rejected.length;
  if (winner) {
    lines.push(`  prescription: ${winner.description}`);
    lines.push(`  verified: ${verifiedText(outcome, winner)}`);
    const others = d.prescriptions.length - 1;
    if (others > 0 || d.rejected.length > 0) {
      lines.push(`  (${others} more verified, ${d.rejected.length} tried and rejected)`);
    }
  } else if (!d.healthy) {
    lines.push(`  no verified fix: none of the ${tried} candidates tried beat the unchanged model`);
    const advice = d.prescriptions[0];
    if (advice && !advice.verified) lines.push(`  advice: ${advice.description}`);
  }
  return lines.join('\n');
}

export const DIAGNOSE_HEADERS = [
  'configuration',
  'findings',
  'winning prescription',
  'baseline loss',
  'fixed loss',
] as const;

/** One row of the diagnose table, the same in the terminal and in the HTML report. */
export function diagnoseRow(outcome: DiagnoseOutcome): string[] {
  const winner = verifiedWinner(outcome);
  return [
    outcome.config.title,
    findingKinds(outcome).join(', ') || 'none',
    winner ? winner.kind : outcome.diagnosis.healthy ? '-' : 'no verified fix',
    formatLoss(outcome.diagnosis.measurements.heldOutAfter),
    winner?.verified ? formatLoss(winner.verified.loss) : '-',
  ];
}

/** The section's opening sentence: what was run, on what. */
export function diagnoseIntro(steps: number, outcomes: readonly DiagnoseOutcome[]): string {
  const m = outcomes[0]?.diagnosis.measurements;
  const examples = m
    ? `demo's ${m.trainExamples + m.heldOutExamples} training spirals (${m.trainExamples} trained on, the last ` +
      `${m.heldOutExamples} held out)`
    : "demo's training spirals";
  return (
    `gradstab's diagnose() on the ${outcomes.length} configurations that do not train: ${steps} steps per trial ` +
    `(the unchanged model, a learning-rate range test, up to 4 candidate remedies), on the ${examples}. ` +
    `Every loss below is a held-out loss after a trial's ${steps} steps.`
  );
}
