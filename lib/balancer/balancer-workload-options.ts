import * as kplus from 'cdk8s-plus-28';
import { NetworkPeer } from '../network/network-peer';

/** What the HAProxy and UDP balancer tiers share: how their Deployment runs. */
export interface BalancerWorkloadOptions {
  /**
   * Base name of the objects: the Deployment and Service are `<name>`, the
   * ConfigMap `<name>-config`. Two balancers in one namespace need different names.
   * @default - "haproxy" for an HaproxyBalancer, "udp-balancer" for a UdpBalancer
   */
  readonly name?: string;
  /**
   * Number of balancer pods. An HaproxyBalancer whose replicas must share a stick
   * table (session affinity on the client address) runs them as a StatefulSet with
   * `peers`; see HaproxyBalancer.
   * @default 2
   */
  readonly replicas?: number;
  /**
   * Resource requests and limits of the balancer container.
   * @default - cpu 100m/1000m, memory 64Mi/256Mi (fields you leave out keep these values)
   */
  readonly resources?: kplus.ContainerResources;
  /**
   * Extra labels on every object.
   * @default - the app.kubernetes.io/* labels only
   */
  readonly labels?: { [key: string]: string };
  /**
   * Render a NetworkPolicy: the service ports only from the peers given to
   * `allowClients()`, the metrics port from `monitoringPeers`; egress only to DNS
   * and the backend ports.
   * @default true
   */
  readonly networkPolicy?: boolean;
  /**
   * Peers that may scrape the metrics port.
   * @default - the namespace "monitoring"
   */
  readonly monitoringPeers?: NetworkPeer[];
}
