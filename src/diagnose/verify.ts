import type { Built } from './candidates.js';
import { type Examples, heldOutLoss, settleBatchNorm, trainSteps } from './trial.js';

/** How a prescription did against the unchanged model, trained from the same start for the same steps. */
export interface Verification {
  /** Training steps the changed model ran (fewer when its loss turned non-finite, which ends a trial). */
  readonly steps: number;
  /** The unchanged model's loss on the held-out examples after the trial. */
  readonly baselineLoss: number;
  /** The changed model's loss on the held-out examples after the trial. */
  readonly loss: number;
  /**
   * Whether `loss` beats `baselineLoss` by the diagnosis's `minImprovement`; when `baselineLoss` is not finite, whether
   * it beats the unchanged model's loss before training (a candidate that ends worse than that fixed nothing).
   */
  readonly improved: boolean;
  /** The changed model's training loss at each step (for a plot beside the baseline's). */
  readonly losses: readonly number[];
  /** Why the changed model could not be built or trained (tfjs's message), or null. */
  readonly error: string | null;
}

/** The training losses and the held-out loss after a trial of a compiled model. */
export interface TrialResult {
  readonly losses: readonly number[];
  readonly heldOutLoss: number;
}

/**
 * Trains a built candidate for `steps` steps on the training examples (the baseline's batches, in the same order),
 * settles its batch-normalization statistics ({@link settleBatchNorm}) and measures its held-out loss; a non-finite
 * training loss ends the trial. The model and optimizer are the
 * caller's to dispose.
 */
export async function runTrial(
  built: Built,
  train: Examples,
  heldOut: Examples,
  steps: number,
  batchSize: number,
  onStep: (step: number) => void,
  signal: AbortSignal | undefined,
): Promise<TrialResult> {
  const losses: number[] = [];
  await trainSteps(built.model, train, steps, batchSize, {
    beforeStep: () => signal?.throwIfAborted(),
    afterStep: (step, loss) => {
      losses.push(loss);
      onStep(step);
      return Number.isFinite(loss);
    },
  });
  settleBatchNorm(built.model, train, batchSize);
  return { losses, heldOutLoss: await heldOutLoss(built.model, heldOut, batchSize) };
}

/** Whether a held-out loss beats the baseline's by a share `minImprovement` (a finite one beats a non-finite one). */
export function beats(loss: number, baselineLoss: number, minImprovement: number): boolean {
  if (!Number.isFinite(loss)) return false;
  if (!Number.isFinite(baselineLoss)) return true;
  return loss < baselineLoss - minImprovement * Math.abs(baselineLoss);
}
