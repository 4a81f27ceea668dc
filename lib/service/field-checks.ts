/**
 * Checks of single spec values that a schema pattern cannot express (map
 * keys, IP addresses, duration bounds) or that must agree with the strictest
 * renderer of the value (frp, HAProxy, nginx, Kubernetes). Each returns what
 * is wrong, or undefined; the schema walk (validate-schema.ts) puts the field
 * path in front. Every spec value is checked here, whatever renders it later.
 * @internal
 */
import { isIP } from 'net';
import { durationSeconds, MAX_SECONDS } from './durations';
import { FieldCheck } from './schema';
import { checkCookieName, checkGlobPath, checkHost, checkRole, checkUrlPath } from '../balancer/_validate';

const show = (v: unknown) => JSON.stringify(v);
const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

/** A DNS-1123 label (namespaces, subdomains): at most 63 characters. @internal */
export function isDnsLabel(s: string): boolean {
  return s.length <= 63 && DNS_1123_LABEL.test(s);
}

/** A DNS-1123 subdomain (object names, host names): at most 253 characters. @internal */
export function isDnsSubdomain(s: string): boolean {
  return s.length > 0 && s.length <= 253 && s.split('.').every(isDnsLabel);
}

/** A Kubernetes label key: `[prefix/]name`. @internal */
export function labelKeyProblem(key: string): string | undefined {
  const parts = key.split('/');
  const name = parts[parts.length - 1];
  if (parts.length > 2 || (parts.length === 2 && !isDnsSubdomain(parts[0])) || name.length > 63 || !QUALIFIED_NAME_PART.test(name)) {
    return `must be a label key ([prefix/]name: an optional DNS subdomain prefix, then at most 63 letters, digits, "-", "_" and "." starting and ending with a letter or digit), got ${show(key)}`;
  }
  return undefined;
}

/** A Kubernetes label value. @internal */
export function labelValueProblem(value: string): string | undefined {
  if (value !== '' && (value.length > 63 || !QUALIFIED_NAME_PART.test(value))) {
    return `must be a label value (at most 63 letters, digits, "-", "_" and ".", starting and ending with a letter or digit), got ${show(value)}`;
  }
  return undefined;
}

/** Runs a thrower (the renderers' own checks) and returns its message without its field prefix. */
function fromThrower(check: (field: string, value: any) => unknown): FieldCheck {
  return (value) => {
    try {
      check('\u0000', value);
      return undefined;
    } catch (e) {
      return (e as Error).message.replace(/^\u0000 /, '');
    }
  };
}

/** Field checks by meaning. @internal */
export const CHECKS = {
  /** A namespace or a single DNS label. */
  dnsLabel: ((v: string) => isDnsLabel(v) ? undefined : `must be a DNS label (at most 63 lower-case letters, digits and "-", starting and ending with a letter or digit), got ${show(v)}`) as FieldCheck,
  /** A Service name. */
  serviceName: ((v: string) => v.length <= 63 && DNS_1035_LABEL.test(v) ? undefined : `must be a Service name (at most 63 lower-case letters, digits and "-", starting with a letter), got ${show(v)}`) as FieldCheck,
  /** The name of a Kubernetes object (Secret, Issuer, IngressClass). */
  objectName: ((v: string) => isDnsSubdomain(v) ? undefined : `must be a Kubernetes object name (lower-case DNS subdomain of at most 253 characters), got ${show(v)}`) as FieldCheck,
  /** A DNS subdomain naming something (`what`: "a Gateway's name"). */
  subdomainNamed: (what: string): FieldCheck => (v: string) => isDnsSubdomain(v) ? undefined : `must be ${what} (a DNS subdomain), got ${show(v)}`,
  /** A host name an Ingress and frp route (optionally `*.` wildcard). */
  domain: ((v: string) => {
    const name = v.startsWith('*.') ? v.slice(2) : v;
    if (!isDnsSubdomain(name) || !name.includes('.') || isIP(name) || /^[0-9]+$/.test(name.split('.').pop()!)) {
      return `must be a lower-case DNS name such as app.example.com (an optional leading "*."), got ${show(v)}`;
    }
    return undefined;
  }) as FieldCheck,
  /** A backend host: an IP address or a DNS name. */
  host: fromThrower(checkHost),
  /** A map of label keys to label values. */
  labels: ((m: { [k: string]: unknown }) => {
    for (const [k, v] of Object.entries(m)) {
      const p = labelKeyProblem(k) ?? (typeof v === 'string' ? labelValueProblem(v) : undefined);
      if (p) return `key ${show(k)}: ${p}`;
    }
    return undefined;
  }) as FieldCheck,
  labelKey: ((v: string) => labelKeyProblem(v)) as FieldCheck,
  labelValue: ((v: string) => labelValueProblem(v)) as FieldCheck,
  /** Free-form string maps (frp proxy metadatas): bounded sizes. */
  smallMap: ((m: { [k: string]: unknown }) => {
    for (const [k, v] of Object.entries(m)) {
      if (k.length === 0 || k.length > 253) return `keys must be 1 to 253 characters, got ${show(k)}`;
      if (typeof v === 'string' && v.length > 1024) return `key ${show(k)}: values must be at most 1024 characters, got ${v.length}`;
    }
    return undefined;
  }) as FieldCheck,
  urlPath: fromThrower(checkUrlPath),
  globPath: fromThrower(checkGlobPath),
  role: fromThrower(checkRole),
  cookieName: fromThrower(checkCookieName),
  /** A duration of `units` from 1 second to `max`. */
  duration: (units: string, max: { seconds: number; why: string }): FieldCheck => (v: string) => {
    try {
      const seconds = durationSeconds('', '\u0000', v, units, max);
      return seconds === 0 ? `must be longer than zero, got ${show(v)}` : undefined;
    } catch (e) {
      return (e as Error).message.replace(/^\u0000: /, '');
    }
  },
  /** Certificate renewal lead time: more than zero, less than the 90-day certificate lifetime. */
  renewBefore: ((v: string) => {
    const m = /^([0-9]+)(d|h)$/.exec(v);
    if (!m) return undefined; // the pattern says it
    const hours = Number(m[1]) * (m[2] === 'd' ? 24 : 1);
    return hours === 0 || hours >= 2160 ? `must be more than zero and less than the certificates' lifetime of 90d, got ${show(v)}` : undefined;
  }) as FieldCheck,
};

export { MAX_SECONDS };
