import { brandClass, isInstance } from './internal/identity.js';

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
  /** True for errors of this class from any copy of gradstab (its ES-module and CommonJS builds alike). */
  static override [Symbol.hasInstance](instance: unknown): boolean {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the class on the right of instanceof, a subclass too
    return isInstance(this, instance);
  }

  constructor(message: string) {
    super(message);
    this.name = 'GradStabError';
  }
}

brandClass(GradStabError, 'GradStabError');
