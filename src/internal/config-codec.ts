import { fail, isPlainObject } from './validate.js';

/**
 * The persisted form of transform configs, which must survive tfjs's save/load round trip: JSON has no Infinity or
 * NaN (they become null), and on load tfjs camelCases every key and every string value that contains an
 * underscore (`'fan_in'` comes back as `'fanIn'`). So non-finite numbers are written as `{$nonFinite: 'inf'}`,
 * and `%` and `_` in strings and keys as `%25` and `%5F`: both forms are untouched by tfjs's conversions.
 */
const NON_FINITE = '$nonFinite';

/** How deep a config may nest: far more than any transform needs, and far less than the call stack allows. */
export const MAX_CONFIG_DEPTH = 64;

/** Encodes a config to its persisted form; `fn` names the caller in errors. */
export function encodeConfig(fn: string, value: unknown): unknown {
  return encode(fn, value, []);
}

/** Fails for a config that contains itself or nests too deep; `path` holds the objects above `value`. */
function checkNesting(fn: string, value: object, path: readonly object[]): void {
  if (path.includes(value)) fail(fn, 'a config must not contain itself', value, 'an object that contains itself');
  if (path.length >= MAX_CONFIG_DEPTH) {
    fail(fn, `a config must not nest more than ${MAX_CONFIG_DEPTH} levels deep`, value, 'a deeper object');
  }
}

function encode(fn: string, value: unknown, path: readonly object[]): unknown {
  if (typeof value === 'number') {
    if (Number.isFinite(value)) return value;
    return { [NON_FINITE]: Number.isNaN(value) ? 'nan' : value > 0 ? 'inf' : '-inf' };
  }
  if (typeof value === 'string') return escapeString(value);
  if (typeof value === 'boolean' || value === null) return value;
  if (Array.isArray(value)) {
    checkNesting(fn, value, path);
    const inner = [...path, value];
    // A hole or an undefined entry becomes null, as JSON.stringify writes it.
    return Array.from({ length: value.length }, (_, i) =>
      value[i] === undefined ? null : encode(fn, value[i], inner),
    );
  }
  if (isPlainObject(value)) {
    checkNesting(fn, value, path);
    const inner = [...path, value];
    // fromEntries, not assignment: a key like "__proto__" must stay a key.
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    return Object.fromEntries(entries.map(([k, v]) => [escapeString(k), encode(fn, v, inner)]));
  }
  if (typeof value === 'function') {
    return fail(fn, 'a function in a config (such as an exclude predicate) cannot be saved: use a RegExp', value);
  }
  return fail(fn, 'config values must be numbers, strings, booleans, null, arrays or plain objects', value);
}

/** Decodes a persisted config; `fn` names the caller in errors (a corrupt config is a GradStabError). */
export function decodeConfig(value: unknown, fn = 'transformFromConfig'): unknown {
  return decode(fn, value, []);
}

function decode(fn: string, value: unknown, path: readonly object[]): unknown {
  if (typeof value === 'string') return unescapeString(value);
  if (Array.isArray(value)) {
    checkNesting(fn, value, path);
    const inner = [...path, value];
    return Array.from({ length: value.length }, (_, i) => decode(fn, value[i], inner));
  }
  if (isPlainObject(value)) {
    checkNesting(fn, value, path);
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === NON_FINITE) {
      const v = value[NON_FINITE];
      if (v === 'inf') return Number.POSITIVE_INFINITY;
      if (v === '-inf') return Number.NEGATIVE_INFINITY;
      if (v === 'nan') return Number.NaN;
      return fail(fn, `a {${NON_FINITE}} marker must hold 'inf', '-inf' or 'nan'`, v);
    }
    const inner = [...path, value];
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [unescapeString(k), decode(fn, v, inner)]));
  }
  return value;
}

function escapeString(s: string): string {
  return s.replace(/%/g, '%25').replace(/_/g, '%5F');
}

function unescapeString(s: string): string {
  return s.replace(/%5F/g, '_').replace(/%25/g, '%');
}
