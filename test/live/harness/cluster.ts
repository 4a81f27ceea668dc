/**
 * The live harness: runs a synthesized bundle (the objects a user applies) on 127.0.0.0/8,
 * playing kubelet, kube-proxy, cluster DNS and cert-manager:
 *
 * - every Deployment / StatefulSet / DaemonSet becomes `replicas` pods (a DaemonSet: one,
 *   for one node); each pod has its own loopback address (127.B.2.N) and each container is
 *   a real process: frps / frpc v0.70.1, HAProxy and nginx from Debian, in a private mount
 *   namespace where the pod's volumes (ConfigMaps, Secrets, emptyDirs) appear at their
 *   mountPaths and /etc/resolv.conf points at the harness DNS; it runs as the pod's
 *   runAsUser / runAsGroup;
 * - env comes from `value`, `secretKeyRef`, `configMapKeyRef` and `fieldRef`; commands and
 *   args from the container; Secret values from the test's fixtures (never from the bundle);
 * - cert-manager Certificates are issued with openssl from their own specs (certs.ts);
 * - every Service gets a virtual IP (127.B.1.N) whose ports forward to the ready pods the
 *   selector picks, keeping the client's address (kube-proxy.ts), except that test clients
 *   (outside the cluster, 127.B.3.N) reaching a NodePort or LoadBalancer Service without
 *   `externalTrafficPolicy: Local` arrive from the node's address (127.B.0.1), as
 *   kube-proxy masquerades them; names resolve through
 *   the harness DNS (dns.ts), headless Services to their pods;
 * - init containers run to completion (their command and args, with the pod's volumes)
 *   before the containers start; an emptyDir is one directory shared by the pod's
 *   containers;
 * - readiness probes decide endpoints, as in a cluster; a container that exits is
 *   restarted (restartPolicy Always); deleting a pod runs its containers' preStop exec hooks
 *   (in the container, as the kubelet does) before SIGTERM, and makes its workload create
 *   another with a new name, as a ReplicaSet does.
 *
 * What it changes that a cluster would not, because every pod here shares one network
 * namespace (marked HARNESS-REWRITE in the code): listen addresses. `0.0.0.0`, `::`,
 * `127.0.0.1` and `localhost` in listen and pod-local positions (frp's bindAddr,
 * proxyBindAddr, webServer.addr, an frpc localIP; HAProxy `bind`; nginx `listen`; probe
 * URLs) become the pod's own address, so that two pods can listen on one port as they do
 * in a cluster. Nothing else in a rendered config is touched.
 *
 * Unknown images (the user's own backends) run only when the test maps them to an
 * in-process server (`images`). Backends outside the bundle are `externalPods`: labelled
 * endpoints the bundle's Services can select, or plain addresses its configs name.
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { issueCertificates, SecretData } from './certs';
import { DnsServer } from './dns';
import { Endpoint, forwardTcp, forwardUdp, Forwarder } from './kube-proxy';
import { frpListenOn, haproxyListenOn, nginxListenOn } from './listen-on';
import { frpBinDir } from '../../helpers/frp-verify';
import { claimSubnet, Subnet } from '../../helpers/loopback';

/** A running in-process stand-in for a container (a test backend). */
export interface Closeable { close(): Promise<void> }

/** Starts a test server for a container of an unknown image, listening on `ip`. */
export type ImageRunner = (ctx: { pod: string; ip: string; container: any; env: Record<string, string> }) => Promise<Closeable>;

/** A pod that is not in the bundle: a user backend with labels, at its own address. */
export interface ExternalPod {
  readonly name: string;
  readonly namespace: string;
  readonly labels: Record<string, string>;
  readonly ip: string;
  /** Named container ports, for Services that target a port by name. */
  readonly ports?: Record<string, number>;
  /** Whether the pod is ready now (its readiness probe, as the test plays it). @default - always ready */
  readonly ready?: () => boolean;
}

export interface LiveOptions {
  /** Secret values by `namespace/name`, then key. */
  readonly secrets?: Record<string, Record<string, string | Buffer>>;
  /** In-process servers for the images the harness does not run itself, by image (without tag) or full image. */
  readonly images?: Record<string, ImageRunner>;
  /** Labelled backends outside the bundle that its Services may select. */
  readonly externalPods?: ExternalPod[];
  /** Extra DNS names (e.g. an endpoint host of the spec) and their addresses. */
  readonly hosts?: Record<string, string[]>;
  /** The addresses to use (claimSubnet()); the cluster releases it when it stops. @default - a fresh one */
  readonly subnet?: Subnet;
  /** Namespace of objects without one. @default 'default' */
  readonly defaultNamespace?: string;
  /**
   * Resolve a ClusterIP Service's name to its ready pods' addresses (as a headless one)
   * when each of its ports targets the same port number, so that pods connect to pods
   * directly, as the kernel's DNAT makes it look in a cluster (ready or not). For the data-plane
   * benchmark: the harness's kube-proxy is a userspace forwarder in this process, whose
   * cost a cluster does not have. Services whose ports are renumbered keep their
   * virtual IP.
   * @default false
   */
  readonly directEndpoints?: boolean;
}

interface RunningContainer {
  readonly spec: any;
  proc?: ChildProcess;
  /** When the process last started (readiness `initialDelaySeconds` counts from here). */
  startedAt?: number;
  inproc?: Closeable;
  restarts: number;
  /** The back-off before the next restart (ms); the kubelet's first is short. */
  backOffMs?: number;
  ready: boolean;
  readonly log: string;
}

export interface LivePod {
  readonly name: string;
  readonly namespace: string;
  readonly ip: string;
  readonly workload: any;
  readonly labels: Record<string, string>;
  readonly containers: RunningContainer[];
  deleted: boolean;
  readonly dir: string;
}

export interface LiveService {
  readonly obj: any;
  readonly ip: string;
}

const ns = (o: any, d: string) => o.metadata?.namespace ?? d;
const DEBIAN_STREAM_MODULE = '/usr/lib/nginx/modules/ngx_stream_module.so';
const WORKLOADS = new Set(['Deployment', 'StatefulSet', 'DaemonSet']);
const RFC3339 = () => new Date().toISOString();

/**
 * The test's own 127.B.0.0/16 (test/helpers/loopback.ts): the harness DNS answers on the
 * claim's socket, 127.B.0.53:53. Services get 127.B.1.N, pods 127.B.2.N, test clients
 * 127.B.3.N, test backends 127.B.4.N.
 */
export { claimSubnet };
export type { Subnet };

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `check` every `everyMs` until it returns true or `timeoutMs` passes. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000, everyMs = 200): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

const live = new Set<LiveCluster>();
process.once('exit', () => { for (const c of live) c.killAllSync(); });

export class LiveCluster {
  /** Starts the bundle; on failure everything started is stopped again. */
  public static async start(manifests: readonly any[], options: LiveOptions = {}): Promise<LiveCluster> {
    const subnet = options.subnet ?? await claimSubnet();
    const c = new LiveCluster(manifests, options, subnet);
    live.add(c);
    try {
      await c.boot();
    } catch (e) {
      await c.stop();
      throw e;
    }
    return c;
  }

  public readonly base: number;
  public readonly dnsAddress: string;
  public readonly root: string;
  public readonly pods: LivePod[] = [];
  public readonly services: LiveService[] = [];
  private readonly secrets = new Map<string, SecretData>();
  private readonly forwarders: Forwarder[] = [];
  private dns?: DnsServer;
  private probeTimer?: NodeJS.Timeout;
  private nextPodIp = 1;
  private nextClientIp = 1;
  private podSerial = 0;
  private stopping = false;
  private probing = false;
  private readonly defaultNs: string;
  private readonly binDir: string;

  private constructor(public readonly manifests: readonly any[], private readonly options: LiveOptions, subnet: Subnet) {
    this.base = subnet.base;
    this.dnsAddress = `127.${subnet.base}.0.53`;
    this.dns = subnet.dns;
    this.defaultNs = options.defaultNamespace ?? 'default';
    this.root = fs.mkdtempSync(path.join(os.tmpdir(), 'frp-live-'));
    fs.chmodSync(this.root, 0o755);
    // the pods run as their runAsUser, which cannot read root's Go cache: copy the binaries
    this.binDir = path.join(this.root, 'bin');
    fs.mkdirSync(this.binDir, { mode: 0o755 });
    for (const b of ['frps', 'frpc']) {
      const dst = path.join(this.binDir, b);
      try { fs.linkSync(path.join(frpBinDir(), b), dst); } catch { fs.copyFileSync(path.join(frpBinDir(), b), dst); }
      fs.chmodSync(dst, 0o755);
    }
    for (const [key, data] of Object.entries(options.secrets ?? {})) {
      this.secrets.set(key, Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.isBuffer(v) ? v : Buffer.from(v)])));
    }
  }

  // ------------------------------------------------------------------ queries

  /** An address no pod or Service has, for a test client (so backends can tell clients apart). */
  public clientAddress(): string {
    return `127.${this.base}.3.${this.nextClientIp++}`;
  }

  /** The (one) node's address: what a pod's status.hostIP is, and what kube-proxy masquerades outside clients to. */
  public get nodeAddress(): string {
    return `127.${this.base}.0.1`;
  }

  /** The Service named `name` (in `namespace`, if given). */
  public service(name: string, namespace?: string): LiveService {
    const s = this.services.find((x) => x.obj.metadata.name === name && (namespace === undefined || ns(x.obj, this.defaultNs) === namespace));
    if (!s) throw new Error(`no Service ${namespace ? `${namespace}/` : ''}${name} in the bundle (have: ${this.services.map((x) => x.obj.metadata.name).join(', ')})`);
    return s;
  }

  /** The first Service matching `pred`. */
  public findService(what: string, pred: (svc: any) => boolean): LiveService {
    const s = this.services.find((x) => pred(x.obj));
    if (!s) throw new Error(`no Service ${what} in the bundle`);
    return s;
  }

  /** Address and port of a Service port, by number or name. */
  public address(svc: LiveService, port: number | string): { host: string; port: number } {
    const p = (svc.obj.spec.ports ?? []).find((x: any) => x.port === port || x.name === port);
    if (!p) throw new Error(`Service ${svc.obj.metadata.name} has no port ${port}`);
    return { host: svc.ip, port: p.port };
  }

  /** The live pods of a workload (by name), or of every workload whose pods carry `image`. */
  public podsOf(pred: string | ((pod: LivePod) => boolean)): LivePod[] {
    const f = typeof pred === 'string' ? (p: LivePod) => p.workload.metadata.name === pred : pred;
    return this.pods.filter((p) => !p.deleted && f(p));
  }

  /** Pods running a container whose image contains `image`. */
  public podsWithImage(image: string): LivePod[] {
    return this.podsOf((p) => p.containers.some((c) => String(c.spec.image).includes(image)));
  }

  public isReady(pod: LivePod): boolean {
    return !pod.deleted && pod.containers.every((c) => c.ready);
  }

  /** A Secret's data as the pods see it (a fixture, or issued by the harness cert-manager). */
  public secretData(namespace: string, name: string): SecretData {
    const d = this.secrets.get(`${namespace}/${name}`);
    if (!d) throw new Error(`no Secret ${namespace}/${name} (have: ${[...this.secrets.keys()].join(', ')})`);
    return d;
  }

  /** A container's log so far. */
  public logs(pod: LivePod, container?: string): string {
    return pod.containers.filter((c) => !container || c.spec.name === container).map((c) => {
      try { return fs.readFileSync(c.log, 'utf8'); } catch { return ''; }
    }).join('\n');
  }

  /** Every container log, for a failure message. */
  public allLogs(): string {
    return this.pods.map((p) => p.containers.map((c) => `--- ${p.namespace}/${p.name} ${c.spec.name}${p.deleted ? ' (deleted)' : ''}\n${this.logs(p, c.spec.name).split('\n').slice(-40).join('\n')}`).join('\n')).join('\n');
  }

  /** Waits until every pod of the bundle is ready. */
  public async waitAllReady(timeoutMs = 30_000): Promise<void> {
    await waitFor('every pod ready', () => this.pods.filter((p) => !p.deleted).every((p) => this.isReady(p)), timeoutMs).catch((e) => {
      const notReady = this.pods.filter((p) => !p.deleted && !this.isReady(p)).map((p) => p.name);
      throw new Error(`${e.message}; not ready: ${notReady.join(', ')}\n${this.allLogs()}`);
    });
  }

  // ------------------------------------------------------------------ actions

  /** Deletes a pod; its workload creates a replacement with a new name (a ReplicaSet's job). */
  public async deletePod(pod: LivePod, replace = true): Promise<LivePod | undefined> {
    pod.deleted = true;
    await this.stopPod(pod, true);
    if (!replace) return undefined;
    return this.addPod(pod.workload);
  }

  /** Starts one more pod of a workload, with a new name (a ReplicaSet scaling up, or replacing a pod deleted with `replace` false). */
  public async addPod(workload: any): Promise<LivePod> {
    const fresh = this.createPod(workload);
    await this.startPod(fresh);
    return fresh;
  }

  /**
   * Kills a pod's container process (SIGKILL); the kubelet restarts it after
   * `backOffMs` (default 1 s; a longer one as CrashLoopBackOff gives, to watch the pod down).
   */
  public killContainer(pod: LivePod, name?: string, backOffMs?: number): void {
    for (const c of pod.containers) {
      if ((!name || c.spec.name === name) && c.proc?.pid) {
        c.backOffMs = backOffMs;
        try { process.kill(-c.proc.pid, 'SIGKILL'); } catch { /* gone */ }
      }
    }
  }

  /** Stops everything: processes, forwarders, DNS, files. Safe to call twice. */
  public async stop(): Promise<void> {
    this.stopping = true;
    if (this.probeTimer) clearInterval(this.probeTimer);
    await Promise.all(this.pods.map((p) => this.stopPod(p)));
    await Promise.all(this.forwarders.map((f) => f.close()));
    this.forwarders.length = 0;
    await this.dns?.close();
    this.dns = undefined;
    live.delete(this);
    if (!process.env.FRP_LIVE_KEEP) fs.rmSync(this.root, { recursive: true, force: true });
  }

  /** Last-resort cleanup when the test process exits. */
  public killAllSync(): void {
    for (const p of this.pods) for (const c of p.containers) if (c.proc?.pid) { try { process.kill(-c.proc.pid, 'SIGKILL'); } catch { /* gone */ } }
  }

  // ------------------------------------------------------------------ boot

  private async boot(): Promise<void> {
    issueCertificates(this.manifests, this.secrets, this.root);
    let svcIp = 1;
    for (const o of this.manifests) {
      if (o.kind === 'Service' && o.apiVersion === 'v1') this.services.push({ obj: o, ip: `127.${this.base}.1.${svcIp++}` });
    }
    for (const w of this.manifests.filter((o) => WORKLOADS.has(o.kind))) {
      const replicas = w.kind === 'DaemonSet' ? 1 : (w.spec.replicas ?? 1);
      for (let i = 0; i < replicas; i++) this.createPod(w);
    }
    this.dns!.lookup = (name) => this.resolve(name);
    for (const s of this.services) {
      if (s.obj.spec.clusterIP === 'None') continue; // headless: DNS only
      // as kube-proxy: traffic from outside the cluster (test clients, 127.B.3.N) to a NodePort
      // or LoadBalancer Service is masqueraded to the node's address unless the Service has
      // externalTrafficPolicy Local; pods' own traffic keeps their address
      const outsideFacing = ['NodePort', 'LoadBalancer'].includes(s.obj.spec.type) && s.obj.spec.externalTrafficPolicy !== 'Local';
      const outside = new RegExp(`^127\\.${this.base}\\.3\\.`);
      const sourceFor = (client: string) => (outsideFacing && outside.test(client) ? this.nodeAddress : client);
      for (const p of s.obj.spec.ports ?? []) {
        const eps = () => this.endpoints(s.obj, p);
        this.forwarders.push(p.protocol === 'UDP' ? await forwardUdp(s.ip, p.port, eps, sourceFor) : await forwardTcp(s.ip, p.port, eps, sourceFor));
      }
    }
    for (const p of this.pods) await this.startPod(p);
    this.probeTimer = setInterval(() => { void this.probeAll(); }, 500);
  }

  /** Cluster DNS: Service names, headless Services' pods, the test's extra hosts. */
  private resolve(name: string): string[] | undefined {
    const extra = this.options.hosts?.[name];
    if (extra) return extra;
    const m = /^([a-z0-9-]+)(?:\.([a-z0-9-]+))?(?:\.svc(?:\.cluster\.local)?)?$/.exec(name);
    if (!m) return undefined;
    const [, svcName, svcNs] = m;
    const svc = this.services.find((s) => s.obj.metadata.name === svcName && ns(s.obj, this.defaultNs) === (svcNs ?? this.defaultNs));
    if (!svc) return undefined;
    if (svc.obj.spec.clusterIP === 'None') {
      const port = svc.obj.spec.ports?.[0];
      return port ? [...new Set(this.endpoints(svc.obj, port).map((e) => e.ip))] : [];
    }
    if (this.options.directEndpoints) {
      // every pod, ready or not: a client resolves once and keeps its connection, so it
      // must not be left with the virtual IP while the pods are still starting
      const all = { ...svc.obj, spec: { ...svc.obj.spec, publishNotReadyAddresses: true } };
      const ports: any[] = svc.obj.spec.ports ?? [];
      const eps = ports.map((p) => this.endpoints(all, p));
      if (ports.length > 0 && eps.every((e, i) => e.every((x) => x.port === ports[i].port))) return [...new Set(eps[0].map((e) => e.ip))];
    }
    return [svc.ip];
  }

  /** The ready endpoints (pod address and target port) behind a Service port, as kube-proxy sees them now. */
  public endpointsOf(svc: LiveService, port: number | string): Endpoint[] {
    const p = (svc.obj.spec.ports ?? []).find((x: any) => x.port === port || x.name === port);
    if (!p) throw new Error(`Service ${svc.obj.metadata.name} has no port ${port}`);
    return this.endpoints(svc.obj, p);
  }

  /** Ready endpoints of a Service port: bundle pods and external pods its selector matches. */
  private endpoints(svc: any, port: any): Endpoint[] {
    const sel: Record<string, string> = svc.spec.selector ?? {};
    if (Object.keys(sel).length === 0) return [];
    const matches = (labels: Record<string, string>) => Object.entries(sel).every(([k, v]) => labels[k] === v);
    const svcNs = ns(svc, this.defaultNs);
    const out: Endpoint[] = [];
    for (const p of this.pods) {
      // as kube-proxy: unready pods only with publishNotReadyAddresses
      if (p.deleted || p.namespace !== svcNs || !matches(p.labels) || (!this.isReady(p) && !svc.spec.publishNotReadyAddresses)) continue;
      const target = this.targetPort(p, port);
      if (target !== undefined) out.push({ ip: p.ip, port: target });
    }
    for (const e of this.options.externalPods ?? []) {
      if (e.namespace !== svcNs || !matches(e.labels) || (e.ready && !e.ready() && !svc.spec.publishNotReadyAddresses)) continue;
      const t = port.targetPort ?? port.port;
      const target = typeof t === 'number' ? t : e.ports?.[t];
      if (target !== undefined) out.push({ ip: e.ip, port: target });
    }
    return out;
  }

  private targetPort(pod: LivePod, port: any): number | undefined {
    const t = port.targetPort ?? port.port;
    if (typeof t === 'number') return t;
    for (const c of pod.containers) for (const cp of c.spec.ports ?? []) if (cp.name === t) return cp.containerPort;
    return undefined;
  }

  // ------------------------------------------------------------------ pods

  private createPod(w: any): LivePod {
    const namespace = ns(w, this.defaultNs);
    const serial = this.podSerial++;
    const name = w.kind === 'StatefulSet'
      ? `${w.metadata.name}-${this.pods.filter((p) => p.workload === w).length}`
      : `${w.metadata.name}-7c9d8b6f5-${serial.toString(36).padStart(5, 'x')}`;
    const ip = `127.${this.base}.2.${this.nextPodIp++}`;
    const dir = path.join(this.root, `pod-${serial}`);
    fs.mkdirSync(dir, { mode: 0o755 });
    const tpl = w.spec.template;
    const pod: LivePod = {
      name,
      namespace,
      ip,
      workload: w,
      dir,
      deleted: false,
      // as the StatefulSet controller: each pod carries its own name as a label
      labels: w.kind === 'StatefulSet' ? { ...tpl.metadata?.labels, 'statefulset.kubernetes.io/pod-name': name } : tpl.metadata?.labels ?? {},
      containers: (tpl.spec.containers ?? []).map((c: any) => ({ spec: c, restarts: 0, ready: false, log: path.join(dir, `${c.name}.log`) })),
    };
    this.pods.push(pod);
    return pod;
  }

  /** Secret or ConfigMap data as files, honouring `items`. */
  private volumeFiles(pod: LivePod, v: any): Map<string, Buffer> | undefined {
    const files = new Map<string, Buffer>();
    const addAll = (data: Record<string, Buffer>, items: any[] | undefined) => {
      if (items) for (const it of items) { if (data[it.key] !== undefined) files.set(it.path, data[it.key]); }
      else for (const [k, val] of Object.entries(data)) files.set(k, val);
    };
    const source = (src: any, kind: 'configMap' | 'secret') => {
      const name = kind === 'configMap' ? src.name : src.secretName ?? src.name;
      const data = kind === 'configMap' ? this.configMapData(pod.namespace, name) : this.secrets.get(`${pod.namespace}/${name}`);
      if (!data) {
        if (src.optional) return;
        throw new Error(`pod ${pod.namespace}/${pod.name}: ${kind} ${name} is neither in the bundle nor a fixture (the pod would not start)`);
      }
      if (src.items) {
        for (const it of src.items) {
          if (data[it.key] === undefined && !src.optional) throw new Error(`pod ${pod.namespace}/${pod.name}: ${kind} ${name} has no key ${it.key} (the pod would not start)`);
        }
      }
      addAll(data, src.items);
    };
    if (v.configMap) source(v.configMap, 'configMap');
    else if (v.secret) source(v.secret, 'secret');
    else if (v.projected) for (const s of v.projected.sources ?? []) { if (s.configMap) source(s.configMap, 'configMap'); if (s.secret) source(s.secret, 'secret'); }
    else if (v.emptyDir) return files;
    else return undefined;
    return files;
  }

  private configMapData(namespace: string, name: string): Record<string, Buffer> | undefined {
    const cm = this.manifests.find((o) => o.kind === 'ConfigMap' && o.metadata.name === name && ns(o, this.defaultNs) === namespace);
    if (!cm) return undefined;
    return Object.fromEntries([
      ...Object.entries<string>(cm.data ?? {}).map(([k, val]) => [k, Buffer.from(val)] as const),
      ...Object.entries<string>(cm.binaryData ?? {}).map(([k, val]) => [k, Buffer.from(val, 'base64')] as const),
    ]);
  }

  private envOf(pod: LivePod, c: any): Record<string, string> {
    const env: Record<string, string> = {};
    const field = (p: string) => ({
      'metadata.name': pod.name,
      'metadata.namespace': pod.namespace,
      'status.podIP': pod.ip,
      'spec.nodeName': 'harness-node',
      'status.hostIP': this.nodeAddress,
      'spec.serviceAccountName': 'default',
    } as Record<string, string>)[p];
    for (const from of c.envFrom ?? []) {
      const data = from.configMapRef ? this.configMapData(pod.namespace, from.configMapRef.name) : from.secretRef ? this.secrets.get(`${pod.namespace}/${from.secretRef.name}`) : undefined;
      for (const [k, v] of Object.entries(data ?? {})) env[`${from.prefix ?? ''}${k}`] = v.toString();
    }
    for (const e of c.env ?? []) {
      if (e.value !== undefined) {env[e.name] = String(e.value).replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, n) => env[n] ?? m);} else if (e.valueFrom?.fieldRef) {env[e.name] = field(e.valueFrom.fieldRef.fieldPath) ?? '';} else if (e.valueFrom?.secretKeyRef || e.valueFrom?.configMapKeyRef) {
        const r = e.valueFrom.secretKeyRef ?? e.valueFrom.configMapKeyRef;
        const data = e.valueFrom.secretKeyRef ? this.secrets.get(`${pod.namespace}/${r.name}`) : this.configMapData(pod.namespace, r.name);
        const val = data?.[r.key];
        if (val === undefined) {
          if (r.optional) continue;
          throw new Error(`pod ${pod.namespace}/${pod.name} container ${c.name}: env ${e.name} needs ${e.valueFrom.secretKeyRef ? 'Secret' : 'ConfigMap'} ${r.name} key ${r.key}, which is neither in the bundle nor a fixture`);
        }
        env[e.name] = val.toString();
      }
    }
    return env;
  }

  /** HARNESS-REWRITE: pod-local and wildcard listen addresses become the pod's own address. */
  private rewriteFile(pod: LivePod, file: string, content: Buffer): Buffer {
    const text = content.toString('utf8');
    if (/\.toml$/.test(file)) {
      const frp = frpListenOn(text, pod.ip);
      if (frp !== undefined) return Buffer.from(frp);
    }
    if (/haproxy\.cfg$/.test(file)) {
      return Buffer.from(haproxyListenOn(text, pod.ip));
    }
    if (/nginx.*\.conf$|\.conf$/.test(file) && /\blisten\s/.test(text)) {
      let conf = nginxListenOn(text, pod.ip);
      // HARNESS-REWRITE: the official nginx image has the stream module built in; Debian's
      // nginx (which plays it here) loads it as a dynamic module
      if (/^\s*stream\s*\{/m.test(conf) && !/load_module\s+\S*ngx_stream_module/.test(conf) && fs.existsSync(DEBIAN_STREAM_MODULE)) {
        conf = `load_module ${DEBIAN_STREAM_MODULE};\n${conf}`;
      }
      return Buffer.from(conf);
    }
    return content;
  }

  /**
   * Writes the pod's volumes into overlay upper dirs, one per top-level directory; an
   * emptyDir is a directory of the pod, bind-mounted where each container mounts it.
   */
  private materialize(pod: LivePod, c: any, binds: [string, string][] = []): string[] {
    const spec = pod.workload.spec.template.spec;
    const uppers = new Map<string, string>();
    const upperFor = (mountPath: string) => {
      const top = `/${mountPath.split('/').filter(Boolean)[0]}`;
      if (!fs.existsSync(top)) throw new Error(`pod ${pod.name}: the harness overlays existing top-level directories only; ${mountPath} is under ${top}, which this machine lacks`);
      if (!uppers.has(top)) {
        const u = path.join(pod.dir, c.name, 'upper', top.slice(1));
        fs.mkdirSync(u, { recursive: true, mode: 0o755 });
        fs.mkdirSync(path.join(pod.dir, c.name, 'work', top.slice(1)), { recursive: true });
        uppers.set(top, u);
      }
      return path.join(uppers.get(top)!, path.relative(top, mountPath));
    };
    const write = (dst: string, data: Buffer, mode: number) => {
      fs.mkdirSync(path.dirname(dst), { recursive: true, mode: 0o755 });
      fs.writeFileSync(dst, data, { mode });
      fs.chmodSync(dst, mode);
    };
    for (const m of c.volumeMounts ?? []) {
      const v = (spec.volumes ?? []).find((x: any) => x.name === m.name);
      if (!v) throw new Error(`pod ${pod.name} container ${c.name}: volumeMount ${m.name} has no volume (the pod would not start)`);
      const files = this.volumeFiles(pod, v);
      if (!files) throw new Error(`pod ${pod.name}: the harness cannot play volume ${v.name} (${Object.keys(v).join(', ')})`);
      const dst = upperFor(m.mountPath);
      // the pod's user reads its volumes (the kubelet gives them the pod's fsGroup)
      const mode = 0o644;
      if (v.emptyDir) {
        fs.mkdirSync(dst, { recursive: true, mode: 0o777 });
        fs.chmodSync(dst, 0o777);
        const shared = path.join(pod.dir, 'empty-dirs', v.name);
        if (!fs.existsSync(shared)) { fs.mkdirSync(shared, { recursive: true, mode: 0o777 }); fs.chmodSync(shared, 0o777); }
        binds.push([shared, m.mountPath]);
        continue;
      }
      fs.mkdirSync(dst, { recursive: true, mode: 0o755 });
      if (m.subPath) {
        const data = files.get(m.subPath);
        if (data === undefined) throw new Error(`pod ${pod.name}: subPath ${m.subPath} of volume ${v.name} does not exist`);
        fs.rmSync(dst, { recursive: true, force: true });
        write(dst, this.rewriteFile(pod, m.subPath, data), mode);
      } else {
        for (const [k, data] of files) write(path.join(dst, k), this.rewriteFile(pod, k, data), mode);
      }
    }
    // cluster DNS and the pod's own name, as the kubelet writes them
    const etc = upperFor('/etc/resolv.conf');
    fs.mkdirSync(path.dirname(etc), { recursive: true });
    fs.rmSync(etc, { force: true });
    fs.writeFileSync(etc, `nameserver ${this.dnsAddress}\nsearch ${pod.namespace}.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n`, { mode: 0o644 });
    const hosts = path.join(path.dirname(etc), 'hosts');
    fs.rmSync(hosts, { force: true });
    fs.writeFileSync(hosts, `127.0.0.1\tlocalhost\n${pod.ip}\t${pod.name}\n`, { mode: 0o644 });
    return [...uppers.entries()].map(([top, upper]) => `${top}=${upper}`);
  }

  private binaryFor(c: any, ip: string): string[] | undefined {
    const image = String(c.image);
    const cmd: string[] = c.command ?? [];
    const args: string[] = c.args ?? [];
    if (/(^|\/)frps:/.test(image)) return [path.join(this.binDir, 'frps'), ...(cmd.length ? cmd.slice(1) : []), ...args];
    if (/(^|\/)frpc:/.test(image)) return [path.join(this.binDir, 'frpc'), ...(cmd.length ? cmd.slice(1) : []), ...args];
    if (/(^|\/)haproxy:/.test(image)) return cmd.length ? [...cmd, ...args] : ['haproxy', '-f', '/usr/local/etc/haproxy/haproxy.cfg', ...args];
    if (/(^|\/)nginx-prometheus-exporter:/.test(image)) {
      // Debian's prometheus-nginx-exporter plays the image; HARNESS-REWRITE: its scrape and
      // listen addresses are pod-local in a cluster
      return ['prometheus-nginx-exporter', ...args.map((a) => a.replace(/127\.0\.0\.1|localhost/g, ip).replace(/^(--?web\.listen-address=):/, `$1${ip}:`))];
    }
    if (/(^|\/)nginx(-unprivileged)?:/.test(image)) return cmd.length ? [...cmd, ...args] : ['nginx', '-g', 'daemon off;', ...args];
    return undefined;
  }

  private async startPod(pod: LivePod): Promise<void> {
    for (const init of pod.workload.spec.template.spec.initContainers ?? []) await this.runInitContainer(pod, init);
    for (const c of pod.containers) await this.startContainer(pod, c);
  }

  /** The mount namespace script: overlays over the top-level directories, then the emptyDirs. */
  private mountScript(pod: LivePod, name: string, overlays: string[], binds: [string, string][]): string {
    const mounts = overlays.map((o, i) => {
      const [top, upper] = o.split('=');
      const work = path.join(pod.dir, name, 'work', top.slice(1));
      return `mount -t overlay ov${i} -o lowerdir=${top},upperdir=${upper},workdir=${work} ${top} || exit 97`;
    });
    for (const [src, dst] of binds) mounts.push(`mount --bind ${src} ${dst} || exit 97`);
    return `${mounts.join('\n')}\ncd /\nexec "$@"`;
  }

  /**
   * An init container: its command and args (a shell script in the image) run once, to
   * completion, with the pod's volumes; a failure fails the pod (as a crash loop would).
   */
  private async runInitContainer(pod: LivePod, c: any): Promise<void> {
    const argv: string[] = [...(c.command ?? []), ...(c.args ?? [])];
    if (!['sh', '/bin/sh'].includes(argv[0])) throw new Error(`pod ${pod.name} init container ${c.name}: the harness runs shell init containers only, got ${JSON.stringify(argv)}`);
    const binds: [string, string][] = [];
    const overlays = this.materialize(pod, c, binds);
    const priv = runAs(pod, c);
    const log = path.join(pod.dir, `${c.name}.log`);
    const out = fs.openSync(log, 'a');
    const proc = spawn('unshare', ['-m', '--propagation', 'private', '--', 'sh', '-c', this.mountScript(pod, c.name, overlays, binds), 'sh', ...priv, ...argv], {
      env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOSTNAME: pod.name, ...this.envOf(pod, c) },
      stdio: ['ignore', out, out],
    });
    fs.closeSync(out);
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => { proc.kill('SIGKILL'); }, 30_000);
      proc.on('exit', (exitCode) => { clearTimeout(timer); resolve(exitCode); });
    });
    if (code !== 0) throw new Error(`pod ${pod.namespace}/${pod.name} init container ${c.name} exited ${code}:\n${fs.readFileSync(log, 'utf8')}`);
  }

  private runnerFor(image: string): ImageRunner | undefined {
    const imgs = this.options.images ?? {};
    return imgs[image] ?? imgs[image.replace(/[:@].*$/, '')];
  }

  private async startContainer(pod: LivePod, c: RunningContainer): Promise<void> {
    if (this.stopping || pod.deleted) return;
    const env = this.envOf(pod, c.spec);
    const argv = this.binaryFor(c.spec, pod.ip);
    if (!argv) {
      const runner = this.runnerFor(String(c.spec.image));
      if (!runner) throw new Error(`pod ${pod.name} container ${c.spec.name}: image ${c.spec.image} is not one the harness runs; map it to a test server in options.images`);
      c.inproc = await runner({ pod: pod.name, ip: pod.ip, container: c.spec, env });
      c.ready = true;
      return;
    }
    const binds: [string, string][] = [];
    const overlays = this.materialize(pod, c.spec, binds);
    const priv = runAs(pod, c.spec);
    const script = this.mountScript(pod, c.spec.name, overlays, binds);
    const out = fs.openSync(c.log, 'a');
    fs.chmodSync(c.log, 0o666); // the pod's user may reopen /dev/stdout (nginx does)
    fs.writeSync(out, `${RFC3339()} harness: start ${argv.join(' ')}\n`);
    const proc = spawn('unshare', ['-m', '--propagation', 'private', '--', 'sh', '-c', script, 'sh', ...priv, ...argv], {
      env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOSTNAME: pod.name, ...env },
      stdio: ['ignore', out, out],
      detached: true,
    });
    fs.closeSync(out);
    c.proc = proc;
    c.startedAt = Date.now();
    proc.on('exit', (code, signal) => {
      fs.appendFileSync(c.log, `${RFC3339()} harness: exited code=${code} signal=${signal}\n`);
      c.ready = false;
      if (c.proc === proc) c.proc = undefined;
      if (this.stopping || pod.deleted || c.restarts >= 20) return;
      c.restarts++;
      // restartPolicy Always, with a short back-off unless the test chose one
      const backOff = c.backOffMs ?? 1000;
      c.backOffMs = undefined;
      setTimeout(() => { void this.startContainer(pod, c).catch(() => undefined); }, backOff);
    });
  }

  /**
   * Stops a pod's containers as the kubelet does: (when the pod is deleted, not when the
   * harness stops) each container's preStop exec hook first, then SIGTERM, SIGKILL 3 s later.
   */
  private async stopPod(pod: LivePod, hooks = false): Promise<void> {
    await Promise.all(pod.containers.map(async (c) => {
      c.ready = false;
      if (c.inproc) { await c.inproc.close(); c.inproc = undefined; }
      if (hooks) await this.runPreStop(pod, c);
      const proc = c.proc;
      if (!proc?.pid) return;
      const gone = new Promise<void>((r) => proc.once('exit', () => r()));
      try { process.kill(-proc.pid, 'SIGTERM'); } catch { return; }
      const t = setTimeout(() => { try { process.kill(-proc.pid!, 'SIGKILL'); } catch { /* gone */ } }, 3000);
      await gone;
      clearTimeout(t);
    }));
  }

  /**
   * A container's preStop exec hook, as the kubelet runs it: in the container (its mount
   * namespace, user and env), bounded by the pod's terminationGracePeriodSeconds (default
   * 30). The images' binaries on PATH (frpc, frps) are the harness's. A failed hook is
   * logged and the container stopped anyway (the kubelet records FailedPreStopHook).
   */
  private async runPreStop(pod: LivePod, c: RunningContainer): Promise<void> {
    const hook = c.spec.lifecycle?.preStop;
    const pid = c.proc?.pid;
    if (!hook || !pid) return;
    const cmd: string[] | undefined = hook.exec?.command;
    if (!cmd?.length) throw new Error(`pod ${pod.name} container ${c.spec.name}: the harness runs exec preStop hooks only, got ${JSON.stringify(hook)}`);
    const priv = runAs(pod, c.spec);
    const grace = (pod.workload.spec.template.spec.terminationGracePeriodSeconds ?? 30) * 1000;
    const out = fs.openSync(c.log, 'a');
    fs.writeSync(out, `${RFC3339()} harness: preStop ${JSON.stringify(cmd)}\n`);
    const proc = spawn('nsenter', ['-t', String(pid), '-m', '--', ...priv, ...cmd], {
      env: { PATH: `${this.binDir}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`, HOSTNAME: pod.name, ...this.envOf(pod, c.spec) },
      stdio: ['ignore', out, out],
    });
    fs.closeSync(out);
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => { proc.kill('SIGKILL'); }, grace);
      proc.on('error', () => { clearTimeout(timer); resolve(-1); });
      proc.on('exit', (exitCode) => { clearTimeout(timer); resolve(exitCode); });
    });
    fs.appendFileSync(c.log, `${RFC3339()} harness: preStop exited ${code}\n`);
  }

  // ------------------------------------------------------------------ probes

  private async probeAll(): Promise<void> {
    if (this.probing || this.stopping) return;
    this.probing = true;
    try {
      await Promise.all(this.pods.filter((p) => !p.deleted).flatMap((p) => p.containers.map(async (c) => {
        if (c.inproc) { c.ready = true; return; }
        if (!c.proc) { c.ready = false; return; }
        const probe = c.spec.readinessProbe;
        // as the kubelet: no readiness probe before initialDelaySeconds after the container started
        if (probe?.initialDelaySeconds && Date.now() < (c.startedAt ?? 0) + probe.initialDelaySeconds * 1000) { c.ready = false; return; }
        c.ready = probe ? await this.runProbe(p, probe) : true;
      })));
    } finally {
      this.probing = false;
    }
  }

  private async runProbe(pod: LivePod, probe: any): Promise<boolean> {
    const timeout = (probe.timeoutSeconds ?? 1) * 1000;
    if (probe.httpGet) {
      return httpOk(pod.ip, portOf(pod, probe.httpGet.port), probe.httpGet.path ?? '/', timeout);
    }
    if (probe.tcpSocket) return tcpOk(pod.ip, portOf(pod, probe.tcpSocket.port), timeout);
    if (probe.exec) {
      const cmd: string[] = probe.exec.command ?? [];
      const url = cmd.find((a) => /^https?:\/\//.test(a));
      if (cmd[0] === 'wget' && url) {
        // HARNESS-REWRITE: the probe runs in the pod's network namespace, where 127.0.0.1 is the pod
        const u = new URL(url);
        return httpOk(local(u.hostname) ? pod.ip : u.hostname, Number(u.port || 80), `${u.pathname}${u.search}`, timeout);
      }
      throw new Error(`pod ${pod.name}: the harness cannot run exec probe ${JSON.stringify(cmd)}`);
    }
    return true;

    function local(h: string) { return h === '127.0.0.1' || h === 'localhost' || h === '0.0.0.0'; }
  }
}

/** The setpriv prefix that runs a container's command as its runAsUser / runAsGroup (as the pod's securityContext merged with its own says). */
function runAs(pod: LivePod, c: any): string[] {
  const sc = { ...(pod.workload.spec.template.spec.securityContext ?? {}), ...(c.securityContext ?? {}) };
  return sc.runAsUser !== undefined ? ['setpriv', `--reuid=${sc.runAsUser}`, `--regid=${sc.runAsGroup ?? sc.runAsUser}`, '--clear-groups', '--'] : [];
}

function portOf(pod: LivePod, port: number | string): number {
  if (typeof port === 'number') return port;
  for (const c of pod.containers) for (const cp of c.spec.ports ?? []) if (cp.name === port) return cp.containerPort;
  throw new Error(`pod ${pod.name}: no container port named ${port}`);
}

function httpOk(host: string, port: number, pathname: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ host, port, path: pathname, timeout: timeoutMs }, (res) => {
      res.resume();
      resolve((res.statusCode ?? 500) >= 200 && (res.statusCode ?? 500) < 400);
    });
    req.on('timeout', () => { req.destroy(); resolve(false); });
    req.on('error', () => resolve(false));
  });
}

/** Whether a TCP connection to host:port opens within the timeout. */
export function tcpOk(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port, timeout: timeoutMs });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('timeout', () => { s.destroy(); resolve(false); });
    s.once('error', () => resolve(false));
  });
}
