// The config model is shared by everything in a process for a generation's whole life:
// freezing it makes an accidental write throw (strict mode) instead of leaking between parts.

export function deepFreeze<T>(value: T, seen: WeakSet<object> = new WeakSet()): T {
  if (value && typeof value === 'object' && !seen.has(value)) {
    seen.add(value);
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v, seen);
  }
  return value;
}
