import { fail } from './validate.js';

/**
 * The persisted form of transform configs, which must survive tfjs's save/load round trip: JSON has no Infinity or
 * NaN (they become null), and on load tfjs camelCases every key and every string value that contains an
 * underscore (`'fan_in'` comes back as `'fanIn'`). So non-finite numbers are written as `{$nonFinite: 'inf'}`,
 * and `%` and `_` in strings and keys as `%25` and `%5F`: both forms are untouched by tfjs's conversions.
 */
const NON_FINITE = '$nonFinite';

export function encodeConfig(fn: string, value: unknown): unknown {
  if (typeof value === 'number') {
    if (Number.isFinite(value)) return value;
    return { [NON_FINITE]: Number.isNaN(value) ? 'nan' : value > 0 ? 'inf' : '-inf' };
  }
  if (typeof value === 'string') return escapeString(value);
  if (typeof value === 'boolean' || value === null) return value;
  if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : encodeConfig(fn, v)));
  if (isPlainObject(value)) {
    // fromEntries, not assignment: a key like "__proto__" must stay a key.
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    return Object.fromEntries(entries.map(([k, v]) => [escapeString(k), encodeConfig(fn, v)]));
  }
  if (typeof value === 'function') {
    return fail(fn, 'a function in a config (such as an exclude predicate) cannot be saved: use a RegExp', value);
  }
  return fail(fn, 'config values must be numbers, strings, booleans, null, arrays or plain objects', value);
}

export function decodeConfig(value: unknown): unknown {
  if (typeof value === 'string') return unescapeString(value);
  if (Array.isArray(value)) return value.map(decodeConfig);
  if (isPlainObject(value)) {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === NON_FINITE) {
      const v = value[NON_FINITE];
      return v === 'inf' ? Number.POSITIVE_INFINITY : v === '-inf' ? Number.NEGATIVE_INFINITY : Number.NaN;
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [unescapeString(k), decodeConfig(v)]));
  }
  return value;
}

function escapeString(s: string): string {
  return s.replace(/%/g, '%25').replace(/_/g, '%5F');
}

function unescapeString(s: string): string {
  return s.replace(/%5F/g, '_').replace(/%25/g, '%');
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
