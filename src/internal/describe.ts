/** Renders a value the way an error message should show it: strings quoted, objects as JSON, numbers as typed. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'function') return `a function${value.name ? ` (${value.name})` : ''}`;
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  const v = value as { shape?: unknown; dtype?: unknown; constructor?: { name?: string } };
  if (Array.isArray(v.shape) && typeof v.dtype === 'string')
    return `a tensor of shape [${v.shape}] and dtype ${v.dtype}`;
  const ctor = v.constructor?.name;
  if (ctor && ctor !== 'Object') return `an instance of ${ctor}`;
  try {
    const json = JSON.stringify(value);
    if (json !== undefined && json.length <= 80) return json;
  } catch {
    // circular: fall through
  }
  return 'an object';
}
