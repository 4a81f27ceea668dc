import { ApiObject, Chart, ChartProps, JsonPatch, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { FrpAuth, FrpClientPool, FrpClientWorkload, FrpProxyType, FrpServer, HealthCheckType } from '../lib';

/**
 * A TCP tunnel: one frps, and three frpc pods that join one load-balancing
 * group in front of an echo backend. Traffic to port 15678 of the frps remote
 * Service is spread over the three members, which forward to the backend.
 *
 * Before applying, create the token Secret out of band (never in Git):
 *   kubectl -n tunnels create secret generic frp-token --from-literal=token="$(openssl rand -hex 32)"
 */
export class TcpTunnelChart extends Chart {
  public readonly server: FrpServer;
  public readonly pool: FrpClientPool;
  public readonly backend: kplus.Deployment;

  constructor(scope: Construct, id: string, props: ChartProps = {}) {
    super(scope, id, { namespace: 'tunnels', ...props });

    const token = kplus.Secret.fromSecretName(this, 'Token', 'frp-token');
    this.server = new FrpServer(this, 'frps', { auth: FrpAuth.token(token) });

    // The backend the tunnel leads to (any TCP service works).
    this.backend = new kplus.Deployment(this, 'echo', {
      replicas: 2,
      securityContext: { ensureNonRoot: true, user: 65532, group: 65532 },
      containers: [{
        name: 'echo',
        image: 'hashicorp/http-echo:1.0.0',
        args: ['-listen=:5678', '-text=hello through frp'],
        portNumber: 5678,
        securityContext: {
          ensureNonRoot: true,
          user: 65532,
          group: 65532,
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
          capabilities: { drop: [kplus.Capability.ALL] },
          seccompProfile: { type: kplus.SeccompProfileType.RUNTIME_DEFAULT },
        },
        resources: {
          cpu: { request: kplus.Cpu.millis(10), limit: kplus.Cpu.millis(100) },
          memory: { request: Size.mebibytes(16), limit: Size.mebibytes(64) },
        },
        readiness: kplus.Probe.fromTcpSocket({ port: 5678 }),
        liveness: kplus.Probe.fromTcpSocket({ port: 5678 }),
      }],
    });
    const backendService = this.backend.exposeViaService({ ports: [{ port: 5678 }] });
    // cdk8s-plus renders minReadySeconds 0, hostNetwork false and externalIPs [], which the
    // API server does not store; dropped, the objects read back as rendered (Argo CD stays Synced)
    ApiObject.of(this.backend).addJsonPatch(JsonPatch.remove('/spec/minReadySeconds'), JsonPatch.remove('/spec/template/spec/hostNetwork'));
    ApiObject.of(backendService).addJsonPatch(JsonPatch.remove('/spec/externalIPs'));

    this.pool = new FrpClientPool(this, 'frpc', {
      server: this.server,
      workload: FrpClientWorkload.deployment({ replicas: 3 }),
      proxies: [{
        name: 'echo',
        type: FrpProxyType.TCP,
        localIP: `${backendService.name}.tunnels.svc`,
        localPort: 5678,
        remotePort: 15678,
        group: 'echo',
        healthCheck: { type: HealthCheckType.TCP, intervalSeconds: 10 },
      }],
    });
  }
}
