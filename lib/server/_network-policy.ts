import { Lazy } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { objectMeta, ServerContext } from './_context';
import { NetworkPeer, PolicyPort, policyRule } from '../network/network-peer';

/** Who may reach which port of frps. @internal */
export interface ServerNetworkPolicyOptions {
  /** Peers of the control port (attached pools add theirs later: read at synth). */
  readonly clientPeers: NetworkPeer[];
  /** Peers of the vhost and remote ports. */
  readonly exposurePeers?: NetworkPeer[];
  /** Peers of the metrics port. */
  readonly monitoringPeers?: NetworkPeer[];
  /** The vhost and remote ports attached proxies expose (at synth). */
  readonly exposedPorts: () => PolicyPort[];
}

/**
 * The NetworkPolicy of the frps pods, its ingress rules written at synth
 * from what is attached then: the control port only from clients (closed
 * while there is none), the exposed ports from `exposurePeers` (any address
 * by default), the metrics port from `monitoringPeers`. @internal
 */
export function addServerNetworkPolicy(ctx: ServerContext, o: ServerNetworkPolicyOptions): k8s.KubeNetworkPolicy {
  return new k8s.KubeNetworkPolicy(ctx.scope, 'NetworkPolicy', {
    metadata: objectMeta(ctx, 'NetworkPolicy', ctx.name),
    spec: {
      podSelector: { matchLabels: ctx.podLabels },
      policyTypes: ['Ingress'],
      ingress: Lazy.any({ produce: () => ingressRules(ctx, o) }) as unknown as k8s.NetworkPolicyIngressRule[],
    },
  });
}

function ingressRules(ctx: ServerContext, o: ServerNetworkPolicyOptions): k8s.NetworkPolicyIngressRule[] {
  const rule = (ports: PolicyPort[], peers: NetworkPeer[]): k8s.NetworkPolicyIngressRule => {
    const r = policyRule(ports, peers);
    return { ports: r.ports, from: r.peers };
  };
  const rules = [rule([{ port: ctx.ports.webServer, protocol: 'TCP' }], o.monitoringPeers ?? [NetworkPeer.namespace('monitoring')])];
  // no attached client: no rule, so the control port stays closed
  if (o.clientPeers.length > 0) rules.unshift(rule([{ port: ctx.ports.bind, protocol: 'TCP' }], o.clientPeers));
  const exposed = o.exposedPorts();
  if (exposed.length > 0) rules.push(rule(exposed, o.exposurePeers ?? []));
  return rules;
}
