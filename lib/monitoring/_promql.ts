import { Duration } from 'cdk8s';
import { invalid } from '../frp/errors';

/**
 * Small, pure helpers that write PromQL and Prometheus durations. Nothing here
 * knows about cdk8s constructs; the monitoring constructs build their
 * expressions from these so that quoting and escaping are done in one place.
 */

const UNITS: ReadonlyArray<[string, number]> = [
  ['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1_000], ['ms', 1],
];

/**
 * A cdk8s Duration as a Prometheus duration (`90s` → `1m30s`), the form the
 * monitoring.coreos.com CRDs and PromQL range selectors accept. @internal
 */
export function promDuration(where: string, field: string, duration: Duration): string {
  let ms: number;
  try {
    ms = duration.toMilliseconds();
  } catch {
    ms = NaN;
  }
  if (!Number.isInteger(ms) || ms <= 0) {
    invalid(where, field, `must be a positive whole number of milliseconds, got ${describeDuration(duration)}`);
  }
  let rest = ms;
  let out = '';
  for (const [unit, size] of UNITS) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}

const UNIT_WORDS: { [unit: string]: string } = { d: 'day', h: 'hour', m: 'minute', s: 'second', ms: 'millisecond' };

/** A Prometheus duration in words for alert texts (`5m` → `5 minutes`, `1h30m` stays). @internal */
export function humanDuration(prom: string): string {
  const m = /^(\d+)(ms|d|h|m|s)$/.exec(prom);
  if (!m) return prom;
  const n = Number(m[1]);
  return `${n} ${UNIT_WORDS[m[2]]}${n === 1 ? '' : 's'}`;
}

function describeDuration(duration: Duration | undefined): string {
  try {
    return duration ? duration.toHumanString() : String(duration);
  } catch {
    return String(duration);
  }
}

/** A PromQL string literal (double-quoted, `\` and `"` escaped). @internal */
export function promString(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

/** A regular expression that matches `literal` and nothing else. @internal */
export function regexEscape(literal: string): string {
  return literal.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Checks a regular expression meant for Prometheus (RE2, fully anchored):
 * it must compile, and it must not use what RE2 lacks (lookaround,
 * backreferences). @internal
 */
export function checkRegex(where: string, field: string, regex: string | undefined): void {
  if (regex === undefined) return;
  if (typeof regex !== 'string' || regex === '') invalid(where, field, `must be a non-empty regular expression, got ${JSON.stringify(regex)}`);
  if (/\(\?<?[=!]/.test(regex) || /\\[1-9]/.test(regex)) {
    invalid(where, field, `${JSON.stringify(regex)} uses lookaround or a backreference, which Prometheus (RE2) does not support`);
  }
  try {
    new RegExp(regex);
  } catch (e) {
    invalid(where, field, `${JSON.stringify(regex)} is not a valid regular expression (${(e as Error).message})`);
  }
}

/** One label matcher. @internal */
export interface LabelMatcher {
  readonly name: string;
  readonly op: '=' | '!=' | '=~' | '!~';
  readonly value: string;
}

/** `{a="x",b=~"y"}` from matchers, in the order given. @internal */
export function selector(matchers: readonly LabelMatcher[]): string {
  return `{${matchers.map(m => `${m.name}${m.op}${promString(m.value)}`).join(', ')}}`;
}

/** `metric{...}`. @internal */
export function series(metric: string, matchers: readonly LabelMatcher[]): string {
  return `${metric}${selector(matchers)}`;
}

/** Label names PromQL accepts (also Prometheus label names in rule labels). @internal */
export const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Checks a map of Prometheus label names to values. @internal */
export function checkPromLabels(where: string, field: string, labels: { [key: string]: string } | undefined): void {
  if (labels === undefined) return;
  for (const [k, v] of Object.entries(labels)) {
    if (!LABEL_NAME.test(k) || k.startsWith('__')) {
      invalid(where, `${field}.${k}`, 'is not a valid Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with "__")');
    }
    if (typeof v !== 'string') invalid(where, `${field}.${k}`, `must be a string, got ${JSON.stringify(v)}`);
  }
}

/** Checks Kubernetes label keys and values (for object metadata). @internal */
export function checkK8sLabels(where: string, field: string, labels: { [key: string]: string } | undefined): void {
  if (labels === undefined) return;
  const name = /^[a-zA-Z0-9]([-a-zA-Z0-9_.]{0,61}[a-zA-Z0-9])?$/;
  const prefix = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
  for (const [k, v] of Object.entries(labels)) {
    const slash = k.lastIndexOf('/');
    const p = slash >= 0 ? k.slice(0, slash) : undefined;
    const n = slash >= 0 ? k.slice(slash + 1) : k;
    if (!name.test(n) || (p !== undefined && (p.length > 253 || !prefix.test(p)))) {
      invalid(where, `${field}.${k}`, 'is not a valid Kubernetes label key ([prefix/]name, name ≤ 63 characters of [-A-Za-z0-9_.] starting and ending alphanumeric)');
    }
    if (typeof v !== 'string' || !(v === '' || name.test(v))) {
      invalid(where, `${field}.${k}`, `value ${JSON.stringify(v)} is not a valid Kubernetes label value (≤ 63 characters of [-A-Za-z0-9_.], starting and ending alphanumeric, or empty)`);
    }
  }
}
