/** Renders a value the way an error message should show it: strings quoted, objects as JSON, numbers as typed. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'function') return `a function${value.name ? ` (${value.name})` : ''}`;
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  const ctor = (value as object).constructor?.name;
  try {
    const json = JSON.stringify(value);
    if (json !== undefined && json.length <= 80) return ctor && ctor !== 'Object' ? `${ctor} ${json}` : json;
  } catch {
    // circular: fall through to the constructor name
  }
  return ctor ? `an instance of ${ctor}` : 'an object';
}
