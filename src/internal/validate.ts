import { GradStabError } from '../errors.js';
import { describeValue } from './describe.js';

/**
 * Throws a GradStabError in the house format: `fn: what must hold, got value.` `shown` replaces the rendering of
 * the value where the value itself says too little (a tensor's dtype, say).
 */
export function fail(fn: string, rule: string, value: unknown, shown = describeValue(value)): never {
  throw new GradStabError(`${fn}: ${rule}, got ${shown}.`);
}

/** A finite number strictly greater than zero. */
export function positiveFinite(fn: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    fail(fn, `${name} must be a finite number > 0`, value);
  }
  return value;
}

/** Any finite number. */
export function finiteNumber(fn: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) fail(fn, `${name} must be a finite number`, value);
  return value;
}

/** A whole number >= min, or Infinity when `allowInfinity` is set. */
export function wholeNumber(fn: string, name: string, value: unknown, min: number, allowInfinity = false): number {
  const ok =
    typeof value === 'number' &&
    value >= min &&
    (Number.isInteger(value) || (allowInfinity && value === Number.POSITIVE_INFINITY));
  if (!ok) fail(fn, `${name} must be a whole number >= ${min}${allowInfinity ? ' or Infinity' : ''}`, value);
  return value as number;
}

/** A plain options object (or undefined), whose keys are all known. */
export function optionsObject<T extends object>(fn: string, value: unknown, known: readonly string[]): Partial<T> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    fail(fn, 'options must be an object', value);
  }
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) fail(fn, `unknown option ${JSON.stringify(key)} (known: ${known.join(', ')})`, value);
  }
  return value as Partial<T>;
}
