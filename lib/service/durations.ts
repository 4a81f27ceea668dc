import { invalid } from '../frp/errors';

const UNIT_SECONDS: { [u: string]: number } = { s: 1, m: 60, h: 3600, d: 86400 };

/**
 * Parses the spec's durations (`10s`, `5m`, `1h`, `7d`) into seconds. The
 * schema already checked the pattern; this guards direct callers. @internal
 */
export function durationSeconds(where: string, field: string, text: string, units = 'smh'): number {
  const m = new RegExp(`^([0-9]+)([${units}])$`).exec(text ?? '');
  if (!m) invalid(where, field, `must match ^[0-9]+(${units.split('').join('|')})$, got ${JSON.stringify(text)}`);
  return Number(m[1]) * UNIT_SECONDS[m[2]];
}
