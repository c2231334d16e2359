// How a value the user wrote is quoted back in a message: strings in quotes, the rest as
// YAML would show them, so "got 5" and "got \"5\"" tell a number from a string.

export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'nothing (null)';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return String(value);
}
