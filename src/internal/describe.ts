/** Renders a value the way an error message should show it: strings quoted, objects as JSON, numbers as typed. */
export function describeValue(value: unknown): string {
  try {
    return describe(value);
  } catch {
    return 'an object'; // own keys such as toString or a shape of odd objects can break any rendering
  }
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'function') return `a function${value.name ? ` (${value.name})` : ''}`;
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  const v = value as { shape?: unknown; dtype?: unknown };
  if (Array.isArray(v.shape) && typeof v.dtype === 'string')
    return `a tensor of shape [${v.shape}] and dtype ${v.dtype}`;
  // The prototype's constructor, not an own `constructor` key of a plain object.
  const proto = Object.getPrototypeOf(value) as { constructor?: { name?: unknown } } | null;
  const ctor = proto?.constructor?.name;
  if (typeof ctor === 'string' && ctor !== '' && ctor !== 'Object') return `an instance of ${ctor}`;
  try {
    const json = JSON.stringify(value);
    if (json !== undefined && json.length <= 80) return json;
  } catch {
    // circular: fall through
  }
  return 'an object';
}

/** Renders a shape: `[3,0]`, `[2.5,NaN]`, `[null,3]`, `[<empty>,<empty>]` for `new Array(2)`; a non-array as above. */
export function describeShape(shape: unknown): string {
  if (!Array.isArray(shape)) return describeValue(shape);
  const dims = Array.from({ length: shape.length }, (_, i) => (i in shape ? describeValue(shape[i]) : '<empty>'));
  return `[${dims.join(',')}]`;
}

/** A figure as shown in messages and reports: 3 significant digits (`0.000401`, `1.47e+5`), or NaN/Infinity as is. */
export function threeDigits(value: number): string {
  return Number.isFinite(value) ? String(Number(value.toPrecision(3))) : String(value);
}
