import { Chart, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { FrpAuth, FrpAuthMethod, FrpClientPool, FrpProxyType, FrpServer } from '../lib';
import { expectValidBundle, parseFrpTomlValues as parse } from './helpers';

const toml = (m: any[], key: string): any => parse(m.find(x => x.kind === 'ConfigMap' && x.data?.[key]).data[key]);
const container = (m: any[], name: string) => m.find(x => x.kind === 'Deployment' && x.metadata.labels['app.kubernetes.io/name'] === name).spec.template.spec.containers[0];
const oidcOptions = (chart: Chart) => ({
  issuer: 'https://idp.example.com/realms/frp',
  audience: 'frps',
  clientId: 'frpc',
  clientSecret: kplus.Secret.fromSecretName(chart, 'oidc', 'frpc-oidc'),
  tokenEndpointUrl: 'https://idp.example.com/realms/frp/protocol/openid-connect/token',
  scope: 'frp',
});

describe('FrpAuth', () => {
  test('OIDC: frps verifies issuer and audience; frpc gets tokens with a client secret read from a Secret', () => {
    const chart = Testing.chart();
    const server = new FrpServer(chart, 'frps', { auth: FrpAuth.oidc(oidcOptions(chart)) });
    new FrpClientPool(chart, 'frpc', { server, proxies: [{ name: 'a', type: FrpProxyType.TCP, localPort: 80, remotePort: 20080 }] });
    const m = Testing.synth(chart);
    expectValidBundle(m);
    expect(toml(m, 'frps.toml').auth).toEqual({ method: 'oidc', oidc: { issuer: 'https://idp.example.com/realms/frp', audience: 'frps' } });
    expect(toml(m, 'frpc.toml').auth).toEqual({
      method: 'oidc',
      oidc: {
        clientID: 'frpc',
        clientSecret: '{{ .Envs.FRP_OIDC_CLIENT_SECRET }}',
        audience: 'frps',
        scope: 'frp',
        tokenEndpointURL: 'https://idp.example.com/realms/frp/protocol/openid-connect/token',
      },
    });
    expect(container(m, 'frps').env.filter((e: any) => e.valueFrom)).toEqual([]); // frps needs no secret for OIDC
    expect(container(m, 'frpc').env).toContainEqual({ name: 'FRP_OIDC_CLIENT_SECRET', valueFrom: { secretKeyRef: { name: 'frpc-oidc', key: 'client-secret' } } });
    // frpc may reach the token endpoint
    const egress = m.find(x => x.kind === 'NetworkPolicy' && x.metadata.labels['app.kubernetes.io/name'] === 'frpc').spec.egress;
    expect(egress.some((r: any) => r.ports.some((p: any) => p.port === 443) && r.to === undefined)).toBe(true);
  });

  test('OIDC: frpc may reach the token endpoint on the port its URL names, not 443 always (issue 9, defect 11)', () => {
    const egressPorts = (url: string) => {
      const chart = Testing.chart();
      const server = new FrpServer(chart, 'frps', { auth: FrpAuth.oidc({ ...oidcOptions(chart), tokenEndpointUrl: url }) });
      new FrpClientPool(chart, 'frpc', { server, proxies: [{ name: 'pg', type: FrpProxyType.TCP, localPort: 5432, remotePort: 15432 }] });
      const m = Testing.synth(chart);
      expectValidBundle(m);
      const egress = m.find(x => x.kind === 'NetworkPolicy' && x.metadata.labels['app.kubernetes.io/name'] === 'frpc').spec.egress;
      // the rule open to any address (the token endpoint's)
      const open = egress.filter((r: any) => r.to === undefined).flatMap((r: any) => r.ports.map((p: any) => p.port));
      return open.filter((p: number) => ![53, 5432].includes(p));
    };
    expect(egressPorts('http://keycloak.auth.svc:8080/realms/frp/protocol/openid-connect/token')).toEqual([8080]);
    expect(egressPorts('https://idp.example.com:8443/token')).toEqual([8443]);
    expect(egressPorts('http://idp.example.com/token')).toEqual([80]);
    expect(egressPorts('https://idp.example.com/token')).toEqual([443]);
  });

  test('token: the key and the scopes are configurable', () => {
    const chart = Testing.chart();
    const auth = FrpAuth.token(kplus.Secret.fromSecretName(chart, 't', 'frp'), { key: 'frp-token', authenticateAllMessages: false });
    expect(auth.method).toBe(FrpAuthMethod.TOKEN);
    new FrpServer(chart, 'frps', { auth });
    const m = Testing.synth(chart);
    // frp reads the mounted key itself (tokenSource, type file) and trims it
    expect(toml(m, 'frps.toml').auth).toEqual({ method: 'token', tokenSource: { type: 'file', file: { path: '/etc/frp/auth/token' } } });
    expect(container(m, 'frps').env.filter((e: any) => e.valueFrom)).toEqual([]);
    expect(container(m, 'frps').volumeMounts).toContainEqual({ name: 'frp-token', mountPath: '/etc/frp/auth', readOnly: true });
    const pod = m.find(x => x.kind === 'Deployment').spec.template.spec;
    expect(pod.volumes).toContainEqual({ name: 'frp-token', secret: { secretName: 'frp', items: [{ key: 'frp-token', path: 'token' }] } });
  });

  describe('fails', () => {
    const chart = () => Testing.chart();
    test.each<[string, () => unknown, string]>([
      ['OIDC without issuer', () => FrpAuth.oidc({ ...oidcOptions(chart()), issuer: undefined as any }), 'FrpAuth.oidc: issuer is required'],
      ['OIDC with a relative token endpoint', () => FrpAuth.oidc({ ...oidcOptions(chart()), tokenEndpointUrl: '/token' }), 'FrpAuth.oidc: tokenEndpointUrl must be an absolute http or https URL, got "/token"'],
      ['OIDC without the client secret', () => FrpAuth.oidc({ ...oidcOptions(chart()), clientSecret: undefined as any }), 'FrpAuth.oidc: clientSecret is required (a Secret holding the OIDC client secret)'],
      ['a token key that is not a Secret key', () => FrpAuth.token(kplus.Secret.fromSecretName(chart(), 'x', 'x'), { key: 'a b' }), 'FrpAuth.token: key must be a valid Secret key ([-._a-zA-Z0-9]+), got "a b"'],
    ])('%s', (_name, build, message) => {
      expect(build).toThrow(message);
    });
  });
});
