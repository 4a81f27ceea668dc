import * as net from 'net';
import { Chart } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { invalid } from '../frp/errors';
import { derivedName, serviceHost } from '../k8s/names';
import { NetworkPeer } from '../network/network-peer';
import { isExternal, setExternalTrafficPolicy } from '../network/traffic-policy';
import { ExternalTrafficPolicy } from '../spec';
import { objectMeta, podService, replicaLabels, replicaName, replicaSelector, ServerContext } from './_context';
import { VhostListener } from './_ports';
import type { FrpServerExternalAccess } from './frp-server';

/**
 * The Services of an frps: the control Service (and one per HA replica), the
 * external control Service, and the vhost and remote-ports Services that
 * attached proxies open. @internal
 */

const REMOTE_POLICY_FIELD = 'remotePortsExternalTrafficPolicy';
const EXTERNAL_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** The control Services and the addresses frpc dials. @internal */
export interface ControlServices {
  /** Control Service: the bind port and the web server (metrics) port. */
  readonly service: kplus.Service;
  /** DNS name of `service`. */
  readonly host: string;
  /** One control Service per replica (`replicas` > 1); `[service]` otherwise. */
  readonly replicaServices: kplus.Service[];
  /** DNS names of `replicaServices`. */
  readonly replicaHosts: string[];
}

/**
 * The control Service over every frps pod and, with replicas, one per replica
 * (a stable address each frpc dials; it publishes a replica that is not ready
 * yet, since it waits for its members to log in). @internal
 */
export function addControlServices(ctx: ServerContext): ControlServices {
  const { bind, webServer } = ctx.ports;
  const service = podService(ctx, 'Service', {
    metadata: objectMeta(ctx, 'Service', ctx.name),
    ports: [
      { name: 'control', port: bind, targetPort: bind },
      { name: 'metrics', port: webServer, targetPort: webServer },
    ],
  });
  const replicaServices = ctx.replicas === 1 ? [service] : Array.from({ length: ctx.replicas }, (_x, i) => podService(ctx, `ReplicaService${i}`, {
    metadata: objectMeta(ctx, 'Service', replicaName(ctx, i), replicaLabels(ctx, i)),
    // members log in while the replica is not ready yet (it waits for them)
    publishNotReadyAddresses: true,
    ports: [{ name: 'control', port: bind, targetPort: bind }],
  }, replicaSelector(ctx, i)));
  const ns = Chart.of(ctx.scope).namespace;
  return {
    service,
    host: serviceHost(service.name, ns),
    replicaServices,
    replicaHosts: replicaServices.map(svc => serviceHost(svc.name, ns)),
  };
}

/** frps reachable from outside: the external access options and what decides its traffic policy. @internal */
export interface ExternalServiceOptions extends FrpServerExternalAccess {
  /** Whether the NetworkPolicy is rendered. */
  readonly networkPolicy: boolean;
  /** Peers the NetworkPolicy admits to the control port. */
  readonly clientPeers: NetworkPeer[];
}

/** Checks the external access options and adds the LoadBalancer/NodePort control Service. @internal */
export function addExternalService(ctx: ServerContext, ext: ExternalServiceOptions): kplus.Service {
  const where = ctx.scope.node.path;
  const type = ext.serviceType ?? kplus.ServiceType.LOAD_BALANCER;
  if (type !== kplus.ServiceType.LOAD_BALANCER && type !== kplus.ServiceType.NODE_PORT) {
    invalid(where, 'externalAccess.serviceType', `must be LoadBalancer or NodePort (ClusterIP is the in-cluster control Service), got ${JSON.stringify(type)}`);
  }
  if (!Array.isArray(ext.addresses) || ext.addresses.length === 0) {
    invalid(where, 'externalAccess.addresses', 'must list the DNS names or IP addresses external frpc dial (they go into the server certificate)');
  }
  ext.addresses.forEach((a, i) => {
    if (typeof a !== 'string' || !(EXTERNAL_NAME.test(a) || net.isIP(a) !== 0)) invalid(where, `externalAccess.addresses[${i}]`, `must be a DNS name or an IP address, got ${JSON.stringify(a)}`);
  });
  if (ext.nodePort !== undefined && !(Number.isInteger(ext.nodePort) && ext.nodePort >= 1 && ext.nodePort <= 65535)) {
    invalid(where, 'externalAccess.nodePort', `must be a port number (usually 30000-32767), got ${JSON.stringify(ext.nodePort)}`);
  }
  if (ext.networkPolicy && ext.clientPeers.length === 0) {
    invalid(where, 'clientPeers', 'externalAccess opens the control port to outside machines, but the NetworkPolicy admits none: give their addresses as clientPeers (NetworkPeer.cidr), or turn networkPolicy off');
  }
  const service = podService(ctx, 'ExternalService', {
    metadata: objectMeta(ctx, 'Service', derivedName(ctx.name, '-external')),
    type,
    ports: [{ name: 'control', port: ctx.ports.bind, targetPort: ctx.ports.bind, nodePort: ext.nodePort }],
  });
  setTrafficPolicy(where, 'externalAccess.externalTrafficPolicy', service, ext.externalTrafficPolicy,
    ext.networkPolicy && ext.clientPeers.some(p => p._isAddressRange()));
  return service;
}

/**
 * `externalTrafficPolicy` Local (only Local keeps the client address) on a
 * Service that takes outside traffic, unless the user chose one (`chosen`).
 * @internal
 */
export function keepClientAddress(where: string, field: string, service: kplus.Service, chosen: ExternalTrafficPolicy | undefined): void {
  if (chosen === undefined && isExternal(service.type)) setExternalTrafficPolicy(where, field, service, ExternalTrafficPolicy.LOCAL);
}

/**
 * `externalTrafficPolicy` of a new Service: the one the user chose
 * (`chosen`), else Local when the client address must be kept, else
 * Kubernetes' default. @internal
 */
export function setTrafficPolicy(
  where: string, field: string, service: kplus.Service, chosen: ExternalTrafficPolicy | undefined, keep: boolean,
): void {
  if (chosen !== undefined) setExternalTrafficPolicy(where, field, service, chosen);
  else if (keep) keepClientAddress(where, field, service, chosen);
}

/** How the remote-ports Service is made. @internal */
export interface ProxyServicesOptions {
  /** Type of the remote-ports Service. */
  readonly remotePortsServiceType: kplus.ServiceType;
  /** The user's externalTrafficPolicy of the remote-ports Service. */
  readonly remotePortsExternalTrafficPolicy?: ExternalTrafficPolicy;
  /** Whether the NetworkPolicy admits exposure by address range (asked when the Service is made). */
  readonly admitsExposureByAddress: () => boolean;
}

/**
 * The vhost and remote-ports Services, made when the first proxy that needs
 * one attaches. @internal
 */
export class ProxyServices {
  private _vhost?: kplus.Service;
  private _remote?: kplus.Service;

  constructor(private readonly ctx: ServerContext, private readonly options: ProxyServicesOptions) {}

  /** The Service for vhost ports, once an http/https/tcpmux proxy attached. */
  public get vhost(): kplus.Service | undefined { return this._vhost; }

  /** The Service for remote tcp/udp ports, once such a proxy attached. */
  public get remote(): kplus.Service | undefined { return this._remote; }

  /** Exposes a vhost listener on the vhost Service. */
  public exposeListener(listener: VhostListener): void {
    this._vhost ??= podService(this.ctx, 'VhostService', {
      metadata: objectMeta(this.ctx, 'Service', derivedName(this.ctx.name, '-vhost')),
      ports: [],
    });
    this._vhost.bind(listener.servicePort, { name: listener.name, targetPort: listener.containerPort });
  }

  /**
   * Exposes a remote port on the remote-ports Service.
   * @param readsClientAddress the backend reads the client address (from a PROXY protocol header)
   */
  public exposeRemotePort(port: number, protocol: kplus.Protocol, readsClientAddress: boolean): void {
    const svc = this.remoteServiceOrCreate();
    svc.bind(port, { name: `${protocol.toLowerCase()}-${port}`, targetPort: port, protocol });
    if (readsClientAddress) keepClientAddress(this.ctx.scope.node.path, REMOTE_POLICY_FIELD, svc, this.options.remotePortsExternalTrafficPolicy);
  }

  private remoteServiceOrCreate(): kplus.Service {
    if (!this._remote) {
      this._remote = podService(this.ctx, 'RemoteService', {
        metadata: objectMeta(this.ctx, 'Service', derivedName(this.ctx.name, '-remote')),
        type: this.options.remotePortsServiceType,
        ports: [],
      });
      const { remotePortsExternalTrafficPolicy: chosen, admitsExposureByAddress } = this.options;
      setTrafficPolicy(this.ctx.scope.node.path, REMOTE_POLICY_FIELD, this._remote, chosen, admitsExposureByAddress());
    }
    return this._remote;
  }
}
