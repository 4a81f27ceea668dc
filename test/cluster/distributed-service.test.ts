import { readFileSync, readdirSync } from 'fs';
import { join } from 'path';
import { Chart, Testing } from 'cdk8s';
import { parseAllDocuments } from 'yaml';
import { drift, ensureNamespaces, kubectl, kubectlClean, liveObjects, serverSideApply, serverSideDiff, startCluster, toYaml, writeManifests } from './cluster';
import { DistributedServiceCrd } from '../../lib';
import { main } from '../../lib/cli/render';
import { withoutRequiredSecrets } from '../helpers';
import { GRPC_SERVICE, WEB_SERVICE } from '../helpers/cli-manifests';
import { INVALID_SPECS } from '../service/invalid-specs';

jest.setTimeout(300_000);

/** The CRD as the library renders it, in a chart with a namespace (which a cluster-scoped object must not get). */
const crd = (() => {
  const chart = new Chart(Testing.app(), 'frp', { namespace: 'frp' });
  new DistributedServiceCrd(chart, 'crd');
  return Testing.synth(chart);
})();
const MANIFESTS = join(__dirname, '..', '..', 'examples', 'manifests');
const seeds = readdirSync(MANIFESTS).filter(f => f.endsWith('.yaml')).sort()
  .flatMap(f => parseAllDocuments(readFileSync(join(MANIFESTS, f), 'utf8')).map(d => d.toJS()));
const cr = (name: string, spec: any) => ({ apiVersion: 'frp.io/v1beta1', kind: 'DistributedService', metadata: { name, namespace: 'crd-test' }, spec });

/** The field paths a refusal of the API server names (`spec.a.b: ...`, `unknown field "spec.x"`). */
const serverPaths = (stderr: string) => [
  ...[...stderr.matchAll(/(?:^|\* |is invalid: )(spec[\w.[\]]*): /gm)].map(m => m[1]),
  ...[...stderr.matchAll(/unknown field "(spec[\w.[\]]*)"/g)].map(m => m[1]),
].filter((p, i, all) => all.indexOf(p) === i).sort();
/** The field paths `cdk8s-frp render` names for a manifest (`apps/svc: spec.a.b: ...`). */
const cliPaths = (doc: any) => {
  let err = '';
  const code = main(['render', writeManifests('cli-input', [doc])], () => undefined, s => { err += s; });
  return { code, paths: [...withoutRequiredSecrets(err).matchAll(/crd-test\/\S+: (spec[\w.[\]]*): /g)].map(m => m[1]).filter((p, i, all) => all.indexOf(p) === i).sort() };
};

/** Refused by the library but beyond what the CRD's schema and CEL can judge (the API server accepts them). */
const BEYOND_CEL: Record<string, string> = {
  'udp least-conn over discovered pods': 'depends on which algorithms the udp balancer has (the library\'s plan)',
  'too many weighted members': 'applies only without the balancer tier, which the library\'s plan chooses (CEL could sum the weights, not plan)',
};

beforeAll(() => {
  startCluster();
  ensureNamespaces([...seeds, cr('x', {})]);
});

describe('the DistributedService CRD on the API server', () => {
  test('has no namespace, server-side applies as argocd-controller without a warning, and reads back unchanged', () => {
    expect(crd).toHaveLength(1);
    expect(crd[0].metadata.namespace).toBeUndefined();
    const file = writeManifests('crd', crd);
    const r = serverSideApply(file);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(kubectlClean(['wait', '--for=condition=Established', '--timeout=60s', 'crd/distributedservices.frp.io'])).toContain('condition met');
    const diff = serverSideDiff(file);
    expect([diff.status, diff.stdout, diff.stderr]).toEqual([0, '', '']);
    expect(drift(crd[0], liveObjects(file)[0], 'crd')).toEqual([]);
  });

  test('short name dsvc, not ds (kubectl\'s DaemonSet)', () => {
    const resources = kubectlClean(['api-resources', '--api-group=frp.io', '-o', 'wide', '--no-headers']);
    expect(resources).toMatch(/^distributedservices\s+dsvc\s+frp\.io\/v1beta1\s+true\s+DistributedService\s/m);
    expect(kubectlClean(['api-resources', '--api-group=apps', '--no-headers'])).toMatch(/^daemonsets\s+ds\s/m);
  });

  test('the four seed use cases and the CLI tests\' manifests are accepted (server-side apply, no warning, no diff)', () => {
    const valid = [...seeds, ...[GRPC_SERVICE, WEB_SERVICE].map(y => ({ ...parseAllDocuments(y)[0].toJS(), metadata: { ...parseAllDocuments(y)[0].toJS().metadata, namespace: 'crd-test' } }))];
    expect(valid).toHaveLength(6);
    const file = writeManifests('valid-crs', valid);
    const r = serverSideApply(file);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const diff = serverSideDiff(file);
    expect([diff.status, diff.stdout, diff.stderr]).toEqual([0, '', '']);
    const live = liveObjects(file);
    expect(valid.flatMap((d, i) => drift(d, live[i], `${d.metadata.namespace}/${d.metadata.name}`))).toEqual([]);
  });

  describe.each(INVALID_SPECS.map(([name, spec]) => [name, spec]))('invalid: %s', (name, spec) => {
    const doc = cr('invalid', spec);
    test(BEYOND_CEL[name as string] ? 'the CLI refuses it; the API server cannot judge it' : 'the API server and the CLI both refuse it, at the same field', () => {
      const cli = cliPaths(doc);
      expect(cli.code).toBe(1);
      expect(cli.paths.length).toBeGreaterThan(0);
      const r = kubectl(['create', '--dry-run=server', '-f', '-'], toYaml([doc]));
      if (BEYOND_CEL[name as string]) {
        expect(r.stderr).toBe('');
        expect(r.status).toBe(0);
        return;
      }
      expect(r.status).toBe(1);
      const server = serverPaths(r.stderr);
      expect(server.length).toBeGreaterThan(0);
      // every field the API server names, the CLI names too
      expect(server.filter(p => !cli.paths.includes(p))).toEqual([]);
    });
  });
});

describe('what the API server says when the CRD refuses a spec', () => {
  // [INVALID_SPECS case, field, what kind of error, message, whether it is the library's message]:
  // the rules' reason says Required or Forbidden where "Invalid value" would show only the type
  // of spec ("object"); their messageExpression gives the value, in the library's words
  const INVALID = 'Invalid value: "object"';
  const SAYS: [string, string, string, string, boolean][] = [
    ['manual mTLS without caSecret (seed webhook)', 'spec.security.mtls.caSecret', 'Required value', 'Manual mTLS requires caSecret', false],
    ['discovery and endpoints together (seed webhook)', 'spec.backends.endpoints', 'Forbidden', 'Cannot use both discovery and manual endpoints (set exactly one)', false],
    ['externalTrafficPolicy on a ClusterIP exposure', 'spec.expose.externalTrafficPolicy', 'Forbidden',
      'externalTrafficPolicy applies to a port exposure whose serviceType is NodePort or LoadBalancer', false],
    ['authentication without its Secret', 'spec.security.authentication.tokenSecret', 'Required value',
      'authentication type oauth2 needs tokenSecret (the Secret with the JWT public key)', false],
    ['end-user auth on tcp', 'spec.security.authentication.type', 'Forbidden', 'end-user apikey authentication needs an http service, not tcp', true],
    ['a tcp service on a domain', 'spec.expose.type', INVALID,
      'a tcp service is exposed on a port: set expose.type to port and expose.port (domain, subdomain and path routing is for http)', true],
    ['a dial timeout frpc does not take', 'spec.advanced.timeout.dial', INVALID, 'must be at most 60m (frp takes at most an hour), got 90m', true],
    ['a keepalive over a day', 'spec.advanced.timeout.keepAlive', INVALID, 'must be at most 24h (longer idle or affinity times keep state for a day or more), got 1441m', true],
    ['health check timeout over interval', 'spec.loadBalancing.healthCheck.timeout', INVALID, 'must not be longer than the interval (5s), got 10s', true],
  ];
  test.each(SAYS)('%s', (name, field, kind, message, libraryWords) => {
    const [, spec, library] = INVALID_SPECS.find(([n]) => n === name)!;
    const r = kubectl(['create', '--dry-run=server', '-f', '-'], toYaml([cr('invalid', spec)]));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${field}: ${kind}: ${message}`);
    if (libraryWords) expect(library).toBe(`app/svc: ${field}: ${message}`);
  });
});

describe('printer columns and the status and scale subresources', () => {
  const name = 'columns';
  beforeAll(() => {
    kubectlClean(['delete', 'dsvc', name, '-n', 'crd-test', '--ignore-not-found']); // from an earlier run on this cluster
    kubectlClean(['apply', '--server-side', '--field-manager=argocd-controller', '-f', '-'], toYaml([cr(name, {
      serviceType: 'tcp',
      backends: { replicas: 2, endpoints: [{ host: 'db-1.internal', port: 5432 }] },
      expose: { type: 'port', port: 5432 },
    })]));
  });

  test('status written through the status subresource shows in kubectl get -o wide', () => {
    kubectlClean(['patch', 'dsvc', name, '-n', 'crd-test', '--subresource=status', '--type=merge', '-p',
      JSON.stringify({ status: { state: 'Running', activeBackends: 2, totalBackends: 2, selector: 'app.kubernetes.io/instance=columns' } })]);
    const [header, row] = kubectlClean(['get', 'dsvc', name, '-n', 'crd-test', '-o', 'wide']).trim().split('\n').map(l => l.trim().split(/\s+/));
    expect(header).toEqual(['NAME', 'TYPE', 'BACKENDS', 'STATE', 'AGE']);
    expect(row.slice(0, 4)).toEqual([name, 'tcp', '2', 'Running']);
    // the main resource ignores status, the status subresource ignores spec
    kubectlClean(['patch', 'dsvc', name, '-n', 'crd-test', '--type=merge', '-p', JSON.stringify({ status: { state: 'Failed' } })]);
    expect(kubectlClean(['get', 'dsvc', name, '-n', 'crd-test', '-o', 'jsonpath={.status.state}'])).toBe('Running');
  });

  test('kubectl scale sets spec.backends.replicas; the scale subresource reads it, activeBackends and the selector', () => {
    expect(kubectlClean(['scale', 'dsvc', name, '-n', 'crd-test', '--replicas=3'])).toContain('scaled');
    expect(kubectlClean(['get', 'dsvc', name, '-n', 'crd-test', '-o', 'jsonpath={.spec.backends.replicas}'])).toBe('3');
    const scale = JSON.parse(kubectlClean(['get', 'dsvc', name, '-n', 'crd-test', '--subresource=scale', '-o', 'json']));
    expect(scale).toMatchObject({ kind: 'Scale', spec: { replicas: 3 }, status: { replicas: 2, selector: 'app.kubernetes.io/instance=columns' } });
  });
});
