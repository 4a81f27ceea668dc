import * as net from 'net';
import { Chart } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { FrpcConfig, FrpClientTlsConfig, renderFrpcToml } from '../frp/client-config';
import { FrpAuthMethod, FrpLogLevel } from '../frp/common';
import { checkPort, invalid } from '../frp/errors';
import { FrpProxy } from '../frp/proxy';
import { ENV } from '../frp-auth';
import { derivedName } from '../k8s/names';
import { FrpServer, issueId, validationErrors } from '../server/frp-server';
import { DistributedService } from '../service/distributed-service';
import { SynthWarnings } from '../synth-warnings';
import { IssuedCertificate } from '../tls/issued-certificate';

const MACHINE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const ABSOLUTE_PATH = /^\/[^\s"'$`\\]*$/;
/** A DNS name as frpc dials it (lower case). */
const DNS_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** Where an external machine's member finds its backend. */
export interface ExternalMemberOptions {
  /**
   * Address of the backend, as the machine reaches it.
   * @default "127.0.0.1"
   */
  readonly localIp?: string;
  /**
   * Port of the backend on the machine.
   * @default - the service's backend port (discovery.port, or its first endpoint's port)
   */
  readonly localPort?: number;
}

/** Properties of an FrpExternalClient. */
export interface FrpExternalClientProps {
  /** The in-cluster frps the machine connects to (usually with `externalAccess`). */
  readonly server: FrpServer;
  /**
   * The machine's name (a DNS label). It is frp's `user`, so the machine's
   * proxies are distinct group members next to the in-cluster pods.
   */
  readonly machine: string;
  /**
   * Address the machine dials: one of the server's `externalAccess.addresses`
   * when frps has a managed certificate (frpc verifies frps by this name).
   * @default - the server's first external address
   */
  readonly serverAddress?: string;
  /**
   * Name frpc checks frps' certificate against (`transport.tls.serverName`):
   * one of the names in the server certificate. Set it when the machine dials an
   * address the certificate does not name, e.g. the LoadBalancer's IP address
   * while the certificate names the DNS name in `externalAccess.addresses`.
   * @default - serverAddress
   */
  readonly serverName?: string;
  /**
   * Port the machine dials (the node port for a NodePort Service).
   * @default - the external Service's node port if set, else the server's bindPort
   */
  readonly serverPort?: number;
  /**
   * Directory on the machine holding frpc.toml, the token, frpc.env and tls/.
   * @default "/etc/frp"
   */
  readonly configDir?: string;
  /**
   * Path of the frpc binary on the machine (frp v0.70.1).
   * @default "/usr/local/bin/frpc"
   */
  readonly frpcPath?: string;
  /**
   * System user the systemd unit runs frpc as (create it; it needs read access to configDir only).
   * @default "frpc"
   */
  readonly systemUser?: string;
  /**
   * Port of frpc's admin API on 127.0.0.1 (`frpc reload`, `frpc status`).
   * @default 7400
   */
  readonly adminPort?: number;
  /**
   * Log level.
   * @default FrpLogLevel.INFO
   */
  readonly logLevel?: FrpLogLevel;
}

/**
 * frpc on one machine outside the cluster (a GPU box behind NAT, say),
 * joining the same load-balancing groups as the in-cluster members: renders
 * its frpc.toml, a systemd unit (restart on failure, `systemctl reload` through
 * `frpc reload` on the 127.0.0.1 admin API) and a script that exports its
 * credentials from the cluster. Its client certificate is a cert-manager
 * Certificate in this construct's chart (when frps has a certificateAuthority);
 * nothing secret is rendered.
 */
export class FrpExternalClient extends Construct {
  /** The machine's name (frp `user`). */
  public readonly machine: string;
  /** Address the machine dials. */
  public readonly serverAddress: string;
  /** Port the machine dials. */
  public readonly serverPort: number;
  /** Directory of the machine's files. */
  public readonly configDir: string;
  /** The machine's client certificate (cert-manager), when frps has a certificateAuthority. */
  public readonly certificate?: IssuedCertificate;
  /** The server. */
  public readonly server: FrpServer;

  private readonly props: FrpExternalClientProps;
  private readonly proxies: FrpProxy[] = [];
  private readonly groupKeys: { secret: kplus.ISecret; key: string; namespace?: string; env: string }[] = [];
  private readonly adminPort: number;
  private readonly tls?: FrpClientTlsConfig;
  private poolCount?: number;
  private dialServerTimeout?: number;
  private dialServerKeepalive?: number;

  constructor(scope: Construct, id: string, props: FrpExternalClientProps) {
    super(scope, id);
    const where = this.node.path;
    if (!props || !props.server) invalid(where, 'server', 'is required (the FrpServer the machine connects to)');
    this.props = props;
    this.server = props.server;
    if (typeof props.machine !== 'string' || !MACHINE.test(props.machine) || props.machine.length > 63) {
      invalid(where, 'machine', `must be a DNS label (lower-case letters, digits and "-"), got ${JSON.stringify(props.machine)}`);
    }
    this.machine = props.machine;
    const server = props.server;
    const address = props.serverAddress ?? server.externalAddresses[0];
    if (address === undefined) {
      invalid(where, 'serverAddress', `is required: the server ${server.node.path} has no externalAccess addresses (give the address the machine dials)`);
    }
    if (!(net.isIP(address) !== 0 || DNS_NAME.test(address))) invalid(where, 'serverAddress', `must be a DNS name or an IP address, got ${JSON.stringify(address)}`);
    this.serverAddress = address;
    this.serverPort = props.serverPort ?? server.externalService?.ports.find(p => p.name === 'control')?.nodePort ?? server.bindPort;
    checkPort(where, 'serverPort', this.serverPort);
    this.configDir = (props.configDir ?? '/etc/frp').replace(/\/+$/, '');
    for (const [f, v] of [['configDir', this.configDir], ['frpcPath', props.frpcPath]] as const) {
      if (v !== undefined && !ABSOLUTE_PATH.test(v)) invalid(where, f, `must be an absolute path without spaces or quotes, got ${JSON.stringify(v)}`);
    }
    if (props.systemUser !== undefined && !/^[a-z_][-a-z0-9_]*$/.test(props.systemUser)) invalid(where, 'systemUser', `must be a user name, got ${JSON.stringify(props.systemUser)}`);
    this.adminPort = props.adminPort ?? 7400;
    checkPort(where, 'adminPort', this.adminPort);

    const ca = server.certificateAuthority;
    const serverName = props.serverName ?? address;
    if (props.serverName !== undefined && !(net.isIP(serverName) !== 0 || DNS_NAME.test(serverName))) {
      invalid(where, 'serverName', `must be a DNS name or an IP address, got ${JSON.stringify(serverName)}`);
    }
    if (props.serverName !== undefined && !ca) {
      invalid(where, 'serverName', `checks the certificate from the server's certificateAuthority, and ${server.node.path} has none`);
    }
    if (ca) {
      const names = [server.host, ...server.externalAddresses];
      if (!names.includes(serverName)) {
        const field = props.serverName === undefined ? 'serverAddress' : 'serverName';
        const fix = props.serverName === undefined ? ', or set serverName to a name it has' : '';
        invalid(where, field, `${serverName} is not in the server certificate (it names ${names.join(', ')}): add it to the server's externalAccess.addresses${fix}`);
      }
      this.certificate = ca.issueClientCertificate(issueId(this), { name: derivedName(this.machine, '-frpc-tls') });
      this.tls = {
        enable: true,
        certFile: `${this.configDir}/tls/tls.crt`,
        keyFile: `${this.configDir}/tls/tls.key`,
        trustedCaFile: `${this.configDir}/tls/ca.crt`,
        serverName,
      };
    } else if (server.requiresClientCertificates) {
      invalid(where, 'server', `${server.node.path} requires client certificates from Secrets it was given (tls): external machines get theirs from a certificateAuthority on the server`);
    } else if (!server.insecureSkipVerify) {
      // frpc always verifies frps: the machine gets the CA with its certificate from the server's authority
      invalid(where, 'server', `${server.node.path} serves a certificate from Secrets it was given (tls), which the machine cannot verify: give the server a certificateAuthority (or insecureSkipVerify: true)`);
    }
    this.node.addValidation({ validate: () => validationErrors(() => this.renderConfig()) });
  }

  /**
   * Makes the machine one more member of a service's group: the same route,
   * group (and key), health check and bandwidth as the in-cluster members,
   * forwarding to a backend on the machine.
   * @param service the service (on this client's server)
   * @param options where the backend is on the machine
   */
  public addService(service: DistributedService, options: ExternalMemberOptions = {}): void {
    const where = this.node.path;
    const field = `services[${JSON.stringify(service?.name)}]`;
    if (!(service instanceof DistributedService)) invalid(where, 'service', 'must be a DistributedService');
    if (service.server !== this.server) invalid(where, field, `runs on ${service.server.node.path}, not on ${this.server.node.path}`);
    const plan = service._plan;
    if (plan.balancer) {
      invalid(where, field, `has a balancer tier (${plan.balancer.reasons.join(', ')}): a member outside the cluster would bypass it`);
    }
    if (!plan.group) {
      invalid(where, field, `is ${plan.proxyType}: frp has no ${plan.proxyType} groups, so a second member would clash on its remote port`);
    }
    if (this.proxies.some(p => p.name === service.name)) invalid(where, field, 'is already served by this machine');
    const pool = service.clientPool.config();
    const template = pool.proxies[0];
    const localIp = options.localIp ?? '127.0.0.1';
    if (!localIp || /\s/.test(localIp)) invalid(where, `${field}.localIp`, `must be a host name or IP, got ${JSON.stringify(localIp)}`);
    const localPort = options.localPort ?? plan.members[0].localPort;
    checkPort(where, `${field}.localPort`, localPort);
    const { metadatas: _m, proxyProtocolVersion: _p, ...rest } = template;
    // each service's group key Secret gets its own env var (FRP_GROUP_KEY_HEX, FRP_GROUP_KEY_2_HEX, ...)
    // holding the hex of the key's bytes, which the in-cluster members compute at frp's template step
    let groupKeyHexEnv: string | undefined;
    const gk = service.clientPool.groupKeySecret;
    if (gk && template.groupKeyEnv) {
      const ns = Chart.of(service.clientPool).namespace;
      let same = this.groupKeys.find(k => k.secret.name === gk.name && k.namespace === ns && k.key === service.clientPool.groupKeySecretKey);
      if (!same) {
        same = { secret: gk, key: service.clientPool.groupKeySecretKey, namespace: ns, env: `${this.groupKeys.length === 0 ? ENV.GROUP_KEY : `${ENV.GROUP_KEY}_${this.groupKeys.length + 1}`}_HEX` };
        this.groupKeys.push(same);
      }
      groupKeyHexEnv = same.env;
    }
    // the machine forwards to one backend: the spec's own check means something
    // here, even where the in-cluster members check a Service address with tcp
    for (const warning of plan.backendHealthCheckWarnings) SynthWarnings.add(this, `${field}: ${warning}`);
    const proxy: FrpProxy = {
      ...rest, name: service.name, localIP: localIp, localPort, groupKeyEnv: undefined, groupKeyHexEnv, healthCheck: plan.backendHealthCheck,
    };
    this.server.registerProxy(this, proxy, { exposeRemotePort: false });
    this.proxies.push(proxy);
    const t = pool.transport ?? {};
    if (t.poolCount !== undefined) this.poolCount = Math.max(this.poolCount ?? 0, t.poolCount);
    this.dialServerTimeout ??= t.dialServerTimeout;
    this.dialServerKeepalive ??= t.dialServerKeepalive;
  }

  /** The machine's frpc.toml. */
  public renderConfig(): string {
    return renderFrpcToml(this.node.path, this.config());
  }

  /** The typed frpc config of the machine. */
  public config(): FrpcConfig {
    const auth = this.server.auth._clientConfig();
    return {
      serverAddr: this.serverAddress,
      serverPort: this.serverPort,
      user: this.machine,
      auth: auth.method === FrpAuthMethod.TOKEN
        ? { method: auth.method, additionalScopes: auth.additionalScopes, tokenFile: `${this.configDir}/token` }
        : auth,
      transport: {
        poolCount: this.poolCount,
        dialServerTimeout: this.dialServerTimeout,
        dialServerKeepalive: this.dialServerKeepalive,
        tls: this.tls,
      },
      webServer: { addr: '127.0.0.1', port: this.adminPort },
      logLevel: this.props.logLevel,
      proxies: this.proxies,
    };
  }

  /** Whether frpc needs the environment file (group key, OIDC client secret). */
  private get needsEnvFile(): boolean {
    return this.groupKeys.length > 0 || this.server.auth.method === FrpAuthMethod.OIDC;
  }

  /** The systemd unit (`/etc/systemd/system/frpc.service`). */
  public renderSystemdUnit(): string {
    const frpc = this.props.frpcPath ?? '/usr/local/bin/frpc';
    const user = this.props.systemUser ?? 'frpc';
    const config = `${this.configDir}/frpc.toml`;
    return [
      '[Unit]',
      `Description=frpc on ${this.machine}: members of ${this.proxies.map(p => p.group).join(', ') || 'no group yet'} via frps ${this.serverAddress}:${this.serverPort}`,
      'Documentation=https://github.com/fatedier/frp',
      'Wants=network-online.target',
      'After=network-online.target',
      '',
      '[Service]',
      'Type=simple',
      `User=${user}`,
      `Group=${user}`,
      ...(this.needsEnvFile ? [`EnvironmentFile=${this.configDir}/frpc.env`] : []),
      `ExecStart=${frpc} -c ${config}`,
      // proxies only: frpc re-reads the file and applies the proxy changes through its
      // admin API on 127.0.0.1; connections of unchanged proxies stay open
      `ExecReload=${frpc} reload -c ${config}`,
      'Restart=on-failure',
      'RestartSec=5s',
      'NoNewPrivileges=yes',
      'ProtectSystem=strict',
      'ProtectHome=yes',
      'PrivateTmp=yes',
      'PrivateDevices=yes',
      'ProtectKernelTunables=yes',
      'ProtectKernelModules=yes',
      'ProtectControlGroups=yes',
      'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX',
      'CapabilityBoundingSet=',
      'LockPersonality=yes',
      `ReadOnlyPaths=${this.configDir}`,
      '',
      '[Install]',
      'WantedBy=multi-user.target',
      '',
    ].join('\n');
  }

  /**
   * A POSIX shell script, run where kubectl reaches the cluster, that writes
   * the machine's credentials (token, group key, certificate) next to
   * frpc.toml; its header says how to install the files on the machine.
   */
  public renderExportScript(): string {
    const dir = this.configDir;
    const serverNs = Chart.of(this.server).namespace ?? 'default';
    // `d=$(data NS SECRET KEY)`: the key's base64 data; the script stops when it is missing or empty
    // (an assignment keeps kubectl's exit status; base64 text has no trailing newline to lose)
    const data = (ns: string | undefined, secret: string, key: string) =>
      `d=$(kubectl -n ${ns ?? 'default'} get secret ${secret} -o jsonpath='{.data.${key.replace(/\./g, '\\.')}}') && [ -n "$d" ] `
      + `|| { echo "export-credentials: Secret ${ns ?? 'default'}/${secret} has no key ${key}, or it is empty" >&2; exit 1; }`;
    const get = (ns: string | undefined, secret: string, key: string, file: string) =>
      [data(ns, secret, key), `printf '%s' "$d" | base64 -d > ${file}`];
    const lines = [
      '#!/bin/sh',
      `# Credentials of the external frpc on ${this.machine}. Run where kubectl reaches the`,
      '# cluster, in the directory holding frpc.toml and frpc.service; it writes the files',
      '# frpc reads, and never prints a secret.',
      '#',
      '# Then, on the machine (as root):',
      `#   install -d -m 0750 -g ${this.props.systemUser ?? 'frpc'} ${dir}${this.tls ? ` ${dir}/tls` : ''}`,
      `#   install -m 0640 -g ${this.props.systemUser ?? 'frpc'} frpc.toml ${this.server.auth.method === FrpAuthMethod.TOKEN ? 'token ' : ''}${this.needsEnvFile ? 'frpc.env ' : ''}${dir}/`,
      ...(this.tls ? [`#   install -m 0640 -g ${this.props.systemUser ?? 'frpc'} tls/tls.crt tls/tls.key tls/ca.crt ${dir}/tls/`] : []),
      '#   install -m 0644 frpc.service /etc/systemd/system/frpc.service',
      '#   systemctl daemon-reload && systemctl enable --now frpc',
      '# After editing the proxies in frpc.toml: systemctl reload frpc (open connections stay).',
      '# After a new certificate or token: run this again, copy, systemctl restart frpc.',
      'set -eu',
      'umask 077',
    ];
    if (this.server.auth.method === FrpAuthMethod.TOKEN) {
      const file = this.server.auth._files()[0];
      lines.push(...get(serverNs, file.secret.name, file.key, 'token'));
    }
    // systemd EnvironmentFile for the {{ .Envs.NAME }} in frpc.toml, byte-exact: a group key as the
    // hex of its bytes (what the in-cluster members' template computes); the OIDC client secret
    // double-quoted, `"`, `\`, `$` and backquote escaped, every other byte as it is (systemd's rules)
    if (this.needsEnvFile) lines.push(': > frpc.env');
    for (const gk of this.groupKeys) {
      lines.push(data(gk.namespace, gk.secret.name, gk.key));
      lines.push(`printf '${gk.env}=%s\\n' "$(printf '%s' "$d" | base64 -d | od -An -v -tx1 | tr -d ' \\n')" >> frpc.env`);
    }
    for (const e of this.server.auth._clientEnv().filter(x => x.name === ENV.OIDC_CLIENT_SECRET)) {
      lines.push(data(serverNs, e.secret.name, e.key));
      lines.push(`{ printf '${e.name}="'; for h in $(printf '%s' "$d" | base64 -d | od -An -v -tx1); do `
        + 'case $h in 22|24|5c|60) printf \'\\\\\';; esac; printf "\\\\$(printf \'%03o\' "0x$h")"; done; printf \'"\\n\'; } >> frpc.env');
    }
    if (this.certificate) {
      const certNs = Chart.of(this.certificate).namespace;
      lines.push('mkdir -p tls');
      lines.push(`kubectl -n ${certNs ?? 'default'} wait --for=condition=Ready certificate/${this.certificate.certificate?.name ?? this.certificate.secret.name} --timeout=120s`);
      lines.push(...get(certNs, this.certificate.secret.name, 'tls.crt', 'tls/tls.crt'));
      lines.push(...get(certNs, this.certificate.secret.name, 'tls.key', 'tls/tls.key'));
      lines.push(...get(certNs, this.certificate.caSecret.name, 'ca.crt', 'tls/ca.crt'));
    }
    return `${lines.join('\n')}\n`;
  }
}
