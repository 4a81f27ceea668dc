/** One bench sample: N services on one FrpServer; prints one JSON line. */
import { performance } from 'perf_hooks';
import { App, Chart } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { stringify } from 'yaml';
import { DiscoveryMode, DistributedService, ServiceProtocol, ExposeType, FrpAuth, FrpServer } from '../lib';

const n = Number(process.argv[2]);

function build(): App {
  const app = new App();
  const chart = new Chart(app, 'bench', { namespace: 'bench' });
  const server = new FrpServer(chart, 'frps', { auth: FrpAuth.token(kplus.Secret.fromSecretName(chart, 'token', 'frp-token')) });
  for (let i = 0; i < n; i++) {
    // half http by domain (Ingress), half tcp on a port (own Service)
    if (i % 2 === 0) {
      new DistributedService(chart, `web-${i}`, {
        server,
        serviceType: ServiceProtocol.HTTP,
        backends: { discovery: { mode: DiscoveryMode.SELECTOR, selector: { matchLabels: { app: `web-${i}` } }, port: 8080 } },
        expose: { type: ExposeType.PATH, domain: `web-${i}.example.com`, path: '/api' },
      });
    } else {
      new DistributedService(chart, `db-${i}`, {
        server,
        serviceType: ServiceProtocol.TCP,
        backends: { endpoints: [{ host: `db-${i}-a.internal`, port: 5432, weight: 2 }, { host: `db-${i}-b.internal`, port: 5432 }] },
        expose: { type: ExposeType.PORT, port: 20000 + i },
      });
    }
  }
  return app;
}

// warm up module loading and JIT with a small app, not measured
build().synthYaml();

const t0 = performance.now();
const app = build();
const t1 = performance.now();
app.synthYaml();
const t2 = performance.now();
// the floor: the same manifests, serialized without cdk8s
const docs = app.charts.flatMap(c => c.toJson());
const t3 = performance.now();
docs.map(d => stringify(d)).join('---\n');
const t4 = performance.now();
console.log(JSON.stringify({
  build: t1 - t0,
  synth: t2 - t0,
  floor: t4 - t3,
  objects: docs.length,
  maxRssMb: process.resourceUsage().maxRSS / 1024,
}));
