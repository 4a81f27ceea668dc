/**
 * Live: a rolling update of the frpc pods while requests stream. Each deleted pod's
 * preStop hook (rendered on every frpc container) runs frpc's own stop before the
 * kubelet's SIGTERM: frpc closes its proxies (frps stops routing to the member at once),
 * gives work in flight 100 ms, then closes its session. Without the hook frpc v0.70.1
 * exits at once on SIGTERM and the requests in flight through it fail.
 *
 * As a Deployment's rolling update does (maxSurge 1, maxUnavailable 0 for 3 replicas),
 * each round starts the new pod first and deletes an old one once the new member is
 * online. Requests stream only while the old member leaves: a member that joins can lose
 * a request in frp itself (README "Limits and decisions", the join window), which is not
 * what this test is about.
 */
import { bundleOf, fixtureSecrets, joinedProxies, onlineProxies, vhostService } from './fixtures';
import { ExposeType, ServiceProtocol } from '../../lib';
import { HttpBackend, httpRequest } from './harness/backends';
import { claimSubnet, Closeable, LiveCluster, LivePod, sleep, waitFor } from './harness/cluster';

jest.setTimeout(300_000);

const ROUNDS = 6;
const CLIENTS = 4;
/** A bound on the requests of one round (the stream stops earlier, once the member has left). */
const MAX_PER_ROUND = 3000;

describe('live: rolling update of frpc pods', () => {
  let cluster: LiveCluster | undefined;
  let backend: Closeable | undefined;
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
    await backend?.close();
  });

  test('deleted frpc pods leave their group without failed requests (preStop runs frpc stop)', async () => {
    const subnet = await claimSubnet();
    const ip = `127.${subnet.base}.4.1`;
    backend = await HttpBackend.start('api-0', ip, 8000);
    const manifests = bundleOf({
      api: {
        serviceType: ServiceProtocol.HTTP,
        backends: { replicas: 3, endpoints: [{ host: ip, port: 8000 }] },
        expose: { type: ExposeType.DOMAIN, domain: 'api.example.test' },
      },
    });
    // what the harness runs is what is rendered: a preStop exec hook on the frpc container
    const deployment = manifests.find((o) => o.kind === 'Deployment' && o.spec.template.spec.containers.some((x: any) => String(x.image).includes('frpc:')));
    const frpc = deployment.spec.template.spec.containers.find((x: any) => x.name === 'frpc');
    expect(frpc.lifecycle?.preStop?.exec?.command?.join(' ')).toContain('frpc stop -c /etc/frp/frpc.toml');

    cluster = await LiveCluster.start(manifests, { subnet, secrets: fixtureSecrets() });
    const c = cluster;
    await c.waitAllReady();
    const memberOf = (p: LivePod) => `${p.namespace}.${p.name}.`;
    const isOnline = async (p: LivePod) => (await onlineProxies(c)).some((m) => m.startsWith(memberOf(p)));
    await waitFor('3 members online', async () => (await onlineProxies(c)).length === 3, 30_000)
      .catch((e) => { throw new Error(`${e.message}\n${c.allLogs()}`); });
    const vhost = c.address(vhostService(c), 'http');
    const ask = () => httpRequest({ ...vhost, path: '/', headers: { host: 'api.example.test' }, timeoutMs: 5000 });
    await waitFor('the service answering', async () => (await ask()).status === 200, 20_000);

    const failed: string[] = [];
    let total = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const old = c.podsWithImage('frpc').sort((a, b) => a.name.localeCompare(b.name))[0];
      // surge: the new pod joins first, with no request under way
      const fresh = await c.addPod(old.workload);
      // online in frps and past its join window (frpc has read frps' answer): see joinedProxies
      await waitFor(`${fresh.name} joined`, async () => (await joinedProxies(c)).some((m) => m.startsWith(memberOf(fresh))), 30_000, 50);

      let stop = false;
      let sent = 0;
      const client = async () => {
        while (!stop && sent < MAX_PER_ROUND) {
          sent++;
          const start = new Date().toISOString();
          const r = await ask();
          if (r.status !== 200) failed.push(`round ${round} (deleting ${old.name}) ${start} to ${new Date().toISOString()}: ${r.status} ${r.body.split('\n')[0]}`);
        }
      };
      const clients = Array.from({ length: CLIENTS }, () => client());
      await sleep(300);
      // the kubelet: preStop hooks, then SIGTERM (the harness waits for the process to end)
      await c.deletePod(old, false);
      await waitFor(`${old.name} gone from frps`, async () => !(await isOnline(old)), 15_000, 50);
      await sleep(300);
      stop = true;
      await Promise.all(clients);
      total += sent;
    }
    expect(total).toBeGreaterThan(ROUNDS * CLIENTS);
    if (failed.length > 0) {
      const frpsWarnings = c.podsWithImage('frps').map((p) => c.logs(p)).join('\n').split('\n').filter((l) => / \[[WE]\] /.test(l));
      throw new Error(`${failed.length} of ${total} requests failed over ${ROUNDS} deletions:\n${failed.join('\n')}\n`
        + `frps warnings:\n${frpsWarnings.join('\n')}\n${c.allLogs()}`);
    }
    // every deleted pod ran its hook, and its frpc closed its proxy over its session (frps'
    // "close proxy", which it logs only for frpc's CloseProxy, not for a session that ends)
    const deleted = c.pods.filter((p) => p.deleted);
    expect(deleted).toHaveLength(ROUNDS);
    const frpsLog = c.podsWithImage('frps').map((p) => c.logs(p)).join('\n');
    for (const p of deleted) {
      expect(c.logs(p, 'frpc')).toContain('harness: preStop exited 0');
      expect(frpsLog).toContain(`close proxy [${memberOf(p)}api-0] success`);
    }
  });
});
