import { parse } from 'smol-toml';
import { renderGoTemplate } from './go-template';
import {
  Bandwidth, BandwidthMode, FrpAuthMethod, FrpcConfig, FrpConfigRenderer, HealthCheckType, FrpProxy,
  FrpProxyType, FrpsConfig, ProxyProtocolVersion,
} from '../../lib';
import { SECRET_STRING_PREAMBLE } from '../../lib/frp/template';

const token = { method: FrpAuthMethod.TOKEN, tokenEnv: 'FRP_AUTH_TOKEN' };
const client = (proxies: FrpProxy[], extra: Partial<FrpcConfig> = {}): FrpcConfig => ({ serverAddr: 'frps.tunnels.svc', auth: token, proxies, ...extra });
const tcp = (name: string, extra: Partial<FrpProxy> = {}): FrpProxy => ({
  name, type: FrpProxyType.TCP, localPort: 5432, remotePort: 15432, ...extra,
});
const http = (name: string, extra: Partial<FrpProxy> = {}): FrpProxy => ({ name, type: FrpProxyType.HTTP, localPort: 8080, customDomains: ['app.example.com'], ...extra });
const renderClient = (c: FrpcConfig) => FrpConfigRenderer.renderClient(c, 'test/frpc');
const renderServer = (c: FrpsConfig) => FrpConfigRenderer.renderServer(c, 'test/frps');
const parsed = (text: string): any => parse(renderGoTemplate(text, { FRP_AUTH_TOKEN: 't0ken', POD_NAME: 'frpc-abc', FRP_GROUP_KEY: 'k' }));

describe('frpc.toml', () => {
  test('renders the keys frp expects, with secrets only as env templates', () => {
    // GIVEN
    const config = client([tcp('pg', { group: 'pg', groupKeyEnv: 'FRP_GROUP_KEY', healthCheck: { type: HealthCheckType.TCP, intervalSeconds: 5, maxFailed: 2 } })], { userEnv: 'POD_NAME' });
    // WHEN
    const text = renderClient(config);
    // THEN
    expect(text).toMatchSnapshot();
    // a literal secret is written byte for byte by the template defined on the first line;
    // the group key becomes the hex of its bytes
    expect(text.split('\n')[0]).toBe(SECRET_STRING_PREAMBLE);
    expect(text).toContain('token = "{{ template `cdk8s-frp.string` .Envs.FRP_AUTH_TOKEN }}"');
    expect(text).toContain('groupKey = "{{ printf `%x` .Envs.FRP_GROUP_KEY }}"');
    expect(text).not.toMatch(/^\[common\]/m);
    const c = parsed(text);
    expect(c.serverAddr).toBe('frps.tunnels.svc');
    expect(c.serverPort).toBe(7000);
    expect(c.loginFailExit).toBe(false);
    expect(c.user).toBe('frpc-abc');
    expect(c.auth).toEqual({ method: 'token', token: 't0ken' });
    expect(c.proxies).toEqual([{
      name: 'pg',
      type: 'tcp',
      localPort: 5432,
      remotePort: 15432,
      loadBalancer: { group: 'pg', groupKey: '6b' }, // hex of "k"
      healthCheck: { type: 'tcp', intervalSeconds: 5, maxFailed: 2 },
    }]);
  });

  test('http proxies carry domain, location, headers and health check path', () => {
    const text = renderClient(client([http('web', {
      group: 'web',
      locations: ['/v1'],
      requestHeaders: { 'x-b': '2', 'x-a': '1' },
      healthCheck: { type: HealthCheckType.HTTP, path: '/health', httpHeaders: { Host: 'app.example.com' } },
      bandwidthLimit: Bandwidth.parse('1GB'),
      bandwidthLimitMode: BandwidthMode.SERVER,
      proxyProtocolVersion: ProxyProtocolVersion.V2,
      useCompression: true,
    })]));
    const p = parsed(text).proxies[0];
    expect(p.customDomains).toEqual(['app.example.com']);
    expect(p.locations).toEqual(['/v1']);
    expect(Object.keys(p.requestHeaders.set)).toEqual(['x-a', 'x-b']);
    expect(p.healthCheck).toEqual({ type: 'http', path: '/health', httpHeaders: [{ name: 'Host', value: 'app.example.com' }] });
    expect(p.transport).toEqual({ useCompression: true, bandwidthLimit: '1024MB', bandwidthLimitMode: 'server', proxyProtocolVersion: 'v2' });
  });

  test('tcpmux proxies get the only multiplexer frp knows', () => {
    const text = renderClient(client([{ name: 'mux', type: FrpProxyType.TCPMUX, localPort: 22, customDomains: ['ssh.example.com'] }]));
    expect(parsed(text).proxies[0].multiplexer).toBe('httpconnect');
  });

  test('literal {{ survives frp template rendering unchanged', () => {
    const literal = 'a{{b}}c {{ .Envs.NOT_MINE }}';
    const text = renderClient(client([http('web', { requestHeaders: { 'x-literal': literal } })]));
    expect(text).not.toContain('{{ .Envs.NOT_MINE }}');
    expect(parsed(text).proxies[0].requestHeaders.set['x-literal']).toBe(literal);
  });

  test('oidc auth reads the client secret from the environment', () => {
    const c = parsed(renderClient(client([], {
      auth: { method: FrpAuthMethod.OIDC, oidcClientId: 'frpc', oidcClientSecretEnv: 'FRP_AUTH_TOKEN', oidcTokenEndpointUrl: 'https://idp.example.com/token', oidcAudience: 'frps' },
    })));
    expect(c.auth).toEqual({ method: 'oidc', oidc: { clientID: 'frpc', clientSecret: 't0ken', audience: 'frps', tokenEndpointURL: 'https://idp.example.com/token' } });
  });

  test('mTLS settings', () => {
    const c = parsed(renderClient(client([], { transport: { poolCount: 10, tls: { certFile: '/t/tls.crt', keyFile: '/t/tls.key', trustedCaFile: '/t/ca.crt', serverName: 'frps.tunnels.svc' } } })));
    expect(c.transport).toEqual({ poolCount: 10, tls: { enable: true, certFile: '/t/tls.crt', keyFile: '/t/tls.key', trustedCaFile: '/t/ca.crt', serverName: 'frps.tunnels.svc' } });
  });

  test('same input gives byte-identical output', () => {
    const config = client([http('web', { requestHeaders: { z: '1', a: '2' }, metadatas: { y: '1', b: '2' } })]);
    expect(renderClient(config)).toBe(renderClient(JSON.parse(JSON.stringify(config))));
  });

  test.each<[string, FrpcConfig, string]>([
    ['port 0', client([tcp('a', { localPort: 0 })]), 'test/frpc: proxies[0].localPort: must be an integer from 1 to 65535, got 0'],
    ['port 70000', client([tcp('a', { remotePort: 70000 })]), 'test/frpc: proxies[0].remotePort: must be an integer from 1 to 65535, got 70000'],
    ['duplicate names', client([tcp('a'), tcp('a', { remotePort: 2000 })]), 'test/frpc: proxies[1].name: duplicate proxy name "a" (also proxies[0])'],
    ['a group on udp', client([{ name: 'dns', type: FrpProxyType.UDP, localPort: 53, remotePort: 5353, group: 'dns' }]),
      'test/frpc: proxies[0].group: frp ignores load-balancing groups on udp proxies; groups work only on tcp, http, https, tcpmux'],
    ['two domains on a grouped http proxy', client([http('w', { group: 'w', customDomains: ['a.example.com', 'b.example.com'] })]),
      'test/frpc: proxies[0].customDomains: a http proxy in a group must resolve to exactly one domain (customDomains plus subdomain), got 2'],
    ['two locations on a grouped http proxy', client([http('w', { group: 'w', locations: ['/a', '/b'] })]),
      'test/frpc: proxies[0].locations: an http proxy in a group may have at most one location, got 2'],
    ['http without a domain', client([http('w', { customDomains: [] })]), 'test/frpc: proxies[0].customDomains: a http proxy needs customDomains or subdomain'],
    ['tcp without a remote port', client([tcp('a', { remotePort: undefined })]),
      'test/frpc: proxies[0].remotePort: is required for tcp proxies (frp would pick a random port the Service cannot expose)'],
    ['locations on tcp', client([tcp('a', { locations: ['/x'] })]), 'test/frpc: proxies[0].locations: is only valid on http proxies, not tcp'],
    ['http health check without path', client([tcp('a', { healthCheck: { type: HealthCheckType.HTTP } })]),
      'test/frpc: proxies[0].healthCheck.path: http health checks need a path starting with "/", got undefined'],
    ['a subdomain with a dot', client([http('w', { customDomains: undefined, subdomain: 'a.b' })]),
      'test/frpc: proxies[0].subdomain: must be one DNS label (no dots or wildcards), got "a.b"'],
    ['no auth', { serverAddr: 'x', proxies: [] } as any, 'test/frpc: auth: is required: frp without client authentication accepts anyone (set a token or OIDC)'],
    ['token auth without a token', client([], { auth: { method: FrpAuthMethod.TOKEN } }),
      'test/frpc: auth.tokenEnv: token auth needs tokenEnv or tokenFile (an empty token means no authentication)'],
    ['token and token file', client([], { auth: { method: FrpAuthMethod.TOKEN, tokenEnv: 'A', tokenFile: '/f' } }),
      'test/frpc: auth.tokenFile: auth.tokenEnv and auth.tokenFile are mutually exclusive'],
    ['an env name that is not an identifier', client([], { auth: { method: FrpAuthMethod.TOKEN, tokenEnv: 'A-B' } }),
      'test/frpc: auth.tokenEnv: must be an environment variable name matching /^[A-Za-z_][A-Za-z0-9_]*$/, got "A-B"'],
    ['oidc without a token endpoint', client([], { auth: { method: FrpAuthMethod.OIDC, oidcClientId: 'c' } }),
      'test/frpc: auth.oidcTokenEndpointUrl: must be an absolute http or https URL, got undefined'],
    ['server address 0.0.0.0', client([], { serverAddr: '0.0.0.0' }), 'test/frpc: serverAddr: must name the frps host (frp defaults it to 0.0.0.0)'],
    ['an unknown proxy type', client([{ ...tcp('a'), type: 'stcp' as any }]), 'test/frpc: proxies[0].type: must be one of "tcp", "udp", "http", "https", "tcpmux", got "stcp"'],
  ])('fails on %s', (_name, config, message) => {
    expect(() => renderClient(config)).toThrow(message);
  });
});

describe('frps.toml', () => {
  const server = (extra: Partial<FrpsConfig> = {}): FrpsConfig => ({ auth: { ...token, additionalScopes: [] }, ...extra });

  test('renders ports, auth, TLS, metrics and allowPorts', () => {
    const text = renderServer(server({
      vhostHttpPort: 8080,
      subDomainHost: 'tunnels.example.com',
      maxPoolCount: 20,
      tls: { certFile: '/t/tls.crt', keyFile: '/t/tls.key', trustedCaFile: '/t/ca.crt' },
      webServer: { port: 7500 },
      enablePrometheus: true,
      allowPorts: [{ start: 15432 }, { start: 20000, end: 20010 }],
    }));
    expect(text).toMatchSnapshot();
    const c = parsed(text);
    expect(c.bindAddr).toBe('0.0.0.0');
    expect(c.bindPort).toBe(7000);
    expect(c.vhostHTTPPort).toBe(8080);
    expect(c.auth).toEqual({ method: 'token', token: 't0ken' });
    expect(c.transport).toEqual({ maxPoolCount: 20, tls: { force: true, certFile: '/t/tls.crt', keyFile: '/t/tls.key', trustedCaFile: '/t/ca.crt' } });
    expect(c.webServer).toEqual({ addr: '0.0.0.0', port: 7500 });
    expect(c.enablePrometheus).toBe(true);
    expect(c.allowPorts).toEqual([{ single: 15432 }, { start: 20000, end: 20010 }]);
  });

  test.each<[string, FrpsConfig, string]>([
    ['no auth', {} as any, 'test/frps: auth: is required: frp without client authentication accepts anyone (set a token or OIDC)'],
    ['port 0', server({ bindPort: 0 }), 'test/frps: bindPort: must be an integer from 1 to 65535, got 0'],
    ['two listeners on one port', server({ vhostHttpPort: 7000 }), 'test/frps: vhostHttpPort: port 7000 is already used by bindPort'],
    ['metrics without a web server', server({ enablePrometheus: true }), 'test/frps: enablePrometheus: needs webServer (metrics are served on it at /metrics)'],
    ['allowPorts covering its own port', server({ allowPorts: [{ start: 6000, end: 8000 }] }), 'test/frps: allowPorts[0]: includes port 7000, which frps itself uses for bindPort'],
    ['oidc without issuer', server({ auth: { method: FrpAuthMethod.OIDC } }), 'test/frps: auth.oidcIssuer: OIDC auth needs the issuer URL (http or https), got undefined'],
    ['mTLS without force', server({ tls: { certFile: 'a', keyFile: 'b', trustedCaFile: 'c', force: false } }), 'test/frps: tls.force: cannot be false when trustedCaFile is set (mTLS forces TLS)'],
  ])('fails on %s', (_name, config, message) => {
    expect(() => renderServer(config)).toThrow(message);
  });
});

describe('Bandwidth', () => {
  test('converts the spec units to the units frp accepts', () => {
    expect(Bandwidth.parse('2GB').toString()).toBe('2048MB');
    expect(Bandwidth.parse('10MB').toString()).toBe('10MB');
    expect(Bandwidth.parse('512KB').toString()).toBe('512KB');
  });
  test('fails on units frp does not know', () => {
    expect(() => Bandwidth.parse('10mb', 'advanced.bandwidth.limit')).toThrow('advanced.bandwidth.limit: must match ^[0-9]+(MB|KB|GB)$ (for example "10MB"), got "10mb"');
  });
});

describe('rendered configs pass the strict frp key check', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { checkFrpToml } = require('../helpers');
  test('a client with every proxy type and a literal {{ in a header', () => {
    const text = renderClient(client([
      tcp('pg', { group: 'pg', groupKeyEnv: 'FRP_GROUP_KEY', healthCheck: { type: HealthCheckType.TCP } }),
      http('web', { group: 'web', locations: ['/v1'], requestHeaders: { 'x-literal': 'a{{b' }, bandwidthLimit: Bandwidth.parse('1GB') }),
      { name: 'tls', type: FrpProxyType.HTTPS, localPort: 443, customDomains: ['s.example.com'], group: 'tls' },
      { name: 'mux', type: FrpProxyType.TCPMUX, localPort: 22, customDomains: ['ssh.example.com'] },
      { name: 'dns', type: FrpProxyType.UDP, localPort: 53, remotePort: 5353 },
    ], { userEnv: 'POD_NAME', webServer: { addr: '127.0.0.1', port: 7400 }, transport: { poolCount: 5, tls: { trustedCaFile: '/t/ca.crt' } } }));
    expect(checkFrpToml(text, 'client')).toEqual([]);
  });
  test('a server with everything set', () => {
    const text = renderServer({
      auth: { method: FrpAuthMethod.TOKEN, tokenFile: '/etc/frp/token/token' },
      vhostHttpPort: 8080,
      vhostHttpsPort: 8443,
      tcpmuxHttpConnectPort: 5002,
      subDomainHost: 'example.com',
      maxPoolCount: 10,
      tls: { certFile: 'a', keyFile: 'b', trustedCaFile: 'c' },
      webServer: { port: 7500, userEnv: 'U', passwordEnv: 'P' },
      enablePrometheus: true,
      allowPorts: [{ start: 20000, end: 20100 }],
    });
    expect(checkFrpToml(text, 'server')).toEqual([]);
  });
  test('the checker does catch a bad config (it can fail)', () => {
    expect(checkFrpToml('[common]\nbindPort = 7000\n', 'server')).not.toEqual([]);
  });
});
