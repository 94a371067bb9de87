/**
 * The error every gradstab function throws for bad input: its message names the function, the rule that was
 * broken and the value that broke it, e.g. `clipByGlobalNorm: maxNorm must be a finite number > 0, got -1.`
 *
 * @example
 * ```ts
 * import { clipByGlobalNorm, GradStabError } from 'gradstab';
 * try {
 *   clipByGlobalNorm(-1);
 * } catch (e) {
 *   console.log(e instanceof GradStabError, (e as Error).message);
 *   // true 'clipByGlobalNorm: maxNorm must be a finite number > 0, got -1.'
 * }
 * ```
 */
export class GradStabError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GradStabError';
  }
}
