// Shared pieces of the balancer constructs (HaproxyBalancer, UdpBalancer). Internal: not
// exported from the package.
import { Lazy, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { k8s } from 'cdk8s-plus-28';
import { IConstruct } from 'constructs';
import { invalid } from '../frp/errors';
import { sha256, storedCpu } from '../k8s/pod-defaults';
import { NetworkPeer, PolicyPort, policyRule } from '../network/network-peer';

/**
 * Context key: a directory put in front of every path the balancer pods see (mount
 * points, the config file, writable directories, and so the files the config reads).
 * Tests set it to a temp directory, so that `haproxy -c` / `nginx -t` can run on the
 * exact config text of the ConfigMap with the referenced files written under it. It
 * only relocates paths; leave it unset everywhere else.
 */
export const FS_ROOT_CONTEXT = 'cdk8s-frp:balancer-fs-root';

/** The path prefix from `FS_ROOT_CONTEXT` ('' when unset). */
export function fsRoot(scope: IConstruct): string {
  const root = scope.node.tryGetContext(FS_ROOT_CONTEXT);
  if (root === undefined || root === '') return '';
  if (typeof root !== 'string' || !/^\/[A-Za-z0-9._/-]*[^/]$/.test(root)) {
    invalid(scope.node.path, `context ${FS_ROOT_CONTEXT}`, `must be an absolute directory path without a trailing "/", got ${JSON.stringify(root)}`);
  }
  return root;
}

/** Requests and limits of the balancer containers: what the user gives wins, field by field. */
export function balancerResources(user?: kplus.ContainerResources): kplus.ContainerResources {
  return {
    cpu: {
      request: storedCpu(user?.cpu?.request) ?? kplus.Cpu.millis(100),
      limit: storedCpu(user?.cpu?.limit) ?? kplus.Cpu.units(1),
    },
    memory: {
      request: user?.memory?.request ?? Size.mebibytes(64),
      limit: user?.memory?.limit ?? Size.mebibytes(256),
    },
    ephemeralStorage: user?.ephemeralStorage,
  };
}

const IANA_SVC_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * A Kubernetes port name (IANA_SVC_NAME: at most 15 lowercase letters, digits and "-",
 * at least one letter, no "--") for a balanced service: its own name when that fits,
 * else its first letters and a short hash of the whole name.
 */
export function portNameFor(service: string): string {
  const fits = (n: string) => n.length <= 15 && IANA_SVC_NAME.test(n) && /[a-z]/.test(n) && !n.includes('--');
  if (fits(service)) return service;
  const head = service.replace(/-+/g, '-').slice(0, 10).replace(/-+$/, '');
  return `${/[a-z]/.test(head) ? head : `p${head.slice(0, 9)}`}-${sha256(service).slice(0, 4)}`;
}

/**
 * Port names of the balanced services, checked against each other and the names the
 * construct reserves for its own ports.
 */
export function servicePortNames(where: string, services: ReadonlyArray<{ readonly name: string }>, reserved: string[]): string[] {
  const seen = new Map<string, string>();
  return services.map((svc, i) => {
    const name = portNameFor(svc.name);
    if (reserved.includes(name)) {
      invalid(where, `config.services[${i}].name`, `${JSON.stringify(svc.name)} would name the Service port ${JSON.stringify(name)}, which is reserved for the balancer's own ${reserved.map(r => JSON.stringify(r)).join(' and ')} ports: choose another service name`);
    }
    const other = seen.get(name);
    if (other !== undefined) {
      invalid(where, `config.services[${i}].name`, `${JSON.stringify(svc.name)} and ${JSON.stringify(other)} both give the Service port name ${JSON.stringify(name)} (names longer than 15 characters are shortened to their first letters and a hash): rename one of them`);
    }
    seen.set(name, svc.name);
    return name;
  });
}

/** Throws unless `port` can be bound by a non-root process. */
export function checkUnprivilegedPort(where: string, field: string, port: number, process: string): void {
  if (port < 1024) {
    invalid(where, field, `must be 1024 or higher: ${process} runs as a non-root user and cannot bind port ${port}`);
  }
}

/** Whether `file` sits directly in `dir` (a Secret or ConfigMap mount is flat). */
export function pathUnder(dir: string, file: string): boolean {
  return file.startsWith(`${dir}/`) && !file.slice(dir.length + 1).includes('/');
}

/** What a balancer NetworkPolicy allows. */
export interface BalancerPolicy {
  readonly name: string;
  readonly labels: { [key: string]: string };
  readonly podLabels: { [key: string]: string };
  /** Ports the frpc clients reach. */
  readonly servicePorts: PolicyPort[];
  /** Peers allowed to reach `servicePorts`, read when the manifest is written. */
  readonly clientPeers: NetworkPeer[];
  readonly metricsPort: number;
  readonly monitoringPeers: NetworkPeer[];
  /** Ports the balancer connects to (backends and DNS servers), to any address. */
  readonly egressPorts: PolicyPort[];
  /** The port replicas share state on (`peers`): open to the balancer's own pods. */
  readonly peerPort?: number;
}

/**
 * The NetworkPolicy of a balancer: service ports only from the client peers (no peer,
 * no rule: closed), the metrics port from the monitoring peers; egress only to DNS and
 * the backend ports. Probes come from the kubelet on the node, which NetworkPolicies
 * always allow. Stick-table peers talk only to the balancer's own pods, both ways.
 */
export function balancerNetworkPolicy(scope: IConstruct, id: string, p: BalancerPolicy): k8s.KubeNetworkPolicy {
  const ingress = (): k8s.NetworkPolicyIngressRule[] => {
    const rules: k8s.NetworkPolicyIngressRule[] = [];
    if (p.clientPeers.length > 0) {
      const r = policyRule(p.servicePorts, p.clientPeers);
      rules.push({ ports: r.ports, from: r.peers });
    }
    const m = policyRule([{ port: p.metricsPort, protocol: 'TCP' }], p.monitoringPeers);
    rules.push({ ports: m.ports, from: m.peers });
    if (p.peerPort !== undefined) {
      const peers = policyRule([{ port: p.peerPort, protocol: 'TCP' }], [NetworkPeer.pods(p.podLabels)]);
      rules.push({ ports: peers.ports, from: peers.peers });
    }
    return rules;
  };
  const egress = uniquePorts(p.egressPorts);
  return new k8s.KubeNetworkPolicy(scope, id, {
    metadata: { name: p.name, labels: p.labels },
    spec: {
      podSelector: { matchLabels: p.podLabels },
      policyTypes: ['Ingress', 'Egress'],
      ingress: Lazy.any({ produce: ingress }) as unknown as k8s.NetworkPolicyIngressRule[],
      egress: [
        { ports: policyRule(egress, []).ports },
        // the stick-table peers: only the balancer's own pods
        ...(p.peerPort === undefined ? [] : [{ ports: policyRule([{ port: p.peerPort, protocol: 'TCP' }], []).ports, to: [NetworkPeer.pods(p.podLabels)._toKube()!] }]),
      ],
    },
  });
}

/** Ports without duplicates, sorted by number then protocol. */
export function uniquePorts(ports: PolicyPort[]): PolicyPort[] {
  const seen = new Map<string, PolicyPort>();
  for (const p of ports) seen.set(`${p.port}/${p.protocol}`, p);
  return [...seen.values()].sort((a, b) => a.port - b.port || a.protocol.localeCompare(b.protocol));
}
