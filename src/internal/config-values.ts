/**
 * Config values that survive tfjs's save/load round trip.
 *
 * tfjs writes configs with JSON (Infinity and NaN become null) and, on load, camelCases every key and every string
 * value that contains an underscore. So non-finite numbers are written as the strings 'inf', '-inf' and 'nan'
 * (no underscore, unchanged by either case conversion), and keys are read in either spelling.
 */
export type EncodedNumber = number | 'inf' | '-inf' | 'nan';

export function encodeNumber(value: number): EncodedNumber {
  if (Number.isFinite(value)) return value;
  if (Number.isNaN(value)) return 'nan';
  return value > 0 ? 'inf' : '-inf';
}

const NON_FINITE: Record<string, number> = {
  inf: Number.POSITIVE_INFINITY,
  infinity: Number.POSITIVE_INFINITY,
  '+inf': Number.POSITIVE_INFINITY,
  '-inf': Number.NEGATIVE_INFINITY,
  '-infinity': Number.NEGATIVE_INFINITY,
  nan: Number.NaN,
};

/** Decodes a number written by encodeNumber; null or undefined (a lost value) gives undefined. */
export function decodeNumber(value: unknown): number | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string') {
    const decoded = NON_FINITE[value.toLowerCase()];
    return decoded ?? Number(value);
  }
  return value as number;
}

function snakeCase(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

/** Reads `key` from a config written in camelCase that may come back snake_cased (or the reverse). */
export function readConfigKey(config: Record<string, unknown>, key: string): unknown {
  if (key in config) return config[key];
  const snake = snakeCase(key);
  if (snake in config) return config[snake];
  return undefined;
}
