// Time helpers shared by the config renderers. Internal: not exported from the package.
import { Duration } from 'cdk8s';

/** The largest duration HAProxy and nginx timers accept (2^31 - 1 ms, about 24.8 days). */
export const MAX_TIMER_MS = 2_147_483_647;

/**
 * Renders a duration as the shortest exact time string HAProxy and nginx both read
 * (`"100ms"`, `"10s"`, `"5m"`, `"1h"`, `"2d"`).
 */
export function renderTime(d: Duration): string {
  const ms = d.toMilliseconds();
  const units: Array<[string, number]> = [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1_000]];
  if (ms > 0) {
    for (const [suffix, size] of units) {
      if (ms % size === 0) return `${ms / size}${suffix}`;
    }
  }
  return `${ms}ms`;
}

/**
 * Throws unless `d` is a whole number of milliseconds between `minMs` and the timer limit.
 */
export function checkDuration(field: string, d: Duration, minMs: number): void {
  const ms = d.toMilliseconds({ integral: false });
  if (!Number.isInteger(ms) || ms < minMs || ms > MAX_TIMER_MS) {
    const min = minMs === 0 ? '0ms' : `${minMs}ms`;
    throw new Error(`${field} must be a whole number of milliseconds between ${min} and ${MAX_TIMER_MS}ms, got ${ms}ms`);
  }
}
