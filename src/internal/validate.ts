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

/** The largest finite float32. */
export const FLOAT32_MAX = 3.4028234663852886e38;
/** The smallest float32 > 0 (a subnormal). */
export const FLOAT32_MIN_POSITIVE = 1.401298464324817e-45;

/**
 * A finite number > 0 that stays finite and > 0 in float32, for values used on the device: 1e-46 is 0 there and
 * 1e39 is Infinity, which would silently zero (or not limit) every gradient.
 */
export function positiveFloat32(fn: string, name: string, value: unknown): number {
  const v = positiveFinite(fn, name, value);
  if (!(Math.fround(v) > 0)) fail(fn, `${name} must be > 0 in float32 (at least ${FLOAT32_MIN_POSITIVE})`, v);
  if (!Number.isFinite(Math.fround(v))) fail(fn, `${name} must be finite in float32 (at most ${FLOAT32_MAX})`, v);
  return v;
}

/** A finite number that stays finite in float32 (|value| <= 3.4e38), for values used on the device. */
export function finiteFloat32(fn: string, name: string, value: unknown): number {
  const v = finiteNumber(fn, name, value);
  if (!Number.isFinite(Math.fround(v))) fail(fn, `${name} must be finite in float32 (|${name}| <= ${FLOAT32_MAX})`, v);
  return v;
}

/** True or false. */
export function booleanValue(fn: string, name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') fail(fn, `${name} must be true or false`, value);
  return value;
}

/** Any finite number. */
export function finiteNumber(fn: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) fail(fn, `${name} must be a finite number`, value);
  return value;
}

/**
 * A whole number >= min, or Infinity when `allowInfinity` is set; at most `max` when given (a bound that keeps
 * what the number sizes, such as a buffer on the device, allocatable).
 */
export function wholeNumber(
  fn: string,
  name: string,
  value: unknown,
  min: number,
  allowInfinity = false,
  max?: number,
): number {
  const ok =
    typeof value === 'number' &&
    value >= min &&
    (Number.isInteger(value) || (allowInfinity && value === Number.POSITIVE_INFINITY));
  if (!ok) fail(fn, `${name} must be a whole number >= ${min}${allowInfinity ? ' or Infinity' : ''}`, value);
  if (max !== undefined && (value as number) > max) fail(fn, `${name} must be at most ${max}`, value);
  return value as number;
}

/** Whether `value` is a plain object: made by `{}`, `Object.fromEntries`, `JSON.parse` or `Object.create(null)`. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * A plain options object (or undefined), whose keys are all known, as a copy of its own keys (so that later reads
 * see what was checked). An option given as `undefined` takes its default; `null` is an error (tfjs's configs turn
 * missing values into null, so the loading paths drop null values before they get here).
 */
export function optionsObject<T extends object>(fn: string, value: unknown, known: readonly string[]): Partial<T> {
  if (value === undefined) return {};
  if (!isPlainObject(value)) fail(fn, 'options must be a plain object', value);
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) fail(fn, `unknown option ${JSON.stringify(key)} (known: ${known.join(', ')})`, value);
    const v = value[key];
    if (v === null) fail(fn, `${key} must not be null (leave the key out or pass undefined instead)`, v);
    copy[key] = v;
  }
  return copy as Partial<T>;
}

/** A saved config's keys without the null values, which tfjs writes for missing ones. */
export function withoutNulls(config: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(config).filter(([, v]) => v !== null));
}

/**
 * Runs `run`, prefixing a GradStabError from inside it with `fn`, the function the user called, unless it names
 * `fn` already: `transformFromConfig: clipByNorm: maxNorm must be a finite number > 0, got -1.`
 */
export function withCaller<T>(fn: string, run: () => T): T {
  try {
    return run();
  } catch (e) {
    if (e instanceof GradStabError && !e.message.startsWith(`${fn}:`) && !e.message.startsWith(`${fn} (`)) {
      throw new GradStabError(`${fn}: ${e.message}`);
    }
    throw e;
  }
}

/** Fails unless every weight of a model can be read: a disposed model's weights cannot. */
export function assertWeightsAlive(
  fn: string,
  model: { readonly weights: readonly { name: string; read(): unknown }[] },
): void {
  for (const w of model.weights) {
    try {
      w.read();
    } catch {
      fail(fn, 'model must not be disposed', model, `a model whose weight ${JSON.stringify(w.name)} is disposed`);
    }
  }
}
