import { invalid } from '../frp/errors';

const UNIT_SECONDS: { [u: string]: number } = { s: 1, m: 60, h: 3600, d: 86400 };

/**
 * Parses the spec's durations (`10s`, `5m`, `1h`, `7d`) into seconds. The
 * schema already checked the pattern; this guards direct callers. @internal
 */
export function durationSeconds(where: string, field: string, text: string, units = 'smh', max?: { seconds: number; why: string }): number {
  const m = new RegExp(`^([0-9]+)([${units}])$`).exec(text ?? '');
  if (!m) invalid(where, field, `must match ^[0-9]+(${units.split('').join('|')})$, got ${JSON.stringify(text)}`);
  const seconds = Number(m[1]) * UNIT_SECONDS[m[2]];
  if (max && seconds > max.seconds) invalid(where, field, `must be at most ${human(max.seconds)} (${max.why}), got ${text}`);
  return seconds;
}

/** 3600 -> "60m", 86400 -> "24h". */
function human(seconds: number): string {
  return seconds % 3600 === 0 && seconds >= 86400 ? `${seconds / 3600}h` : seconds % 60 === 0 ? `${seconds / 60}m` : `${seconds}s`;
}

/** Upper bounds of what the spec's durations become. @internal */
export const MAX_SECONDS = {
  /** frp's health check interval and timeout, frpc's dial timeout. */
  frpTimer: { seconds: 3600, why: 'frp takes at most an hour' },
  /** keepalive, idle and affinity times. */
  day: { seconds: 86400, why: 'longer idle or affinity times keep state for a day or more' },
};
