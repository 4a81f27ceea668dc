import { Chart } from 'cdk8s';
import { IConstruct } from 'constructs';

/** A Secret a bundle reads but does not create: it must exist before the pods can start. */
export interface RequiredSecret {
  /** Namespace the Secret must be in. */
  readonly namespace: string;
  /** The Secret's name. */
  readonly name: string;
  /** The keys the bundle reads (sorted); empty when an object reads the whole Secret and no key is known. */
  readonly keys: string[];
  /** What it holds, in a few words. */
  readonly description: string;
  /** A command that creates it (kubectl; values to fill in are shell variables or files). */
  readonly create: string;
  /** The objects that read it, as `Kind/name` (sorted). */
  readonly readBy: string[];
}

/** What a Secret key holds, by the key's name (the bundle's fixed keys and the spec's documented ones). */
const KEY_MEANING: { [key: string]: string } = {
  'token': 'the frpc-frps token (the same value in every namespace)',
  'group-key': 'the load-balancing group key (the same value for every member of the group)',
  'keys': 'the API keys, one per line (checked against the X-API-Key header)',
  'public-key.pem': 'the public key (PEM) that verifies JWT bearer tokens',
  'tls.crt': 'a certificate (PEM)',
  'tls.key': 'its private key (PEM)',
  'ca.crt': 'a CA certificate (PEM)',
};

/** One read of a Secret by an object. */
interface SecretRead {
  readonly namespace: string;
  readonly name: string;
  /** Keys read; undefined: the whole Secret, keys unknown. */
  readonly keys?: string[];
  readonly by: string;
  /** How it is read (a TLS Secret of an Ingress, the CA of an issuer), when that fixes its type. */
  readonly role?: 'ingress-tls' | 'issuer-ca';
}

/**
 * The Secrets a bundle reads but does not create, derived from the rendered
 * objects themselves (so the list cannot drift from what the pods mount):
 * `secretKeyRef` and `envFrom` of containers, Secret volumes and projected
 * Secret sources of pod templates (with the keys the containers read: a
 * volume's `items`, or the files of its mount path that the pod's arguments
 * and the ConfigMaps it mounts name), Ingress TLS Secrets and the CA Secrets
 * of cert-manager CA issuers; minus the Secrets the bundle holds and those
 * cert-manager Certificates in the bundle fill.
 *
 * `cdk8s-frp render` prints them on stderr; an app that synthesizes itself
 * prints `RequiredSecrets.describe(app)`.
 *
 * @example
 * for (const line of RequiredSecrets.describe(app)) console.warn(line);
 * app.synth();
 */
export class RequiredSecrets {
  /**
   * The Secrets the charts of `scope`'s app read but do not create.
   * @param scope an app, chart or construct (its whole app is read)
   */
  public static of(scope: IConstruct): RequiredSecret[] {
    const charts = scope.node.root.node.findAll().filter((c): c is Chart => Chart.isChart(c));
    return RequiredSecrets.fromObjects(charts.flatMap(c => c.toJson()));
  }

  /**
   * The Secrets these Kubernetes objects (as JSON, with namespaces set) read
   * but do not create, sorted by namespace and name.
   * @param objects every object of the bundle
   */
  public static fromObjects(objects: any[]): RequiredSecret[] {
    const created = new Set<string>();
    const reads: SecretRead[] = [];
    const ns = (o: any) => (typeof o?.metadata?.namespace === 'string' ? o.metadata.namespace : 'default');
    for (const o of objects) {
      if (!o || typeof o !== 'object') continue;
      const id = `${o.kind}/${o.metadata?.name}`;
      if (o.kind === 'Secret' && o.apiVersion === 'v1') created.add(`${ns(o)}/${o.metadata?.name}`);
      if (o.kind === 'Certificate' && typeof o.spec?.secretName === 'string') created.add(`${ns(o)}/${o.spec.secretName}`);
      if (o.kind === 'Ingress') {
        for (const t of o.spec?.tls ?? []) if (typeof t?.secretName === 'string') reads.push({ namespace: ns(o), name: t.secretName, keys: ['tls.crt', 'tls.key'], by: id, role: 'ingress-tls' });
      }
      if ((o.kind === 'Issuer' || o.kind === 'ClusterIssuer') && typeof o.spec?.ca?.secretName === 'string') {
        // a ClusterIssuer reads its CA in cert-manager's cluster resource namespace, which the bundle names
        // where it puts the CA's own objects; an Issuer in its own namespace
        const where = o.kind === 'Issuer' ? ns(o) : clusterResourceNamespace(objects, o.spec.ca.secretName);
        reads.push({ namespace: where, name: o.spec.ca.secretName, keys: ['tls.crt', 'tls.key'], by: id, role: 'issuer-ca' });
      }
      const pod = podSpec(o);
      if (pod) reads.push(...podReads(pod, ns(o), id, objects));
    }
    const byKey = new Map<string, SecretRead[]>();
    for (const r of reads) {
      const key = `${r.namespace}/${r.name}`;
      if (created.has(key)) continue;
      if (!byKey.has(key)) byKey.set(key, []);
      byKey.get(key)!.push(r);
    }
    return [...byKey.keys()].sort().map(key => describeSecret(byKey.get(key)!));
  }

  /**
   * One line per Secret `scope`'s app reads but does not create:
   * `<namespace>/<name>: keys ...: what it holds; create it with: <command> (read by ...)`.
   * @param scope an app, chart or construct
   */
  public static describe(scope: IConstruct): string[] {
    return RequiredSecrets.of(scope).map(RequiredSecrets.line);
  }

  /**
   * A Secret as one line, for a person.
   * @param secret a required Secret
   */
  public static line(secret: RequiredSecret): string {
    const keys = secret.keys.length > 0 ? `key${secret.keys.length > 1 ? 's' : ''} ${secret.keys.join(', ')}` : 'any keys';
    return `Secret ${secret.namespace}/${secret.name} must exist (the bundle reads it, ${keys}, and does not create it): `
      + `${secret.description}; create it with: ${secret.create} (read by ${secret.readBy.join(', ')})`;
  }

  private constructor() {}
}

/** The pod spec of a workload (or a pod). */
function podSpec(o: any): any {
  if (o.kind === 'Pod') return o.spec;
  if (o.kind === 'CronJob') return o.spec?.jobTemplate?.spec?.template?.spec;
  return o.spec?.template?.spec;
}

/** Every string of a value (arguments, env values, ConfigMap data). */
function strings(v: unknown, out: string[] = []): string[] {
  if (typeof v === 'string') out.push(v);
  else if (Array.isArray(v)) v.forEach(x => strings(x, out));
  else if (v && typeof v === 'object') Object.values(v).forEach(x => strings(x, out));
  return out;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The Secrets a pod reads: env, envFrom, Secret volumes and projected Secret sources. */
function podReads(pod: any, namespace: string, by: string, objects: any[]): SecretRead[] {
  const out: SecretRead[] = [];
  const containers: any[] = [...pod.initContainers ?? [], ...pod.containers ?? []];
  for (const c of containers) {
    for (const e of c.env ?? []) {
      const ref = e?.valueFrom?.secretKeyRef;
      if (ref && typeof ref.name === 'string') out.push({ namespace, name: ref.name, keys: [String(ref.key)], by });
    }
    for (const e of c.envFrom ?? []) if (typeof e?.secretRef?.name === 'string') out.push({ namespace, name: e.secretRef.name, by });
  }
  // the text a pod's programs read their file paths from: its own strings and the ConfigMaps it mounts
  const volumes: any[] = pod.volumes ?? [];
  const configMaps = new Set(volumes
    .flatMap(v => [v?.configMap?.name, ...(v?.projected?.sources ?? []).map((s: any) => s?.configMap?.name)])
    .filter(Boolean));
  const text = [
    ...strings(containers.map(c => [c.command, c.args, c.env])),
    ...objects.filter(o => o?.kind === 'ConfigMap' && (o.metadata?.namespace ?? 'default') === namespace && configMaps.has(o.metadata?.name)).flatMap(o => strings(o.data)),
  ].join('\n');
  const filesUnder = (volumeName: string) => {
    const files = new Set<string>();
    for (const c of containers) {
      for (const m of c.volumeMounts ?? []) {
        if (m?.name !== volumeName || typeof m.mountPath !== 'string') continue;
        const re = new RegExp(`${escape(m.mountPath.replace(/\/+$/, ''))}/([A-Za-z0-9._-]+)`, 'g');
        for (const x of text.matchAll(re)) files.add(x[1]);
      }
    }
    return [...files];
  };
  for (const v of volumes) {
    if (typeof v?.secret?.secretName === 'string') {
      const items: any[] | undefined = v.secret.items;
      const keys = items ? items.map(i => String(i.key)) : filesUnder(v.name);
      out.push({ namespace, name: v.secret.secretName, keys: keys.length > 0 ? keys : undefined, by });
    }
    for (const s of v?.projected?.sources ?? []) {
      if (typeof s?.secret?.name !== 'string') continue;
      const items: any[] | undefined = s.secret.items;
      const keys = items ? items.map(i => String(i.key)) : filesUnder(v.name);
      out.push({ namespace, name: s.secret.name, keys: keys.length > 0 ? keys : undefined, by });
    }
  }
  return out;
}

/** cert-manager's cluster resource namespace as the bundle uses it: where it keeps a ClusterIssuer's CA. */
function clusterResourceNamespace(objects: any[], secretName: string): string {
  const cert = objects.find(o => o?.kind === 'Certificate' && o.spec?.secretName === secretName);
  return cert?.metadata?.namespace ?? 'cert-manager';
}

/** A required Secret from its reads. */
function describeSecret(reads: SecretRead[]): RequiredSecret {
  const { namespace, name } = reads[0];
  const keys = [...new Set(reads.flatMap(r => r.keys ?? []))].sort();
  const readBy = [...new Set(reads.map(r => r.by))].sort();
  const role = reads.find(r => r.role)?.role;
  const n = `kubectl -n ${namespace} create secret`;
  let description: string;
  let create: string;
  if (role === 'ingress-tls') {
    description = 'the TLS certificate and key the Ingress serves';
    create = `${n} tls ${name} --cert=tls.crt --key=tls.key`;
  } else if (role === 'issuer-ca' || (keys.includes('tls.crt') && keys.includes('tls.key'))) {
    description = role === 'issuer-ca' ? 'the CA key pair cert-manager issues certificates from' : `a certificate and its private key${keys.includes('ca.crt') ? ', and the CA certificate (ca.crt)' : ''}`;
    create = keys.includes('ca.crt')
      ? `${n} generic ${name} --from-file=tls.crt=tls.crt --from-file=tls.key=tls.key --from-file=ca.crt=ca.crt`
      : `${n} tls ${name} --cert=tls.crt --key=tls.key`;
  } else if (keys.length === 1 && (keys[0] === 'token' || keys[0] === 'group-key')) {
    description = KEY_MEANING[keys[0]];
    const variable = keys[0] === 'token' ? 'FRP_TOKEN' : undefined;
    create = `${n} generic ${name} --from-literal=${keys[0]}="${variable ? `$${variable}` : '$(openssl rand -hex 32)'}"${variable ? ` (${variable}=$(openssl rand -hex 32) once, for every namespace)` : ''}`;
  } else if (keys.length === 0) {
    description = 'read whole by the pods (no key is known)';
    create = `${n} generic ${name} --from-file=<key>=<file>`;
  } else {
    description = keys.map(k => `${k}: ${KEY_MEANING[k] ?? 'read by the pods'}`).join('; ');
    create = `${n} generic ${name} ${keys.map(k => `--from-file=${k}=${k}`).join(' ')}`;
  }
  return { namespace, name, keys, description, create, readBy };
}
