import { Chart, ChartProps } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { CertificateAuthority, FrpAuth, FrpClientPool, FrpClientWorkload, HealthCheckType, FrpProxyType, FrpServer, NetworkPeer } from '../lib';

/**
 * A zero-trust tunnel: cert-manager bootstraps a CA in the bundle (self-signed
 * Issuer -> CA Certificate -> CA Issuer), which issues the frps server
 * certificate and the frpc client certificate. frps requires client
 * certificates; frpc verifies frps by its Service name. Token auth stays on,
 * NetworkPolicies fence both sides, and the pods roll when cert-manager renews
 * (Stakater Reloader annotations).
 *
 * Needs cert-manager in the cluster, and the token Secret created out of band:
 *   kubectl -n secure-tunnels create secret generic frp-token --from-literal=token="$(openssl rand -hex 32)"
 */
export class MtlsTunnelChart extends Chart {
  public readonly ca: CertificateAuthority;
  public readonly server: FrpServer;
  public readonly pool: FrpClientPool;

  constructor(scope: Construct, id: string, props: ChartProps = {}) {
    super(scope, id, { namespace: 'secure-tunnels', ...props });

    this.ca = new CertificateAuthority(this, 'ca');
    this.server = new FrpServer(this, 'frps', {
      auth: FrpAuth.token(kplus.Secret.fromSecretName(this, 'Token', 'frp-token')),
      certificateAuthority: this.ca,
      // clients on a GPU box behind NAT reach frps through a LoadBalancer from this range
      clientPeers: [NetworkPeer.cidr('198.51.100.0/24')],
    });
    this.pool = new FrpClientPool(this, 'frpc', {
      server: this.server,
      workload: FrpClientWorkload.deployment({ replicas: 2 }),
      proxies: [{
        name: 'inference',
        type: FrpProxyType.TCP,
        localIP: 'inference.ml.svc',
        localPort: 8000,
        remotePort: 18000,
        group: 'inference',
        healthCheck: { type: HealthCheckType.TCP },
      }],
    });
  }
}
