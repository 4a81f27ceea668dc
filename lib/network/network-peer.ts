import { k8s } from 'cdk8s-plus-28';

/** A source or destination allowed by a NetworkPolicy rule. */
export class NetworkPeer {
  /** Every pod in the namespace with this name. */
  public static namespace(name: string): NetworkPeer {
    return new NetworkPeer({ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': name } } });
  }

  /** Every pod in namespaces with these labels. */
  public static namespaceLabels(labels: { [key: string]: string }): NetworkPeer {
    return new NetworkPeer({ namespaceSelector: { matchLabels: { ...labels } } });
  }

  /**
   * Pods with these labels.
   * @param labels pod labels
   * @param namespace their namespace (default: the policy's own)
   */
  public static pods(labels: { [key: string]: string }, namespace?: string): NetworkPeer {
    return new NetworkPeer({
      podSelector: { matchLabels: { ...labels } },
      namespaceSelector: namespace ? { matchLabels: { 'kubernetes.io/metadata.name': namespace } } : undefined,
    });
  }

  /**
   * An IP range (for clients outside the cluster).
   * @param cidr e.g. 203.0.113.0/24
   * @param excluded ranges inside it to leave out
   */
  public static cidr(cidr: string, excluded?: string[]): NetworkPeer {
    if (!/^[0-9a-fA-F:.]+\/[0-9]{1,3}$/.test(cidr ?? '')) throw new Error(`NetworkPeer.cidr: cidr must look like 10.0.0.0/8 or fd00::/8, got ${JSON.stringify(cidr)}`);
    return new NetworkPeer({ ipBlock: { cidr, except: excluded } });
  }

  /** Any address. */
  public static anywhere(): NetworkPeer {
    return new NetworkPeer(undefined);
  }

  private constructor(private readonly peer: k8s.NetworkPolicyPeer | undefined) {}

  /**
   * Whether the peer is an address range (ipBlock): a NetworkPolicy then
   * reads the client address, which a NodePort or LoadBalancer Service keeps
   * only with externalTrafficPolicy Local. @internal
   */
  public _isAddressRange(): boolean {
    return this.peer?.ipBlock !== undefined;
  }

  /** The Kubernetes peer; undefined means any address. @internal */
  public _toKube(): k8s.NetworkPolicyPeer | undefined {
    return this.peer;
  }
}

/** A port, for policy rules. @internal */
export interface PolicyPort {
  readonly port: number;
  readonly protocol: 'TCP' | 'UDP';
}

/**
 * One ingress or egress rule: ports from/to peers. An empty peer list or any
 * `anywhere()` peer means every address. @internal
 */
export function policyRule(ports: PolicyPort[], peers: NetworkPeer[]): { ports: k8s.NetworkPolicyPort[]; peers?: k8s.NetworkPolicyPeer[] } {
  const kubePeers = peers.map(p => p._toKube());
  const open = peers.length === 0 || kubePeers.some(p => p === undefined);
  return {
    ports: ports.map(p => ({ port: k8s.IntOrString.fromNumber(p.port), protocol: p.protocol })),
    peers: open ? undefined : kubePeers as k8s.NetworkPolicyPeer[],
  };
}

/** DNS lookups (any namespace, port 53). @internal */
export const DNS_PORTS: PolicyPort[] = [{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' }];
