/**
 * Validation errors. Every message has the same shape:
 * `<construct path>: <field path>: <what is wrong and what is allowed>`.
 * The construct path is omitted when a pure function is called without one.
 */
export function invalid(where: string | undefined, field: string, message: string): never {
  throw new Error(`${where ? `${where}: ` : ''}${field}: ${message}`);
}

/** Checks that `value` is an integer within [min, max]. */
export function checkInt(where: string | undefined, field: string, value: number | undefined, min: number, max: number): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    invalid(where, field, `must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
}

/** Checks a TCP/UDP port number (1-65535). */
export function checkPort(where: string | undefined, field: string, value: number | undefined): void {
  checkInt(where, field, value, 1, 65535);
}

/** Checks that a required string is present and non-empty. */
export function checkNonEmpty(where: string | undefined, field: string, value: string | undefined): void {
  if (typeof value !== 'string' || value.trim() === '') {
    invalid(where, field, `must be a non-empty string, got ${JSON.stringify(value)}`);
  }
}

/** Checks that a value is one of an enum's values. */
export function checkEnum<T extends string>(where: string | undefined, field: string, value: T | undefined, allowed: Record<string, T>): void {
  if (value === undefined) return;
  const values = Object.values(allowed);
  if (!values.includes(value)) {
    invalid(where, field, `must be one of ${values.map(v => JSON.stringify(v)).join(', ')}, got ${JSON.stringify(value)}`);
  }
}
