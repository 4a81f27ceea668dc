import { createHash } from 'crypto';
import * as kplus from 'cdk8s-plus-28';
import { FrpServer } from '../server/frp-server';

/** Who claims something on a shared frps: a service and the spec field that asks for it. @internal */
export interface Claim {
  /** The service's construct path. */
  readonly owner: string;
  /** Where its manifest came from, if it came from one. */
  readonly source?: string;
  /** The user's field (`spec.expose.domain`, `metadata.name`). */
  readonly field: string;
}

const describe = (c: Claim) => `${c.owner}${c.source ? ` (${c.source})` : ''} at its ${c.field}`;

/**
 * What the services attached to one frps have taken there, so that a clash is
 * reported at the spec fields of both services (not at frp's objects), and
 * frps' listening ports are chosen so that every exposed port works.
 * @internal
 */
export class ServerClaims {
  public static of(server: FrpServer): ServerClaims {
    let claims = ALL.get(server);
    if (!claims) {
      claims = new ServerClaims(server);
      ALL.set(server, claims);
    }
    return claims;
  }

  private readonly routes = new Map<string, Claim>();
  private readonly names = new Map<string, Claim>();

  private constructor(private readonly server: FrpServer) {}

  /**
   * Checks claims of routes (`host/path` served by frp and an Ingress) and of
   * object names next to frps; returns one message per clash, naming both
   * services, or records them all when there is none.
   */
  public claim(routes: { key: string; what: string; claim: Claim }[], names: { key: string; what: string; claim: Claim }[]): string[] {
    const out: string[] = [];
    for (const r of routes) {
      const prev = this.routes.get(r.key);
      if (prev) out.push(`${r.claim.field}: ${r.what} is already served by ${describe(prev)}; only one service can serve a host and path (give one another domain or path)`);
    }
    for (const n of names) {
      const prev = this.names.get(n.key);
      if (prev) out.push(`${n.claim.field}: ${n.what} next to frps is also the one of ${describe(prev)}; rename one of the services`);
    }
    if (out.length === 0) {
      for (const r of routes) this.routes.set(r.key, r.claim);
      for (const n of names) this.names.set(n.key, n.claim);
    }
    return out;
  }

  /**
   * The port frps listens on for an exposed port: `preferred` (the exposed
   * port, or 10000+port below 1024) unless frps already uses it for itself or
   * another proxy; then the first free one of preferred+10000, +20000, ...
   * and else the first free port from 1024. The exposure's Service maps the
   * exposed port to it, so users never meet frps' own ports.
   */
  public remotePort(protocol: kplus.Protocol, preferred: number): number {
    const free = (p: number) => p >= 1024 && p <= 65535 && !this.server._isPortTaken(protocol, p);
    for (let p = preferred; p <= 65535; p += 10000) if (free(p)) return p;
    for (let p = 1024; p <= 65535; p++) if (free(p)) return p;
    throw new Error(`no free port left on ${this.server.node.path}`);
  }
}

const ALL = new WeakMap<FrpServer, ServerClaims>();

/**
 * The name of an object placed next to frps for a service of another
 * namespace: `<name>-<namespace>`, shortened with a hash to 63 characters.
 * @internal
 */
export function qualifiedName(name: string, namespace: string): string {
  const full = `${name}-${namespace}`;
  if (full.length <= 63) return full;
  const hash = createHash('sha256').update(`${namespace}/${name}`).digest('hex').slice(0, 8);
  return `${full.slice(0, 54).replace(/-+$/, '')}-${hash}`;
}
