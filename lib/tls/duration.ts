import { Duration } from 'cdk8s';
import { invalid } from '../frp/errors';

const SPEC_PATTERN = /^([0-9]+)(d|h)$/;
const HOUR_MS = 3_600_000;

/**
 * Certificate lifetimes in the two forms this library meets: the
 * DistributedService spec writes them as `^[0-9]+(d|h)$` (`certRotation.beforeExpiry: 7d`),
 * cert-manager wants a Go duration (`168h`). Go's `time.ParseDuration` has no
 * day unit, so days become hours.
 */
export class CertificateDuration {
  /**
   * Parses a spec duration such as `"7d"` or `"168h"`.
   * @param value the spec value (`^[0-9]+(d|h)$`, greater than zero)
   * @param field the spec field named in the error message
   * @returns the duration
   * @throws if the value does not match `^[0-9]+(d|h)$` or is zero
   */
  public static parseSpec(value: string, field: string = 'certRotation.beforeExpiry'): Duration {
    const m = typeof value === 'string' ? SPEC_PATTERN.exec(value) : null;
    if (!m) invalid(undefined, field, `must match ^[0-9]+(d|h)$ (for example "7d" or "168h"), got ${JSON.stringify(value)}`);
    const amount = Number(m[1]);
    if (amount === 0 || !Number.isSafeInteger(amount)) invalid(undefined, field, `must be greater than zero, got ${JSON.stringify(value)}`);
    return m[2] === 'd' ? Duration.days(amount) : Duration.hours(amount);
  }

  /**
   * Converts a spec duration to the Go duration cert-manager reads: `"7d"` → `"168h"`.
   * @param value the spec value (`^[0-9]+(d|h)$`, greater than zero)
   * @param field the spec field named in the error message
   * @returns the Go duration, in hours
   * @throws if the value does not match `^[0-9]+(d|h)$` or is zero
   */
  public static specToGoDuration(value: string, field: string = 'certRotation.beforeExpiry'): string {
    return CertificateDuration.toGoDuration(CertificateDuration.parseSpec(value, field));
  }

  /**
   * Renders a duration as a Go duration in the largest whole unit:
   * `Duration.days(90)` → `"2160h"`, `Duration.minutes(90)` → `"90m"`.
   * @param duration the duration (whole seconds)
   * @returns the Go duration (`h`, `m` or `s`)
   * @throws if the duration is not a positive whole number of seconds
   */
  public static toGoDuration(duration: Duration): string {
    return goDuration(undefined, 'duration', duration);
  }

  private constructor() {}
}

/** Go duration of `d`, naming `field` in errors. @internal */
export function goDuration(where: string | undefined, field: string, d: Duration): string {
  const ms = millis(where, field, d);
  if (ms % HOUR_MS === 0) return `${ms / HOUR_MS}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1_000 === 0) return `${ms / 1_000}s`;
  return invalid(where, field, `must be a whole number of seconds, got ${d.toHumanString()}`);
}

/** Milliseconds of `d`, which must be positive. @internal */
export function millis(where: string | undefined, field: string, d: Duration): number {
  if (!(d instanceof Duration)) invalid(where, field, `must be a cdk8s Duration (for example Duration.hours(168)), got ${JSON.stringify(d)}`);
  const ms = d.toMilliseconds();
  if (!(ms > 0)) invalid(where, field, `must be longer than zero, got ${d.toHumanString()}`);
  return ms;
}

/** A duration for error messages: its Go form when it has one, else cdk8s' human string. @internal */
export function describeDuration(d: Duration): string {
  const ms = d.toMilliseconds();
  if (ms > 0 && ms % 1_000 === 0) return goDuration(undefined, 'duration', d);
  return d.toHumanString();
}
