import { parseArgs, RenderOptions } from '../../lib/cli/render';
import { parseOperatorArgs, OperatorOptions } from '../../lib/operator/options';

describe('cdk8s-frp operator options (contract 2)', () => {
  test('defaults: every namespace, metrics on 8080, health on 8081, leader election on', () => {
    expect(parseOperatorArgs([])).toEqual({
      kubeconfig: undefined,
      namespaces: [],
      bundle: {},
      metricsAddress: { host: '0.0.0.0', port: 8080 },
      healthAddress: { host: '0.0.0.0', port: 8081 },
      leaderElection: true,
      leaderElectionNamespace: undefined,
    });
  });

  test('the bundle options are render\'s, with --frps-namespace for render\'s --namespace', () => {
    const o = parseOperatorArgs([
      '--kubeconfig', '/k', '--namespace', 'b', '--namespace', 'a', '--frps-namespace', 'frp', '--subdomain-host', 'example.com',
      '--token-secret', 'tok', '--frps-replicas', '2', '--frps-service-type', 'NodePort', '--frps-address', 'h1', '--frps-address', 'h2',
      '--frps-node-port', '30000', '--client-cidr', '10.0.0.0/8', '--cert-manager-namespace', 'cm',
      '--metrics-address', '127.0.0.1:0', '--health-address', '0', '--leader-election-namespace', 'ops',
    ]);
    expect(o).toEqual({
      kubeconfig: '/k',
      namespaces: ['a', 'b'],
      bundle: {
        serverNamespace: 'frp',
        subDomainHost: 'example.com',
        tokenSecret: 'tok',
        frpsReplicas: 2,
        frpsServiceType: 'NodePort',
        frpsAddresses: ['h1', 'h2'],
        frpsNodePort: 30000,
        clientCidrs: ['10.0.0.0/8'],
        certManagerNamespace: 'cm',
      },
      metricsAddress: { host: '127.0.0.1', port: 0 },
      healthAddress: undefined,
      leaderElection: true,
      leaderElectionNamespace: 'ops',
    });
    expect(parseOperatorArgs(['--insecure-skip-verify', '--no-leader-election'])).toMatchObject({ bundle: { insecureSkipVerify: true }, leaderElection: false });
    expect(parseOperatorArgs(['--help'])).toBe('help');
  });

  test('webhooks: off by default; --webhook-address alone (outside the cluster) or with --webhook-cert-dir (in a pod)', () => {
    expect(parseOperatorArgs([])).toMatchObject({ webhookAddress: undefined, webhookCertDir: undefined });
    expect(parseOperatorArgs(['--webhook-address', '127.0.0.1:0'])).toMatchObject({ webhookAddress: { host: '127.0.0.1', port: 0 }, webhookCertDir: undefined });
    expect(parseOperatorArgs(['--webhook-address', '[::1]:9443'])).toMatchObject({ webhookAddress: { host: '::1', port: 9443 } });
    expect(parseOperatorArgs(['--webhook-address', '0.0.0.0:9443', '--webhook-cert-dir', '/var/run/cdk8s-frp/webhook']))
      .toMatchObject({ webhookAddress: { host: '0.0.0.0', port: 9443 }, webhookCertDir: '/var/run/cdk8s-frp/webhook' });
    expect(parseOperatorArgs(['--webhook-address', '0'])).toMatchObject({ webhookAddress: undefined });
  });

  test.each([
    [['--namespace', 'Not_A_Label'], '--namespace must be a DNS label, got "Not_A_Label"'],
    [['--frps-replicas', '10'], '--frps-replicas must be 1 to 9, got "10"'],
    [['--frps-service-type', 'ClusterIP'], '--frps-service-type must be LoadBalancer or NodePort, got "ClusterIP"'],
    [['--frps-address', 'x'], '--frps-address and --frps-node-port need --frps-service-type (LoadBalancer or NodePort)'],
    [['--metrics-address', 'localhost'], '--metrics-address must be HOST:PORT (or 0 for off), got "localhost"'],
    [['--kubeconfig'], '--kubeconfig needs a value'],
    [['--bogus'], 'unknown option --bogus'],
    [['file.yaml'], 'unexpected argument "file.yaml" (operator reads DistributedServices from the cluster, not from files)'],
    [['--insecure-skip-verify', '--cert-manager-namespace', 'cm'], '--cert-manager-namespace is for the CA, which --insecure-skip-verify turns off: give one of them'],
    [['--webhook-cert-dir', '/tls'], '--webhook-cert-dir is the webhooks\' certificate: it needs --webhook-address HOST:PORT'],
    [['--webhook-address', '0.0.0.0:9443'], '--webhook-address without --webhook-cert-dir registers https://HOST:PORT with the API server: HOST must be an address it reaches (e.g. 127.0.0.1:9443), got "0.0.0.0:9443"'],
    [['--webhook-address', ':9443'], 'HOST must be an address it reaches (e.g. 127.0.0.1:9443), got ":9443"'],
    [['--webhook-address', '127.0.0.1'], '--webhook-address must be HOST:PORT (or 0 for off), got "127.0.0.1"'],
  ])('%j is refused: %s', (argv, message) => {
    expect(() => parseOperatorArgs(argv)).toThrow(message);
  });

  test('render and the operator read the bundle options with one parser: the same options, the same BundleOptions, the same refusals', () => {
    const shared = [
      '--subdomain-host', 'example.com', '--token-secret', 'tok', '--frps-replicas', '3', '--frps-service-type', 'LoadBalancer',
      '--frps-address', 'frp.example.com', '--frps-node-port', '30001', '--client-cidr', '192.0.2.0/24', '--cert-manager-namespace', 'cm',
    ];
    const render = parseArgs(['render', '--namespace', 'frp', ...shared, 'x.yaml']) as RenderOptions;
    const operator = parseOperatorArgs(['--frps-namespace', 'frp', ...shared]) as OperatorOptions;
    const { command: _c, files: _f, machine: _m, serverAddress: _a, serverPort: _p, outputDir: _o, locals: _l, ...renderBundle } = render;
    expect(operator.bundle).toEqual({ ...renderBundle, insecureSkipVerify: undefined });
    expect(render.insecureSkipVerify).toBe(false);
    for (const bad of [['--subdomain-host', 'Not A Domain'], ['--token-secret', 'UPPER'], ['--frps-node-port', '70000'], ['--cert-manager-namespace', 'a_b']]) {
      let renderError = '';
      try {
        parseArgs(['render', ...bad, 'x.yaml']);
      } catch (e) {
        renderError = (e as Error).message;
      }
      expect(renderError).not.toBe('');
      expect(() => parseOperatorArgs(bad)).toThrow(renderError);
    }
  });
});
