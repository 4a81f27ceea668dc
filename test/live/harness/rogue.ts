/**
 * A client outside the bundle: one real frpc process, run by the test against a Service of
 * a live cluster, to show who frps lets in (wrong token, a certificate from another CA, no
 * certificate) and, as the control, that the same client with the right credentials does
 * log in. It exits on its first failed login (loginFailExit) and is always stopped.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { stringify } from 'smol-toml';
import { SecretData } from './certs';
import { frpBinary } from '../../helpers/frp-verify';

export interface LoginAttempt {
  readonly server: { host: string; port: number };
  readonly token: string;
  /** Client certificate and key, and the CA to verify frps with. */
  readonly tls?: { cert?: SecretData; ca: Buffer; serverName: string };
  readonly dir: string;
}

export interface LoginResult {
  readonly ok: boolean;
  readonly log: string;
}

/** Runs frpc until it logs in or gives up (at most `timeoutMs`), then stops it. */
export async function tryLogin(a: LoginAttempt, timeoutMs = 15_000): Promise<LoginResult> {
  const dir = fs.mkdtempSync(path.join(a.dir, 'rogue-'));
  const cfg: any = {
    serverAddr: a.server.host,
    serverPort: a.server.port,
    loginFailExit: true,
    log: { to: 'console', level: 'info', disablePrintColor: true },
    auth: { method: 'token', token: a.token },
  };
  if (a.tls) {
    fs.writeFileSync(path.join(dir, 'ca.crt'), a.tls.ca);
    cfg.transport = { tls: { enable: true, trustedCaFile: path.join(dir, 'ca.crt'), serverName: a.tls.serverName } };
    if (a.tls.cert) {
      fs.writeFileSync(path.join(dir, 'tls.crt'), a.tls.cert['tls.crt']);
      fs.writeFileSync(path.join(dir, 'tls.key'), a.tls.cert['tls.key']);
      cfg.transport.tls.certFile = path.join(dir, 'tls.crt');
      cfg.transport.tls.keyFile = path.join(dir, 'tls.key');
    }
  }
  fs.writeFileSync(path.join(dir, 'frpc.toml'), stringify(cfg));
  const proc = spawn(frpBinary('frpc'), ['-c', path.join(dir, 'frpc.toml')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  return new Promise<LoginResult>((resolve) => {
    const finish = (ok: boolean) => {
      clearTimeout(timer);
      proc.removeAllListeners('exit');
      proc.kill('SIGKILL');
      resolve({ ok, log });
    };
    const onData = (d: Buffer) => {
      log += d.toString();
      if (/login to server success/.test(log)) finish(true);
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.on('exit', () => finish(false));
    const timer = setTimeout(() => finish(false), timeoutMs);
  });
}
