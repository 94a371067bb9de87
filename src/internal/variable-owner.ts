import { fail } from './validate.js';

const shown = (names: Iterable<string>) => {
  const list = [...names];
  return `${list.slice(0, 4).join(', ')}${list.length > 4 ? `, ... (${list.length} in all)` : ''}`;
};

/**
 * The variables that state kept across steps belongs to. A transform's running statistics (AutoClip's history,
 * ZClip's averages, accumulated sums) and a monitor's detectors describe one model; fed a second model's gradients
 * they would mix the two silently (tfjs's own optimizers keep their slots by position, with the same problem). A
 * step may drop or add variables (layers frozen or unfrozen), but one that shares none with those seen before is
 * another model's, and is refused.
 */
export class VariableOwner {
  private readonly seen = new Set<string>();

  /**
   * @param kind What holds the state, for the message: `'TransformedOptimizer with stateful transforms'`.
   * @param advice What to do instead: `'build one per model'`.
   */
  constructor(
    private readonly kind: string,
    private readonly advice: string,
  ) {}

  /** Records this step's variable names; throws a GradStabError when they are all new after the first step. */
  claim(fn: string, names: readonly string[]): void {
    if (names.length === 0) return;
    if (this.seen.size > 0 && !names.some((n) => this.seen.has(n))) {
      fail(
        fn,
        `a ${this.kind} serves one model: its state belongs to the variables it has seen (${shown(this.seen)}), and ` +
          `none of these gradients is for one of them; ${this.advice}`,
        names,
        `gradients for ${shown(names)}`,
      );
    }
    for (const n of names) this.seen.add(n);
  }

  /** The names seen so far, to hand over to another owner. */
  get names(): readonly string[] {
    return [...this.seen];
  }

  /** Takes over names seen by another owner (a wrapper that wrapped this one's state). */
  adopt(names: readonly string[]): void {
    for (const n of names) this.seen.add(n);
  }
}
