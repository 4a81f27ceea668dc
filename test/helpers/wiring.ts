/**
 * Cross-object checks: the references inside a bundle point at objects the
 * bundle has, in the right namespace, on ports that exist. Schema checks
 * cannot see these, and each one would break a tunnel at run time.
 *
 * - a Service selecting pods by the cdk8s-plus selector label
 *   (`cdk8s.io/metadata.addr`) matches a pod template in its namespace;
 * - a pod's configMap volume names a ConfigMap in its namespace (Secrets are
 *   created out of band and are not checked);
 * - an Ingress backend is a Service in the Ingress' namespace with that port;
 * - a Gateway API route's (HTTPRoute, TCPRoute, UDPRoute) backendRef is a
 *   Service in the route's namespace with that port and protocol;
 * - frpc's serverAddr/serverPort name a Service in the bundle with that port,
 *   whose selector matches the frps pods;
 * - frpc's localIP, when it names a Service of the bundle, has the localPort;
 * - cert-manager: a Secret a pod mounts that a Certificate of the bundle fills is
 *   filled in the pod's namespace (a pod mounts Secrets of its own namespace only);
 *   a Certificate's issuerRef names an Issuer of its own namespace or a
 *   ClusterIssuer, when the bundle has an issuer of that name at all; a CA
 *   issuer's Secret is filled by a Certificate in the issuer's namespace (for a
 *   ClusterIssuer: cert-manager's cluster resource namespace, where its CA is).
 */
import { parseFrpTomlValues as parse } from './frp-keys';

const ns = (o: any) => o.metadata?.namespace ?? '';
/** The pods' labels: a StatefulSet's controller adds each pod's name (`<name>-<i>`) as a label. */
const podTemplates = (m: readonly any[]) => m.filter(o => o.spec?.template?.spec).flatMap(o => {
  const labels = o.spec.template.metadata?.labels ?? {};
  if (o.kind !== 'StatefulSet') return [{ o, labels }];
  return Array.from({ length: o.spec.replicas ?? 1 }, (_v, i) => ({ o, labels: { ...labels, 'statefulset.kubernetes.io/pod-name': `${o.metadata.name}-${i}` } }));
});
const selects = (selector: Record<string, string>, labels: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);

/** Finds a Service by a DNS name (`svc`, `svc.ns`, `svc.ns.svc[.cluster.local]`) seen from `fromNs`. */
function serviceByHost(m: readonly any[], host: string, fromNs: string): any {
  const [name, maybeNs] = host.split('.');
  const namespace = maybeNs ?? fromNs;
  return m.find(o => o.kind === 'Service' && o.metadata.name === name && ns(o) === namespace);
}

export function checkWiring(manifests: readonly any[]): string[] {
  const problems: string[] = [];
  const label = (o: any) => `${o.kind}/${ns(o) ? `${ns(o)}/` : ''}${o.metadata?.name}`;
  const pods = podTemplates(manifests);

  // Services that select pods of this bundle (by instance or cdk8s-plus' address label);
  // a selector of the user's own labels may select pods outside the bundle
  const ours = (sel: any) => sel?.['app.kubernetes.io/instance'] !== undefined || sel?.['cdk8s.io/metadata.addr'] !== undefined;
  for (const svc of manifests.filter(o => o.kind === 'Service' && ours(o.spec?.selector))) {
    const hit = pods.filter(p => ns(p.o) === ns(svc) && selects(svc.spec.selector, p.labels));
    if (hit.length === 0) problems.push(`${label(svc)}: selector ${JSON.stringify(svc.spec.selector)} matches no pod template in namespace "${ns(svc)}"`);
  }
  for (const { o } of pods) {
    for (const v of o.spec.template.spec.volumes ?? []) {
      if (v.configMap && !manifests.some(c => c.kind === 'ConfigMap' && c.metadata.name === v.configMap.name && ns(c) === ns(o))) {
        problems.push(`${label(o)}: volume ${v.name} mounts ConfigMap ${v.configMap.name}, which is not in namespace "${ns(o)}"`);
      }
    }
  }
  problems.push(...checkCertManagerWiring(manifests, pods.map(p => p.o), label));
  for (const ing of manifests.filter(o => o.kind === 'Ingress')) {
    for (const rule of ing.spec.rules ?? []) {
      for (const path of rule.http?.paths ?? []) {
        const b = path.backend.service;
        const svc = manifests.find(o => o.kind === 'Service' && o.metadata.name === b.name && ns(o) === ns(ing));
        if (!svc) problems.push(`${label(ing)}: backend Service ${b.name} is not in namespace "${ns(ing)}"`);
        else if (!svc.spec.ports.some((p: any) => p.port === b.port.number || p.name === b.port.name)) problems.push(`${label(ing)}: Service ${b.name} has no port ${JSON.stringify(b.port)}`);
      }
    }
  }
  const routeProtocol: Record<string, string> = { HTTPRoute: 'TCP', TCPRoute: 'TCP', UDPRoute: 'UDP' };
  for (const route of manifests.filter(o => routeProtocol[o.kind] && o.apiVersion?.startsWith('gateway.networking.k8s.io/'))) {
    for (const rule of route.spec.rules ?? []) {
      for (const b of rule.backendRefs ?? []) {
        if ((b.kind ?? 'Service') !== 'Service') continue;
        const svcNs = b.namespace ?? ns(route);
        const svc = manifests.find(o => o.kind === 'Service' && o.metadata.name === b.name && ns(o) === svcNs);
        if (!svc) {problems.push(`${label(route)}: backendRef Service ${b.name} is not in namespace "${svcNs}"`);} else if (!svc.spec.ports.some((p: any) => p.port === b.port && (p.protocol ?? 'TCP') === routeProtocol[route.kind])) {
          problems.push(`${label(route)}: Service ${b.name} has no ${routeProtocol[route.kind]} port ${b.port}`);
        }
      }
    }
  }
  const frpcKeys = (cm: any) => Object.keys(cm.data ?? {}).filter(k => k === 'frpc.toml' || k.endsWith('.frpc.toml'));
  for (const [cm, key] of manifests.filter(o => o.kind === 'ConfigMap').flatMap(o => frpcKeys(o).map(k => [o, k] as const))) {
    const c: any = parse(cm.data[key]);
    const control = serviceByHost(manifests, c.serverAddr, ns(cm));
    if (!control) {
      if (!/\./.test(c.serverAddr) || /\.svc$/.test(c.serverAddr)) problems.push(`${label(cm)}: serverAddr ${c.serverAddr} is no Service of the bundle`);
    } else {
      if (!control.spec.ports.some((p: any) => p.port === c.serverPort)) problems.push(`${label(cm)}: Service ${c.serverAddr} has no port ${c.serverPort}`);
      const frps = pods.filter(p => ns(p.o) === ns(control) && selects(control.spec.selector ?? {}, p.labels));
      const runsFrps = frps.some(p => p.o.spec.template.spec.containers.some((k: any) => String(k.image).includes('frps')));
      if (!runsFrps) problems.push(`${label(cm)}: Service ${c.serverAddr} does not select the frps pods`);
    }
    for (const p of c.proxies ?? []) {
      const target = p.localIP ? serviceByHost(manifests, p.localIP, ns(cm)) : undefined;
      if (target && !target.spec.ports.some((x: any) => x.port === p.localPort)) {
        problems.push(`${label(cm)}: proxy ${p.name} forwards to ${p.localIP}:${p.localPort}, but that Service has no port ${p.localPort}`);
      }
    }
  }
  return problems;
}

const CERT_MANAGER = 'cert-manager.io/';

/** The cert-manager rules of checkWiring (see the file comment). */
function checkCertManagerWiring(manifests: readonly any[], workloads: readonly any[], label: (o: any) => string): string[] {
  const problems: string[] = [];
  const certs = manifests.filter(o => o.kind === 'Certificate' && o.apiVersion?.startsWith(CERT_MANAGER));
  const issuers = manifests.filter(o => (o.kind === 'Issuer' || o.kind === 'ClusterIssuer') && o.apiVersion?.startsWith(CERT_MANAGER));
  for (const w of workloads) {
    const volumes = w.spec.template.spec.volumes ?? [];
    const secrets: string[] = volumes
      .flatMap((v: any) => [v.secret?.secretName, ...(v.projected?.sources ?? []).map((src: any) => src.secret?.name)])
      .filter(Boolean);
    for (const name of secrets) {
      const fillers = certs.filter(c => c.spec?.secretName === name);
      if (fillers.length > 0 && !fillers.some(c => ns(c) === ns(w))) {
        problems.push(`${label(w)}: mounts Secret ${name}, which the bundle's Certificate ${fillers.map(label).join(', ')} fills in another namespace than "${ns(w)}"`);
      }
    }
  }
  for (const c of certs) {
    const ref = c.spec?.issuerRef ?? {};
    const kind = ref.kind ?? 'Issuer';
    if ((ref.group ?? 'cert-manager.io') !== 'cert-manager.io' || !issuers.some(i => i.metadata?.name === ref.name)) continue;
    const ok = issuers.some(i => i.kind === kind && i.metadata?.name === ref.name && (kind === 'ClusterIssuer' || ns(i) === ns(c)));
    if (!ok) problems.push(`${label(c)}: issuerRef ${kind} ${ref.name} is not ${kind === 'Issuer' ? `an Issuer in namespace "${ns(c)}"` : 'a ClusterIssuer'} of the bundle`);
  }
  for (const i of issuers.filter(x => x.spec?.ca?.secretName)) {
    const name = i.spec.ca.secretName;
    const fillers = certs.filter(c => c.spec?.secretName === name);
    if (fillers.length === 0) continue; // a CA Secret the user provides
    const where = i.kind === 'Issuer' ? [ns(i)] : fillers.map(ns);
    if (i.kind === 'Issuer' && !fillers.some(c => ns(c) === ns(i))) {
      problems.push(`${label(i)}: its CA Secret ${name} is filled by ${fillers.map(label).join(', ')}, not in namespace "${ns(i)}"`);
    } else if (i.kind === 'ClusterIssuer' && new Set(where).size !== 1) {
      problems.push(`${label(i)}: its CA Secret ${name} is filled in several namespaces (${[...new Set(where)].join(', ')})`);
    }
  }
  return problems;
}
