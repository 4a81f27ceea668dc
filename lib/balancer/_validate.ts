// Shared input checks for the balancer config models. Every check throws a plain
// Error whose lowercase message names the field, says what is allowed and shows the
// bad value. Internal: not exported from the package.
import { isIPv4, isIPv6 } from 'net';

/** Formats a bad value for an error message. */
export function show(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return JSON.stringify(value);
}

export function checkInteger(field: string, value: number, min: number, max: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${field} must be an integer between ${min} and ${max}, got ${show(value)}`);
  }
}

export function checkPort(field: string, value: number): void {
  checkInteger(field, value, 1, 65535);
}

export function checkEnum<T extends string>(field: string, value: T, allowed: Record<string, T>): void {
  const values = Object.values(allowed);
  if (!values.includes(value)) {
    throw new Error(`${field} must be one of ${values.join(', ')}, got ${show(value)}`);
  }
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A name used for HAProxy sections and nginx upstreams: a DNS label (like a Kubernetes name). */
export function checkName(field: string, value: string): void {
  if (typeof value !== 'string' || value.length > 63 || !DNS_LABEL.test(value)) {
    throw new Error(`${field} must be a dns label (lowercase letters, digits and "-", at most 63 characters, starting and ending with a letter or digit), got ${show(value)}`);
  }
}

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)*\.?$/;

/** The kind of address a backend host is. */
export enum HostKind { IPV4, IPV6, NAME }

/** A backend host: IPv4, IPv6 (without brackets) or a DNS name. */
export function checkHost(field: string, value: string): HostKind {
  if (typeof value === 'string') {
    if (isIPv4(value)) return HostKind.IPV4;
    if (isIPv6(value)) return HostKind.IPV6;
    if (HOSTNAME.test(value) && !/^[0-9.]+$/.test(value)) return HostKind.NAME;
  }
  throw new Error(`${field} must be an ipv4 address, an ipv6 address (without brackets) or a dns name, got ${show(value)}`);
}

/** `host:port` with IPv6 hosts in brackets, as HAProxy and nginx both read it. */
export function hostPort(host: string, port: number): string {
  return isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

/** A bind address: `*` style (undefined) or an IP literal. */
export function checkBindAddress(field: string, value: string | undefined): void {
  if (value === undefined) return;
  if (typeof value !== 'string' || !(isIPv4(value) || isIPv6(value))) {
    throw new Error(`${field} must be an ipv4 or ipv6 address, got ${show(value)}`);
  }
}

const ABSOLUTE_FILE = /^\/[A-Za-z0-9._/-]+$/;

/** A file path written into a config: absolute, no spaces, quotes or `..`. */
export function checkFilePath(field: string, value: string): void {
  if (typeof value !== 'string' || !ABSOLUTE_FILE.test(value) || value.split('/').includes('..') || value.endsWith('/')) {
    throw new Error(`${field} must be an absolute file path of letters, digits, ".", "_", "-" and "/" (no ".." segments), got ${show(value)}`);
  }
}

const URL_PATH = /^\/[A-Za-z0-9._~!$&()*+,;=:@%/-]*$/;

/** A request path such as a health check path: absolute, URL characters only. */
export function checkUrlPath(field: string, value: string): void {
  if (typeof value !== 'string' || !URL_PATH.test(value) || value.includes('*')) {
    throw new Error(`${field} must be an absolute url path (starting with "/", no spaces, quotes, "?", "#" or "*"), got ${show(value)}`);
  }
}

const HEADER_NAME = /^[A-Za-z0-9][A-Za-z0-9-]*$/;

export function checkHeaderName(field: string, value: string): void {
  if (typeof value !== 'string' || !HEADER_NAME.test(value)) {
    throw new Error(`${field} must be an http header name (letters, digits and "-"), got ${show(value)}`);
  }
}

const COOKIE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export function checkCookieName(field: string, value: string): void {
  if (typeof value !== 'string' || value.length > 64 || !COOKIE_NAME.test(value)) {
    throw new Error(`${field} must be a cookie name of letters, digits, "-", "_" and "." (at most 64 characters, starting with a letter or digit), got ${show(value)}`);
  }
}

const ROLE = /^[A-Za-z0-9][A-Za-z0-9_.:-]*$/;

export function checkRole(field: string, value: string): void {
  if (typeof value !== 'string' || value.length > 128 || !ROLE.test(value)) {
    throw new Error(`${field} must be a role name of letters, digits, "-", "_", "." and ":" (starting with a letter or digit), got ${show(value)}`);
  }
}

const JSON_PATH = /^\$(\.[A-Za-z_][A-Za-z0-9_-]*)+$/;

export function checkJsonPath(field: string, value: string): void {
  if (typeof value !== 'string' || value.length > 64 || !JSON_PATH.test(value)) {
    throw new Error(`${field} must be a json path of dotted member names such as "$.roles" or "$.realm_access.roles", got ${show(value)}`);
  }
}

const CLAIM_VALUE = /^[A-Za-z0-9._~:/?&=+@%-]+$/;

/** A JWT claim value compared as a literal (issuer, audience). */
export function checkClaimValue(field: string, value: string): void {
  if (typeof value !== 'string' || value.length > 256 || !CLAIM_VALUE.test(value)) {
    throw new Error(`${field} must be a non-empty string of url characters (no spaces or quotes), got ${show(value)}`);
  }
}

const GLOB_PATH = /^\/[A-Za-z0-9._~!$&()*+,;=:@%/-]*$/;

/** An authorization rule path: absolute, URL characters plus `*` wildcards. */
export function checkGlobPath(field: string, value: string): void {
  if (typeof value !== 'string' || !GLOB_PATH.test(value)) {
    throw new Error(`${field} must be an absolute path glob starting with "/" (url characters and "*", no spaces, quotes, "?" or "#"), got ${show(value)}`);
  }
  if (value.includes('***')) {
    throw new Error(`${field} must not contain "***" (use "*" within a segment or "**" across segments), got ${show(value)}`);
  }
}
