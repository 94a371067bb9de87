/** The command-line values the examples share, checked with an error that names the flag. */

/** `--backend`'s value: wasm or cpu. */
export function backendFlag(value: string | undefined, prefix = ''): 'wasm' | 'cpu' {
  if (value !== 'wasm' && value !== 'cpu') throw new Error(`${prefix}--backend must be wasm or cpu, got ${value}`);
  return value;
}

/** A whole-number flag's value in [min, max]. */
export function wholeFlag(
  flag: string,
  value: string | undefined,
  min: number,
  max = Number.POSITIVE_INFINITY,
): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    const range = Number.isFinite(max) ? `in [${min}, ${max}]` : `>= ${min}`;
    throw new Error(`${flag} needs a whole number ${range}, got ${value}`);
  }
  return n;
}
