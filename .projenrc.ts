import { cdk8s, javascript, YamlFile } from 'projen';

// cdk8s-frp: a jsii construct library for cdk8s v2 that renders frp (fatedier/frp)
// tunnels. Layout (the design card): lib/ (sources, compiled in place),
// imports/ (`cdk8s import` output, committed), examples/ (the cdk8s app that
// `cdk8s synth` runs), test/ (jest). Versions and every workaround below are
// the ones measured to work together (Node 22 LTS, npm 11, jsii 6.0, TypeScript 6.0;
// scripts/with-node.sh puts Node 22 on PATH where the machine's node is older).
const project = new cdk8s.ConstructLibraryCdk8s({
  name: 'cdk8s-frp',
  description: 'cdk8s constructs for frp (fatedier/frp) tunnels on Kubernetes: frps, frpc pools in load-balancing groups, mTLS, HAProxy balancing and Prometheus monitoring.',
  // cdk8s + cdk8s-constructs: how Construct Hub finds cdk8s libraries
  keywords: ['cdk8s', 'cdk8s-constructs', 'frp', 'frps', 'frpc', 'kubernetes', 'tunnel', 'mtls', 'haproxy'],
  author: 'cdk8s-frp maintainers',
  authorAddress: 'maintainers@cdk8s-frp.dev',
  repositoryUrl: 'https://github.com/cdk8s-frp/cdk8s-frp.git',
  license: 'Apache-2.0',
  defaultReleaseBranch: 'main',
  packageManager: javascript.NodePackageManager.NPM,
  projenrcTs: true,
  github: false, // CI is .ci/run
  // no release pipeline: the version is PROJECT_VERSION below, the changes are in CHANGELOG.md
  release: false,

  cdk8sVersion: '2.70.106',
  constructsVersion: '10.4.2',
  peerDeps: ['cdk8s-plus-28@^2.5.6'],
  // Not jsii modules: bundled (TOOLCHAIN B2.5). yaml parses manifests in the CLI.
  // @kubernetes/client-node and prom-client: the operator (lib/operator, not in the jsii API);
  // selfsigned: the admission webhooks' own CA outside the cluster (lib/operator/webhook.ts).
  bundledDeps: ['smol-toml@^1.9.1', 'yaml@^2.8.1', '@kubernetes/client-node@^1.4.0', 'prom-client@^15.1.3', 'selfsigned@^5.5.0'],
  devDeps: [
    'cdk8s-cli@^2.207.60', 'fast-check@^4.3.0', '@bufbuild/cel@^0.6.1',
    // tests parse the operator's /metrics with it (a port of Prometheus' own text parser)
    'parse-prometheus-text-format@^1.1.1',
  ],
  bin: { 'cdk8s-frp': 'bin/cdk8s-frp' },

  // jsii targets: the Python package (cdk8s users write Python too)
  publishToPypi: { distName: 'cdk8s-frp', module: 'cdk8s_frp' },

  jsiiVersion: '~6.0.0',
  typescriptVersion: '~6.0.3',
  // what users need (TypeScript users; the Python package runs its JavaScript on the node on
  // PATH, where jsii's runtime warns on Node 20, past its end of life: README, Install)
  minNodeVersion: '20.16.0',

  srcdir: 'lib',
  libdir: 'lib',
  tsconfig: {
    include: ['imports/**/*.ts'],
    compilerOptions: { module: 'node20', rootDir: '.', outDir: '.' },
  },
  artifactsDirectory: 'dist-pkg',

  eslintOptions: { dirs: ['lib'], devdirs: ['test', 'examples', 'bench', 'projenrc'] },
  jestOptions: {
    passWithNoTests: false,
    updateSnapshot: javascript.UpdateSnapshot.NEVER,
    jestConfig: {
      moduleFileExtensions: ['ts', 'js', 'json', 'node'],
      testPathIgnorePatterns: ['/node_modules/', '/dist/', '/dist-pkg/'],
      // The test cluster (scripts/test-cluster.sh) for test/cluster/: a state
      // directory per run; started by the first test that needs it, stopped at the end.
      globalSetup: '<rootDir>/test/cluster/global-setup.ts',
      globalTeardown: '<rootDir>/test/cluster/global-teardown.ts',
    },
  },
});

// The package version (npm tarball, Python wheel, jsii assembly): raise it with a new
// CHANGELOG.md section (projen's own bump/unbump would keep 0.0.0 in the repository).
project.package.addVersion('0.1.0');

// Tests live in test/ only: projen's default pattern also matches any lib file named spec.ts.
project.package.file.addOverride('jest.testMatch', ['<rootDir>/test/**/*.test.ts']);
// ts-jest compiles test files in isolation and reports no type errors: type-check
// the tests, examples and bench before jest runs.
project.testTask.prependExec('tsc --noEmit -p test/tsconfig.json');
project.tsconfigDev.addInclude('../examples/**/*.ts');
project.tsconfigDev.addInclude('../bench/**/*.ts');
project.gitignore.exclude('/dist/', '/dist-pkg/', '/imports/**/*.js', '/imports/**/*.d.ts', '/bench/**/*.js', '/bench/**/*.d.ts');
project.addPackageIgnore('/examples/');
project.addPackageIgnore('/bench/');
project.addPackageIgnore('/.ci/');
project.addPackageIgnore('/scripts/');
project.addPackageIgnore('/crds/');
project.addPackageIgnore('/dist-pkg/');
// the outdir line jsii-pacmak looks for: without it every package:python appends it
project.addPackageIgnore('dist-pkg');
project.addPackageIgnore('/cdk8s.yaml');
// the operator image recipe builds from the repository, not from the package (argocd/ ships)
project.addPackageIgnore('/Dockerfile');
project.addPackageIgnore('/.dockerignore');
project.addPackageIgnore('/lib/**/*.ts');
project.addPackageIgnore('!/lib/**/*.d.ts');
project.addPackageIgnore('/imports/**/*.ts');
project.addPackageIgnore('!/imports/**/*.d.ts');
project.addPackageIgnore('!/imports/**/*.js');

// cdk8s.yaml is generated (read-only); edit it here.
new YamlFile(project, 'cdk8s.yaml', {
  obj: {
    language: 'typescript',
    app: 'npx ts-node --prefer-ts-exts -P test/tsconfig.json examples/main.ts',
    output: 'dist',
  },
});

project.addTask('synth', {
  description: 'Render every example in examples/ to dist/*.k8s.yaml',
  exec: 'cdk8s synth --check-upgrade=false',
});

// The third-party CRD YAML is vendored in crds/ (origin, versions, license: crds/README.md).
// Each API group is imported from one multi-document stream so that every
// kind of a group lands in a single imports/<group>.ts.
project.addTask('import', {
  description: 'Regenerate imports/ from the CRDs in crds/',
  exec: 'node scripts/import-crds.js',
});

project.addTask('test:live', {
  description: 'The live suite only: real frps/frpc/HAProxy/nginx run the rendered bundles on 127.0.0.0/8 (test/live)',
  exec: 'jest --ci --coverage=false test/live',
  receiveArgs: true,
});

project.addTask('test:cluster', {
  description: 'Only the suite on the test cluster (test/cluster; scripts/test-cluster.sh)',
  exec: 'jest --ci --coverage=false test/cluster',
  receiveArgs: true,
});

// The test cluster runs the oldest Kubernetes the library supports (1.28, the default of
// scripts/build-k8s.sh) and a current one (CDK8S_FRP_K8S_VERSION; its build module is
// scripts/k8s-<minor>). test/cluster is the only suite that meets the API server: npm test
// runs it on 1.28 with everything else, then again on the current one.
const CURRENT_KUBERNETES = '1.34';
const clusterOnCurrent = project.addTask(`test:cluster:${CURRENT_KUBERNETES}`, {
  description: `The suite on the test cluster at Kubernetes ${CURRENT_KUBERNETES} (npm test runs it after the rest, which uses 1.28)`,
  env: { CDK8S_FRP_K8S_VERSION: CURRENT_KUBERNETES },
  exec: 'jest --ci --coverage=false test/cluster',
  receiveArgs: true,
});
// right after the main jest run (before eslint)
const mainJest = project.testTask.steps.findIndex(step => step.execArgs?.[0] === 'jest');
if (mainJest < 0) throw new Error('the test task has no jest step');
project.testTask.insertStep(mainJest + 1, { spawn: clusterOnCurrent.name });

project.addTask('bench', {
  description: 'Synth time and memory for 1..1000 DistributedServices (see README)',
  exec: 'ts-node --prefer-ts-exts -P test/tsconfig.json bench/synth.bench.ts',
});

project.addTask('bench:dataplane', {
  description: 'Data-plane benchmark: direct, frp defaults, the bundle, the balancer tier, HA frps; req/s, latency, MB/s, CPU (bench/results/dataplane.md, .svg; see README "Capacity guide")',
  exec: 'ts-node --prefer-ts-exts -P test/tsconfig.json bench/dataplane.bench.ts',
});

project.addTask('bench:joinrace', {
  description: 'Failed requests while frpc members leave and join a group (kill/restart, pod replaced), http and tcp, pool 5 and off (bench/results/joinrace.md; see README "Limits and decisions")',
  exec: 'ts-node --prefer-ts-exts -P test/tsconfig.json bench/joinrace.ts',
});

project.addTask('bench:dataplane:compare', {
  description: 'Do several runs of bench:dataplane agree? (args: the dataplane.json of each run)',
  exec: 'ts-node --prefer-ts-exts -P test/tsconfig.json bench/dataplane/compare.ts',
  receiveArgs: true,
});

project.addTask('bench:operator', {
  description: 'cdk8s-frp operator: time to converge and API requests per service for 50/100/200 DistributedServices in 20 namespaces (test cluster; see README)',
  exec: 'ts-node --prefer-ts-exts -P test/tsconfig.json bench/operator.bench.ts',
});

project.synth();
