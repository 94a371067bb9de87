/**
 * The smallest and largest of many numbers without `Math.min(...values)`, which passes every value as an argument
 * and throws "Maximum call stack size exceeded" beyond about 125,000 of them (a long monitor history does that).
 * NaN is skipped; an empty input gives `empty`.
 */
export function minOf(values: Iterable<number>, empty = Number.NaN): number {
  let out = Number.POSITIVE_INFINITY;
  let any = false;
  for (const v of values) {
    if (Number.isNaN(v)) continue;
    any = true;
    if (v < out) out = v;
  }
  return any ? out : empty;
}

/** The largest of many numbers (see {@link minOf}): NaN is skipped; an empty input gives `empty`. */
export function maxOf(values: Iterable<number>, empty = Number.NaN): number {
  let out = Number.NEGATIVE_INFINITY;
  let any = false;
  for (const v of values) {
    if (Number.isNaN(v)) continue;
    any = true;
    if (v > out) out = v;
  }
  return any ? out : empty;
}
