import * as tf from '@tensorflow/tfjs-core';
import { selectWhere } from '../internal/select.js';

/**
 * tfjs's own optimizers keep all their state in variables held in their fields (Adam's moments and `accBeta1/2`,
 * momentum's accumulations, Adamax's `iteration`...), so that state can be found, saved and put back. For another
 * optimizer class gradstab does not know where its state lives, and it skips a step the host way (after a read).
 */
const KNOWN_STATE = new Set(['SGD', 'Momentum', 'Adam', 'Adamax', 'Adagrad', 'Adadelta', 'RMSProp']);

/**
 * The value tfjs gives a slot it creates: zeros for every optimizer's slots except Adagrad's accumulators, made with
 * its `initialAccumulatorValue`. (A step on zero gradients is no substitute: tfjs's centered RMSProp computes
 * `sqrt(ms - (mg^2 + eps))`, NaN for a zero gradient at the first step.)
 */
function initialSlotValue(optimizer: tf.Optimizer): number {
  if (optimizer.getClassName() !== 'Adagrad') return 0;
  return Number(optimizer.getConfig().initialAccumulatorValue);
}

/** Whether a step of `optimizer` can be applied and then put back on the device. */
export function canGuard(optimizer: tf.Optimizer): boolean {
  return KNOWN_STATE.has(optimizer.getClassName());
}

/** The variables an optimizer's fields hold: directly, in arrays, or as `{originalName, variable}` slots. */
function stateVariables(optimizer: tf.Optimizer): tf.Variable[] {
  const out: tf.Variable[] = [];
  const visit = (value: unknown) => {
    if (value instanceof tf.Variable) out.push(value);
    else if (value !== null && typeof value === 'object' && 'variable' in value) visit(value.variable);
  };
  for (const value of Object.values(optimizer)) {
    if (Array.isArray(value)) value.forEach(visit);
    else visit(value);
  }
  return out.filter((v) => !v.isDisposed);
}

/**
 * Applies a step whose skip was decided on the device (a boolean scalar), with no read: the inner optimizer steps,
 * then every weight it moved and every variable of its state is set back to its value before the step where the
 * flag is true (`where(skip, before, after)`, one select per variable). The values before are held by snapshot
 * variables pointed at the old buffers with `assign` (no copy, and no new tensor after the first step); after the
 * select they are pointed at the new buffers, so nothing is kept between steps.
 *
 * Variables an optimizer creates during the step (slots made at its first step on a variable) have no value before:
 * where the step is skipped they are set to the value tfjs creates them with (see {@link initialSlotValue}), as if
 * they had just been made for the next step.
 */
export class StepGuard {
  private readonly snapshots = new Map<tf.Variable, tf.Variable>();

  constructor(private readonly optimizer: tf.Optimizer) {}

  /** Applies `grads` (named as tfjs hands them) with the inner optimizer, undone where `skip` holds. */
  apply(
    grads: tf.NamedTensorMap | { name: string; tensor: tf.Tensor }[],
    names: readonly string[],
    skip: tf.Scalar,
  ): void {
    const weights = names.map((n) => tf.engine().registeredVariables[n]).filter((v): v is tf.Variable => !!v);
    const guarded = [...weights, ...stateVariables(this.optimizer)];
    for (const v of guarded) this.hold(v);
    try {
      this.optimizer.applyGradients(grads as tf.NamedTensorMap);
    } finally {
      // Slots the optimizer made in this step (its state walked once after the step).
      const made = stateVariables(this.optimizer).filter((v) => !this.snapshots.has(v));
      const shapes = new Map<string, tf.Tensor>();
      tf.tidy(() => {
        for (const v of guarded) {
          const before = this.snapshots.get(v) as tf.Variable;
          if (before.dataId !== v.dataId) v.assign(selectWhere(skip, before, v, shapes));
        }
        // Slots made in this step: as made, where the step is skipped.
        const initial = initialSlotValue(this.optimizer);
        for (const v of made) v.assign(selectWhere(skip, tf.fill(v.shape, initial), v, shapes));
      });
      // Point the snapshots at the kept values: the old buffers are freed now, not at the next step. Slots the
      // optimizer made in this step get theirs now, so that later steps add no tensor.
      for (const v of guarded) this.snapshots.get(v)?.assign(v);
      for (const v of made) this.hold(v);
    }
  }

  /** Points `v`'s snapshot at its current value (made the first time: the only new tensor it ever adds). */
  private hold(v: tf.Variable): void {
    const held = this.snapshots.get(v);
    if (held && !held.isDisposed) held.assign(v);
    else this.snapshots.set(v, tf.variable(v, false));
  }

  /** Frees the snapshot variables. */
  dispose(): void {
    for (const held of this.snapshots.values()) held.dispose();
    this.snapshots.clear();
  }
}
