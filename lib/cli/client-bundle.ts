import { chmodSync, mkdirSync, writeFileSync } from 'fs';
import { join } from 'path';
import { stringify } from 'yaml';
import { buildBundle, RenderOptions } from './render';
import { FrpExternalClient } from '../external-client/frp-external-client';
import { SynthWarnings } from '../synth-warnings';

/** The files of one machine's bundle, by name. @internal */
export interface ClientBundleFiles {
  readonly [name: string]: { readonly text: string; readonly mode: number };
}

/**
 * Builds the cluster bundle as `render` does, adds the external machine as
 * one more member of every service in the files, and returns its files.
 * @internal
 */
export function clientBundle(options: RenderOptions, warn: (warning: string) => void = () => {}): ClientBundleFiles {
  const built = buildBundle(options);
  if (options.frpsServiceType === 'LoadBalancer' && options.serverPort !== undefined && options.serverPort !== built.server.bindPort) {
    throw new Error(`--server-address ${options.serverAddress}:${options.serverPort}: the LoadBalancer Service serves frps' control port ${built.server.bindPort}: dial ${options.serverAddress}:${built.server.bindPort}`);
  }
  const client = new FrpExternalClient(built.serverChart, `machine-${options.machine}`, {
    server: built.server,
    machine: options.machine!,
    serverAddress: options.serverAddress,
    serverPort: options.serverPort,
  });
  const errors: string[] = [];
  const locals = { ...options.locals };
  for (const service of built.services) {
    const local = locals[service.name];
    delete locals[service.name];
    try {
      client.addService(service, local ? { localIp: local.host, localPort: local.port } : {});
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  for (const name of Object.keys(locals)) errors.push(`--local ${name}: no service of that name in the given files`);
  if (errors.length > 0) throw new Error(errors.join('\n'));
  // the whole tree is validated as render would (every config checked)
  built.app.synthYaml();
  // the machine's own warnings (its frpc.toml); the cluster's are render's
  for (const w of SynthWarnings.of(client)) warn(`machine ${options.machine}: ${w.slice(client.node.path.length + 2)}`);
  const files: { [name: string]: { text: string; mode: number } } = {
    'frpc.toml': { text: client.renderConfig(), mode: 0o640 },
    'frpc.service': { text: client.renderSystemdUnit(), mode: 0o644 },
    'export-credentials.sh': { text: client.renderExportScript(), mode: 0o755 },
  };
  if (client.certificate?.certificate) {
    files['cluster.yaml'] = { text: stringify(client.certificate.certificate.toJson(), { lineWidth: 0 }), mode: 0o644 };
  }
  return files;
}

/** Runs `client-bundle`: writes the files, lists them on stdout. @internal */
export function clientBundleCommand(options: RenderOptions, out: (s: string) => void, warn: (warning: string) => void = () => {}): number {
  const files = clientBundle(options, warn);
  const dir = options.outputDir ?? options.machine!;
  mkdirSync(dir, { recursive: true });
  for (const [name, f] of Object.entries(files)) {
    const path = join(dir, name);
    writeFileSync(path, f.text);
    chmodSync(path, f.mode);
    out(`${path}\n`);
  }
  return 0;
}
