/**
 * Stand-in backends for a whole bundle, for suites that run bundles they did not write
 * (the examples): every address the bundle's configs send traffic to that the bundle does
 * not serve itself gets a test server, so that health checks pass and every member can
 * join its group.
 *
 * - a Service whose selector matches no pod of the bundle gets an external pod with
 *   those labels, serving each target port;
 * - an frpc proxy's localIP, an HAProxy `server` or an nginx upstream `server` naming a
 *   host that is no Service of the bundle gets an address in the harness DNS and a server;
 * - a container of an image the harness does not run serves HTTP on its container ports.
 *
 * HTTP servers answer 200 on every path (so any health path passes), TCP checks connect to
 * them too; udp targets get UDP servers.
 */
import { HttpBackend, UdpBackend } from './backends';
import { Closeable, ExternalPod, ImageRunner } from './cluster';
import { parseFrpTomlValues as parse } from '../../helpers';

export interface AutoBackends {
  readonly externalPods: ExternalPod[];
  readonly hosts: Record<string, string[]>;
  readonly images: Record<string, ImageRunner>;
  readonly running: Closeable[];
}

const ns = (o: any) => o.metadata?.namespace ?? 'default';

export async function autoBackends(manifests: readonly any[], base: number): Promise<AutoBackends> {
  let next = 1;
  const address = () => `127.${base}.4.${next++}`;
  const out: AutoBackends = { externalPods: [], hosts: {}, images: {}, running: [] };
  const started = new Set<string>();
  const serve = async (ip: string, port: number, udp: boolean, name: string) => {
    const key = `${ip}:${port}/${udp ? 'udp' : 'tcp'}`;
    if (started.has(key)) return;
    started.add(key);
    out.running.push(udp ? await UdpBackend.start(name, ip, port) : await HttpBackend.start(name, ip, port, { healthPath: null, anyPathOk: true }));
  };
  const templates = manifests.filter((o) => o.spec?.template?.spec);
  const services = manifests.filter((o) => o.kind === 'Service' && o.apiVersion === 'v1');
  const isService = (host: string, fromNs: string) => {
    const [name, maybeNs] = host.split('.');
    return services.some((s) => s.metadata.name === name && ns(s) === (maybeNs ?? fromNs));
  };

  // Services that select pods the bundle does not have
  for (const s of services) {
    const sel: Record<string, string> = s.spec.selector ?? {};
    if (Object.keys(sel).length === 0) continue;
    const hit = templates.some((t) => ns(t) === ns(s) && Object.entries(sel).every(([k, v]) => t.spec.template.metadata?.labels?.[k] === v));
    if (hit) continue;
    const ip = address();
    out.externalPods.push({ name: `${s.metadata.name}-backend`, namespace: ns(s), labels: sel, ip });
    for (const p of s.spec.ports ?? []) {
      const target = typeof p.targetPort === 'number' ? p.targetPort : p.port;
      await serve(ip, target, p.protocol === 'UDP', `${s.metadata.name}-backend`);
    }
  }

  // addresses named in frpc, HAProxy and nginx configs
  const external = async (host: string, port: number, udp: boolean, fromNs: string) => {
    if (/^127\./.test(host) || isService(host, fromNs)) return;
    out.hosts[host] ??= [address()];
    await serve(out.hosts[host][0], port, udp, host);
  };
  for (const cm of manifests.filter((o) => o.kind === 'ConfigMap')) {
    for (const [key, text] of Object.entries<string>(cm.data ?? {})) {
      if (key.endsWith('frpc.toml')) {
        let cfg: any;
        try { cfg = parse(text); } catch { continue; }
        for (const p of cfg.proxies ?? []) if (p.localIP && p.localPort) await external(p.localIP, p.localPort, p.type === 'udp', ns(cm));
      } else if (key.endsWith('haproxy.cfg')) {
        for (const m of text.matchAll(/^\s*server\s+\S+\s+([^\s:]+):(\d+)/gm)) await external(m[1], Number(m[2]), false, ns(cm));
      } else if (key.endsWith('.conf') && /\bstream\s*\{/.test(text)) {
        for (const m of text.matchAll(/^\s*server\s+([^\s:;]+):(\d+)/gm)) await external(m[1], Number(m[2]), true, ns(cm));
      }
    }
  }

  // the user's own images: HTTP on every container port of the pod's address
  for (const t of templates) {
    for (const c of t.spec.template.spec.containers ?? []) {
      const image = String(c.image);
      if (/(^|\/)(frps|frpc|haproxy|nginx(-unprivileged|-prometheus-exporter)?):/.test(image)) continue;
      out.images[image] = async ({ pod, ip, container }) => {
        const servers: Closeable[] = [];
        for (const p of container.ports ?? []) {
          servers.push(p.protocol === 'UDP' ? await UdpBackend.start(pod, ip, p.containerPort) : await HttpBackend.start(pod, ip, p.containerPort, { healthPath: null, anyPathOk: true }));
        }
        const listen = /^-listen=:(\d+)$/.exec((container.args ?? []).find((a: string) => /^-listen=/.test(a)) ?? '');
        if (listen && !(container.ports ?? []).some((p: any) => p.containerPort === Number(listen[1]))) {
          servers.push(await HttpBackend.start(pod, ip, Number(listen[1]), { healthPath: null, anyPathOk: true }));
        }
        return { close: async () => { await Promise.all(servers.map((s) => s.close())); } };
      };
    }
  }
  return out;
}
