import { isIP } from 'net';
import { invalid } from '../frp/errors';

const DNS_LABEL = '[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?';
const DNS_NAME = new RegExp(`^(\\*\\.)?${DNS_LABEL}(\\.${DNS_LABEL})*$`);
const OBJECT_NAME = new RegExp(`^${DNS_LABEL}(\\.${DNS_LABEL})*$`);

/**
 * Checks DNS names for a certificate's subjectAltName: lowercase RFC 1123
 * names of at most 253 characters, optionally with a leading `*.` wildcard.
 * @internal
 */
export function checkDnsNames(where: string, field: string, names: readonly string[] | undefined): void {
  if (names === undefined) return;
  if (!Array.isArray(names)) invalid(where, field, `must be a list of DNS names, got ${JSON.stringify(names)}`);
  names.forEach((name, i) => {
    const f = `${field}[${i}]`;
    if (typeof name !== 'string' || name === '') invalid(where, f, `must be a non-empty DNS name, got ${JSON.stringify(name)}`);
    if (isIP(name)) invalid(where, f, `${JSON.stringify(name)} is an IP address: put it in ipAddresses`);
    if (name.length > 253 || !DNS_NAME.test(name)) {
      invalid(where, f, `must be a lowercase DNS name (RFC 1123 labels of a-z, 0-9 and '-', at most 63 characters each, 253 in all; an optional leading "*."), got ${JSON.stringify(name)}`);
    }
  });
}

/** Checks IPv4/IPv6 addresses for a certificate's subjectAltName. @internal */
export function checkIpAddresses(where: string, field: string, addresses: readonly string[] | undefined): void {
  if (addresses === undefined) return;
  if (!Array.isArray(addresses)) invalid(where, field, `must be a list of IP addresses, got ${JSON.stringify(addresses)}`);
  addresses.forEach((ip, i) => {
    if (typeof ip !== 'string' || isIP(ip) === 0) invalid(where, `${field}[${i}]`, `must be an IPv4 or IPv6 address, got ${JSON.stringify(ip)}`);
  });
}

/** Checks an X.509 common name (1 to 64 characters, RFC 5280 ub-common-name). @internal */
export function checkCommonName(where: string, field: string, value: string | undefined): void {
  if (value === undefined) return;
  if (typeof value !== 'string' || value.trim() === '' || value.length > 64) {
    invalid(where, field, `must be 1 to 64 characters (the X.509 limit for a common name), got ${JSON.stringify(value)}`);
  }
}

/** Checks the name of a Kubernetes object we reference (DNS subdomain, at most 253 characters). @internal */
export function checkObjectName(where: string, field: string, value: string | undefined): void {
  if (typeof value !== 'string' || value.length > 253 || !OBJECT_NAME.test(value)) {
    invalid(where, field, `must be a Kubernetes object name (lowercase RFC 1123 subdomain, at most 253 characters), got ${JSON.stringify(value)}`);
  }
}
