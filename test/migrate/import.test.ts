import { mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import * as fc from 'fast-check';
import { parse as parseToml } from 'smol-toml';
import { parseAllDocuments } from 'yaml';
import { main } from '../../lib/cli/render';
import { frpVerify, parseFrpTomlValues, withoutRequiredSecrets } from '../helpers';

const FIXTURES = join(__dirname, '..', 'fixtures', 'frp');
const SUBDOMAIN_HOST = 'apps.example.com';
const dir = mkdtempSync(join(tmpdir(), 'cdk8s-frp-import-'));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const run = (...argv: string[]) => {
  let out = '';
  let err = '';
  const code = main(argv, s => { out += s; }, s => { err += s; });
  return { code, out, err };
};

/** What a route carries besides its backends. */
interface RouteInfo {
  backends: string[];
  healthCheck?: string;
  bandwidth?: string;
}

/**
 * Routes frps would serve for a set of frpc proxies (the oracle of the round
 * trip): `tcp :6001`, `http host/location`, each with its backends
 * (`ip:port`, one per group member) and its health check and bandwidth.
 */
function routesOf(proxies: any[]): Map<string, RouteInfo> {
  const routes = new Map<string, RouteInfo>();
  for (const p of proxies) {
    const keys: string[] = [];
    if (p.type === 'tcp' || p.type === 'udp') {keys.push(`${p.type} :${p.remotePort}`);} else {
      const hosts = [...p.customDomains ?? [], ...(p.subdomain ? [`${p.subdomain}.${SUBDOMAIN_HOST}`] : [])];
      const locations = (p.locations ?? ['/']).map((l: string) => l || '/');
      for (const h of hosts) for (const l of locations) keys.push(`http ${h}${l}`);
    }
    const hc = p.healthCheck?.type ? `${p.healthCheck.type} ${p.healthCheck.path ?? ''} every ${p.healthCheck.intervalSeconds ?? 10}s, ${p.healthCheck.timeoutSeconds ?? 3}s, maxFailed ${p.healthCheck.maxFailed ?? 1}` : undefined;
    const bw = p.transport?.bandwidthLimit ? `${p.transport.bandwidthLimit} ${p.transport.bandwidthLimitMode ?? 'client'}` : undefined;
    for (const k of keys) {
      const r = routes.get(k) ?? { backends: [], healthCheck: hc, bandwidth: bw };
      r.backends.push(`${p.localIP ?? '127.0.0.1'}:${p.localPort}`);
      r.backends.sort();
      routes.set(k, r);
    }
  }
  return routes;
}

/** The frpc configs of a rendered bundle, parsed (each also passes frp's verify). */
function renderedFrpcProxies(bundleYaml: string): any[] {
  const docs = parseAllDocuments(bundleYaml).map(d => d.toJS());
  const proxies: any[] = [];
  for (const cm of docs.filter(d => d?.kind === 'ConfigMap' && d.data?.['frpc.toml'])) {
    const text = cm.data['frpc.toml'];
    const v = frpVerify('frpc', text);
    expect({ config: cm.metadata.name, ...v }).toEqual({ config: cm.metadata.name, ok: true, output: expect.stringContaining('syntax is ok') });
    proxies.push(...(parseFrpTomlValues(text).proxies as any[]));
  }
  return proxies;
}

let imports = 0;

/** Imports `path`, renders the result, and returns both sides' routes plus the reports. */
function roundTrip(...paths: string[]) {
  const imported = run('import', ...paths);
  expect(imported.code).toBe(0);
  const manifests = file(`imported-${++imports}.yaml`, imported.out);
  const rendered = run('render', '--subdomain-host', SUBDOMAIN_HOST, manifests);
  expect(withoutRequiredSecrets(rendered.err)).toBe('');
  expect(rendered.code).toBe(0);
  const manifestDocs = parseAllDocuments(imported.out).map(d => d.toJS());
  return { reports: imported.err, manifests: manifestDocs, routes: routesOf(renderedFrpcProxies(rendered.out)) };
}

describe('cdk8s-frp import: round trip through render, frp verify on both sides', () => {
  test('frp\'s full TOML example: every mappable route keeps its backends, health check and bandwidth; every other proxy is reported', () => {
    const path = join(FIXTURES, 'frpc_full_example.toml');
    const text = readFileSync(path, 'utf8');
    expect(frpVerify('frpc', text)).toMatchObject({ ok: true });
    const original = parseToml(text).proxies as any[];
    const { reports, routes } = roundTrip(path);

    const mappable = original.filter(p => ['tcp', 'udp', 'http'].includes(p.type) && !p.plugin && p.remotePort !== 0);
    const skipped = original.filter(p => !mappable.includes(p));
    expect(skipped.map(p => p.name)).toEqual([
      'ssh_random', 'web02', 'tcpmuxhttpconnect', 'plugin_unix_domain_socket', 'plugin_http_proxy', 'plugin_socks5',
      'plugin_static_file', 'plugin_https2http', 'plugin_https2https', 'plugin_http2https', 'plugin_http2http',
      'plugin_tls2raw', 'secret_tcp', 'p2p_tcp', 'vnet-server',
    ]);
    for (const p of skipped) expect(reports).toMatch(new RegExp(`proxies\\[\\d+\\] "${p.name}": not mapped: `));
    // frpc's own settings that have no field are reported too, never dropped
    for (const key of ['serverAddr', 'auth.token', 'transport.protocol', 'user', 'visitors[0] "secret_tcp_visitor"']) {
      expect(reports).toContain(`frpc_full_example.toml: ${key}: not mapped`);
    }
    for (const key of ['httpUser', 'hostHeaderRewrite', 'requestHeaders.set.x-from-where', 'healthCheck.httpHeaders', 'annotations.key1', 'loadBalancer.groupKey']) {
      expect(reports).toMatch(new RegExp(`proxies\\[\\d+\\] "[a-z0-9]+": ${key.replace(/[.[\]]/g, '\\$&')}: not mapped`));
    }

    expect(routes).toEqual(routesOf(mappable));
    // the oracle is not empty: tcp in a group, udp, and the four http routes of web01
    expect([...routes.keys()].sort()).toEqual([
      'http web01.apps.example.com/', 'http web01.apps.example.com/pic', 'http web01.yourdomain.com/', 'http web01.yourdomain.com/pic',
      'tcp :6001', 'udp :6002',
    ]);
    expect(routes.get('tcp :6001')).toEqual({ backends: ['127.0.0.1:22'], healthCheck: 'tcp  every 10s, 3s, maxFailed 3', bandwidth: '1MB client' });
  });

  test('frp\'s legacy INI example: the same routes (ranges expanded as frp does), against a hand-written list', () => {
    const path = join(FIXTURES, 'legacy', 'frpc_legacy_full.ini');
    expect(frpVerify('frpc', readFileSync(path, 'utf8'))).toMatchObject({ ok: true });
    const { reports, routes } = roundTrip(path);
    const expected = new Map<string, string[]>([
      ['tcp :6001', ['127.0.0.1:22']],
      ['udp :6002', ['114.114.114.114:53']],
      ...['/', '/pic'].flatMap(l => ['web01.yourdomain.com', `web01.${SUBDOMAIN_HOST}`].map(h => [`http ${h}${l}`, ['127.0.0.1:80']] as [string, string[]])),
      ...[...range(6010, 6020), 6022, ...range(6024, 6028)].map(p => [`tcp :${p}`, [`127.0.0.1:${p}`]] as [string, string[]]),
      ...range(6010, 6020).map(p => [`udp :${p}`, [`127.0.0.1:${p}`]] as [string, string[]]),
    ]);
    expect(new Map([...routes].map(([k, v]) => [k, v.backends]))).toEqual(expected);
    expect(routes.get('http web01.yourdomain.com/pic')!.healthCheck).toBe('http /status every 10s, 3s, maxFailed 3');
    for (const name of ['ssh_random', 'web02', 'plugin_socks5', 'secret_tcp', 'p2p_tcp', 'tcpmuxhttpconnect']) {
      expect(reports).toMatch(new RegExp(`proxies\\[\\d+\\] "${name}": not mapped: `));
    }
    expect(reports).toContain('visitors[0] "secret_tcp_visitor": not mapped');
    expect(reports).toContain('[common] admin_user (line 75): not mapped');
  });

  test('members of one group across files become one service: one endpoint each, the same address twice is weight 2', () => {
    const member = (name: string, ip: string) => `[[proxies]]
name = "${name}"
type = "http"
localIP = "${ip}"
localPort = 8080
customDomains = ["api.example.com"]
locations = ["/v1"]
loadBalancer.group = "api"
loadBalancer.groupKey = "k"
healthCheck.type = "http"
healthCheck.path = "/healthz"
healthCheck.intervalSeconds = 5
healthCheck.maxFailed = 2
`;
    const common = 'serverAddr = "frps.example.com"\nauth.token = "t"\ntransport.poolCount = 3\n';
    const a = file('a.toml', `${common}${member('api-a', '10.0.0.1')}${member('api-a2', '10.0.0.1')}`);
    const b = file('b.toml', `${common}${member('api-b', '10.0.0.2')}
[[proxies]]
name = "db"
type = "tcp"
localIP = "10.0.0.9"
localPort = 5432
remotePort = 15432
transport.bandwidthLimit = "1.5MB"
`);
    for (const f of [a, b]) expect(frpVerify('frpc', readFileSync(f, 'utf8'))).toMatchObject({ ok: true });
    const original = [a, b].flatMap(f => parseToml(readFileSync(f, 'utf8')).proxies as any[]);
    const { manifests, routes } = roundTrip(a, b);
    expect(manifests.map(m => m.metadata.name)).toEqual(['api', 'db']);
    expect(manifests[0].spec).toEqual({
      serviceType: 'http',
      backends: { endpoints: [{ host: '10.0.0.1', port: 8080, weight: 2 }, { host: '10.0.0.2', port: 8080 }] },
      expose: { type: 'path', domain: 'api.example.com', path: '/v1' },
      loadBalancing: { healthCheck: { type: 'http', path: '/healthz', interval: '5s', timeout: '3s', failureThreshold: 2 } },
      advanced: { connectionPool: { size: 3 } },
    });
    // 1.5MB is no whole number of MB: 1536KB is the same limit
    expect(manifests[1].spec.advanced).toEqual({ connectionPool: { size: 3 }, bandwidth: { limit: '1536KB' } });
    const want = routesOf(original);
    want.get('tcp :15432')!.bandwidth = '1536KB client';
    // rendered: one member per endpoint and weight, on each of the service's frpc pods
    const got = new Map([...routes].map(([k, v]) => [k, { ...v, backends: [...new Set(v.backends)] }]));
    want.get('http api.example.com/v1')!.backends = ['10.0.0.1:8080', '10.0.0.2:8080'];
    expect(got).toEqual(want);
    expect(routes.get('http api.example.com/v1')!.backends).toEqual(['10.0.0.1:8080', '10.0.0.1:8080', '10.0.0.2:8080']);
  });

  test('a group member with another route is reported, not merged', () => {
    const f = file('clash.toml', `[[proxies]]
name = "a"
type = "tcp"
localPort = 1
remotePort = 7001
loadBalancer.group = "g"
[[proxies]]
name = "b"
type = "tcp"
localPort = 2
remotePort = 7002
loadBalancer.group = "g"
`);
    const r = run('import', f);
    expect(r.code).toBe(0);
    expect(r.err).toContain('proxies[1] "b": not mapped: member of group g with another route (port 7002) than its first member (port 7001)');
    expect(parseAllDocuments(r.out)).toHaveLength(1);
  });

  test('templates are filled from the environment as frp does; a missing variable is an error', () => {
    const f = file('env.toml', '[[proxies]]\nname = "x"\ntype = "tcp"\nlocalPort = {{ .Envs.IMPORT_TEST_PORT }}\nremotePort = 7003\n');
    process.env.IMPORT_TEST_PORT = '8081';
    try {
      const r = run('import', f);
      expect(r.code).toBe(0);
      expect(parseAllDocuments(r.out)[0].toJS().spec.backends.endpoints).toEqual([{ host: '127.0.0.1', port: 8081 }]);
    } finally {
      delete process.env.IMPORT_TEST_PORT;
    }
    const r = run('import', f);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toContain('environment variables that are not set: IMPORT_TEST_PORT');
  });

  test.each<[string, string, RegExp]>([
    ['nothing mappable', 'secret.toml', /no proxy could be mapped/],
    ['broken TOML', 'broken.toml', /broken\.toml: not a frpc config \(TOML\)/],
  ])('fails on %s: exit 1, nothing on stdout', (_name, name, message) => {
    const texts: Record<string, string> = {
      'secret.toml': '[[proxies]]\nname = "s"\ntype = "stcp"\nsecretKey = "x"\nlocalPort = 22\n',
      'broken.toml': '[[proxies]\n',
    };
    const r = run('import', file(name, texts[name]));
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toMatch(message);
  });
});

describe('cdk8s-frp import: the annotation and the templates (issue 19)', () => {
  let fileNo = 0;
  test('property: the imported-from annotation names each member once, as <file>:<proxy>, in input order', () => {
    // files of proxies, each in one of a few groups (or none); the annotation is the oracle's list exactly
    const proxy = fc.record({ group: fc.constantFrom(undefined, 'g1', 'g2'), ip: fc.constantFrom('10.0.0.1', '10.0.0.2') });
    fc.assert(fc.property(fc.array(fc.array(proxy, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 3 }), (files) => {
      const paths: string[] = [];
      const want = new Map<string, string[]>();
      let n = 0;
      files.forEach((proxies, f) => {
        const name = `f${++fileNo}-${f}.toml`;
        const text = proxies.map((p) => {
          const proxyName = `p${++n}`;
          const service = p.group ?? proxyName;
          want.set(service, [...want.get(service) ?? [], `${name}:${proxyName}`]);
          const port = p.group === 'g1' ? 7001 : p.group === 'g2' ? 7002 : 8000 + n;
          return `[[proxies]]\nname = "${proxyName}"\ntype = "tcp"\nlocalIP = "${p.ip}"\nlocalPort = 5432\nremotePort = ${port}\n${p.group ? `loadBalancer.group = "${p.group}"\n` : ''}`;
        }).join('');
        paths.push(file(name, text));
      });
      const r = run('import', ...paths);
      expect(r.code).toBe(0);
      const got = new Map(parseAllDocuments(r.out).map(d => d.toJS()).map((m: any) => [m.metadata.name, m.metadata.annotations['frp.io/imported-from']]));
      expect(got).toEqual(new Map([...want].map(([k, v]) => [k, v.join(', ')])));
    }), { numRuns: 30, seed: 19 });
  });

  test('a template in a field import drops (token, group key, a dropped proxy) needs no value; one in a mapped field does, and only that one is asked for', () => {
    const text = (host: string) => `serverAddr = "frps.example.com"
auth.token = "{{ .Envs.IMPORT_TOKEN }}"
[[proxies]]
name = "web"
type = "tcp"
localIP = "${host}"
localPort = 8080
remotePort = 7100
loadBalancer.group = "web"
loadBalancer.groupKey = "{{ .Envs.IMPORT_GROUP_KEY }}"
[[proxies]]
name = "ssh"
type = "stcp"
secretKey = "{{ index .Envs "IMPORT_SK" }}"
localPort = 22
`;
    const ok = run('import', file('dropped.toml', text('10.0.0.1')));
    expect(ok.code).toBe(0);
    expect(parseAllDocuments(ok.out).map(d => d.toJS().metadata.name)).toEqual(['web']);
    // the reports name the template as written, never a placeholder
    expect(ok.err).not.toMatch(/cdk8sfrpunsetenv|not set/);
    const mapped = run('import', file('mapped.toml', text('{{ .Envs.IMPORT_HOST }}')));
    expect(mapped.code).toBe(1);
    expect(mapped.out).toBe('');
    expect(mapped.err).toContain('mapped.toml: the config uses environment variables that are not set: IMPORT_HOST (');
    expect(mapped.err).not.toMatch(/IMPORT_TOKEN|IMPORT_GROUP_KEY|IMPORT_SK/);
  });

  test('property: a variable is asked for exactly when its field is mapped', () => {
    // the fields of a proxy, each either a literal or an unset template; mapped: localIP, the name, the domain
    const FIELDS: [string, string, boolean][] = [
      ['localIP', '10.0.0.7', true], ['customDomains', 'a.example.com', true], ['name', 'api', true],
      ['auth.token', 't', false], ['loadBalancer.groupKey', 'k', false], ['metadatas.owner (endpoint metadata)', 'me', true], ['user', 'u', false],
    ];
    fc.assert(fc.property(fc.array(fc.boolean(), { minLength: FIELDS.length, maxLength: FIELDS.length }), (templated) => {
      const v = (i: number) => (templated[i] ? `{{ .Envs.IMPORT_VAR_${i} }}` : FIELDS[i][1]);
      const text = `${v(3) === 't' ? 'auth.token = "t"' : `auth.token = "${v(3)}"`}\nuser = "${v(6)}"\n[[proxies]]\nname = "${v(2)}"\ntype = "http"\nlocalIP = "${v(0)}"\nlocalPort = 80\ncustomDomains = ["${v(1)}"]\nloadBalancer.group = "api"\nloadBalancer.groupKey = "${v(4)}"\nmetadatas.owner = "${v(5)}"\n`;
      const r = run('import', file(`t${++fileNo}.toml`, text));
      const wanted = FIELDS.map((f, i) => (templated[i] && f[2] ? `IMPORT_VAR_${i}` : undefined)).filter(x => x !== undefined);
      if (wanted.length === 0) {
        expect(r.code).toBe(0);
      } else {
        expect(r.code).toBe(1);
        expect(r.err).toContain(`environment variables that are not set: ${wanted.join(', ')} (`);
      }
      for (let i = 0; i < FIELDS.length; i++) if (!wanted.includes(`IMPORT_VAR_${i}`)) expect(r.err).not.toContain(`not set: IMPORT_VAR_${i}`);
      expect(r.err).not.toContain('cdk8sfrpunsetenv');
    }), { numRuns: 128, seed: 19 });
  });
});

function range(a: number, b: number): number[] {
  return Array.from({ length: b - a + 1 }, (_, i) => a + i);
}
