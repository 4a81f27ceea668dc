/**
 * cert-manager for the live harness: issues every `Certificate` of a bundle with openssl,
 * from the Certificate's own spec (commonName, dnsNames, ipAddresses, usages, isCA,
 * privateKey.algorithm) and its issuer chain (`selfSigned`, or `ca` over a Secret another
 * Certificate fills). The result is the Secret cert-manager would write: tls.crt, tls.key,
 * ca.crt. Issuers the bundle does not define (an external ClusterIssuer) are played by one
 * harness CA per issuer name, so the trust between the sides is still real.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

export type SecretData = Record<string, Buffer>;

interface KeyPair { crt: Buffer; key: Buffer }

const ns = (o: any) => o.metadata?.namespace ?? '';

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function extFile(dir: string, cert: any): string {
  const spec = cert.spec ?? {};
  const lines = ['[v3]'];
  const sans = [...(spec.dnsNames ?? []).map((d: string) => `DNS:${d}`), ...(spec.ipAddresses ?? []).map((i: string) => `IP:${i}`), ...(spec.uris ?? []).map((u: string) => `URI:${u}`)];
  if (sans.length) lines.push(`subjectAltName = ${sans.join(',')}`);
  if (spec.isCA) {
    lines.push('basicConstraints = critical,CA:TRUE', 'keyUsage = critical,keyCertSign,cRLSign,digitalSignature');
  } else {
    lines.push('basicConstraints = critical,CA:FALSE');
    const usages: string[] = spec.usages ?? ['digital signature', 'key encipherment'];
    const ku = usages.map((u) => ({ 'digital signature': 'digitalSignature', 'key encipherment': 'keyEncipherment', 'signing': 'digitalSignature' } as Record<string, string>)[u]).filter(Boolean);
    const eku = usages.map((u) => ({ 'server auth': 'serverAuth', 'client auth': 'clientAuth' } as Record<string, string>)[u]).filter(Boolean);
    if (ku.length) lines.push(`keyUsage = critical,${[...new Set(ku)].join(',')}`);
    if (eku.length) lines.push(`extendedKeyUsage = ${[...new Set(eku)].join(',')}`);
  }
  const file = path.join(dir, 'ext.cnf');
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

function newKey(dir: string, cert: any): void {
  const alg = String(cert.spec?.privateKey?.algorithm ?? 'RSA').toUpperCase();
  if (alg === 'ECDSA') {
    const curve = ({ 384: 'secp384r1', 521: 'secp521r1' } as Record<number, string>)[cert.spec?.privateKey?.size] ?? 'prime256v1';
    openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', `ec_paramgen_curve:${curve}`, '-out', 'tls.key'], dir);
  } else if (alg === 'ED25519') {
    openssl(['genpkey', '-algorithm', 'ED25519', '-out', 'tls.key'], dir);
  } else {
    openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', `rsa_keygen_bits:${cert.spec?.privateKey?.size ?? 2048}`, '-out', 'tls.key'], dir);
  }
}

function subject(cert: any): string {
  const cn = cert.spec?.commonName ?? cert.spec?.dnsNames?.[0] ?? cert.metadata?.name;
  return `/CN=${String(cn).replace(/[/=]/g, '_')}`;
}

/** Issues one certificate: self-signed when `ca` is undefined. */
function issue(work: string, cert: any, ca: KeyPair | undefined): KeyPair {
  const dir = fs.mkdtempSync(path.join(work, 'cert-'));
  newKey(dir, cert);
  const ext = extFile(dir, cert);
  if (!ca) {
    openssl(['req', '-new', '-x509', '-key', 'tls.key', '-subj', subject(cert), '-days', '30', '-config', ext, '-extensions', 'v3', '-out', 'tls.crt'], dir);
  } else {
    fs.writeFileSync(path.join(dir, 'ca.crt'), ca.crt);
    fs.writeFileSync(path.join(dir, 'ca.key'), ca.key);
    fs.writeFileSync(path.join(dir, 'req.cnf'), '[req]\ndistinguished_name = dn\n[dn]\n');
    openssl(['req', '-new', '-key', 'tls.key', '-subj', subject(cert), '-config', 'req.cnf', '-out', 'tls.csr'], dir);
    openssl(['x509', '-req', '-in', 'tls.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '30', '-extfile', ext, '-extensions', 'v3', '-out', 'tls.crt'], dir);
  }
  return { crt: fs.readFileSync(path.join(dir, 'tls.crt')), key: fs.readFileSync(path.join(dir, 'tls.key')) };
}

/**
 * Issues every Certificate in `manifests`. `secrets` holds the Secrets that exist already
 * (fixtures), keyed `namespace/name`; issued ones are added to it. `clusterResourceNamespace`
 * is where ClusterIssuers read their CA Secret (cert-manager's default: cert-manager).
 * Throws naming the Certificate when its issuer cannot be resolved.
 */
export function issueCertificates(manifests: readonly any[], secrets: Map<string, SecretData>, work: string, clusterResourceNamespace = 'cert-manager'): string[] {
  const certs = manifests.filter((o) => o.kind === 'Certificate' && String(o.apiVersion).startsWith('cert-manager.io/'));
  const issuers = manifests.filter((o) => (o.kind === 'Issuer' || o.kind === 'ClusterIssuer') && String(o.apiVersion).startsWith('cert-manager.io/'));
  const external = new Map<string, KeyPair>();
  const issued: string[] = [];
  let pending = [...certs];
  for (let round = 0; pending.length && round < 10; round++) {
    const later: any[] = [];
    for (const cert of pending) {
      const ref = cert.spec?.issuerRef ?? {};
      const kind = ref.kind ?? 'Issuer';
      const issuer = issuers.find((i) => i.kind === kind && i.metadata.name === ref.name && (kind === 'ClusterIssuer' || ns(i) === ns(cert)));
      let ca: KeyPair | undefined;
      if (!issuer) {
        // an issuer outside the bundle: one harness CA per issuer name
        const id = `${kind}/${kind === 'ClusterIssuer' ? '' : ns(cert)}/${ref.name}`;
        if (!external.has(id)) external.set(id, issue(work, { metadata: { name: `external ${ref.name}` }, spec: { isCA: true, commonName: `harness CA for ${id}` } }, undefined));
        ca = external.get(id);
      } else if (issuer.spec?.selfSigned) {
        ca = undefined;
      } else if (issuer.spec?.ca?.secretName) {
        const secretNs = issuer.kind === 'ClusterIssuer' ? clusterResourceNamespace : ns(issuer);
        const s = secrets.get(`${secretNs}/${issuer.spec.ca.secretName}`);
        if (!s) { later.push(cert); continue; }
        ca = { crt: s['tls.crt'], key: s['tls.key'] };
      } else {
        throw new Error(`Certificate ${ns(cert)}/${cert.metadata.name}: the harness cannot play issuer ${issuer.kind}/${issuer.metadata.name} (${Object.keys(issuer.spec ?? {}).join(', ')})`);
      }
      const kp = issue(work, cert, ca);
      secrets.set(`${ns(cert)}/${cert.spec.secretName}`, { 'tls.crt': kp.crt, 'tls.key': kp.key, 'ca.crt': ca ? ca.crt : kp.crt });
      issued.push(`${ns(cert)}/${cert.metadata.name}`);
    }
    pending = later;
  }
  if (pending.length) {
    throw new Error(`cannot issue ${pending.map((c) => `Certificate ${ns(c)}/${c.metadata.name}`).join(', ')}: their CA Issuer's Secret is neither issued by the bundle nor a fixture`);
  }
  return issued;
}

/** A CA of the test's own (a Secret as `kubectl create secret tls` plus ca.crt would hold it). */
export function mintCa(work: string, commonName: string): SecretData {
  const ca = issue(work, { metadata: { name: commonName }, spec: { isCA: true, commonName } }, undefined);
  return { 'tls.crt': ca.crt, 'tls.key': ca.key, 'ca.crt': ca.crt };
}

/** A leaf certificate from `ca` (mintCa) with these usages and DNS names. */
export function mintLeaf(work: string, ca: SecretData, commonName: string, usages: string[], dnsNames?: string[]): SecretData {
  const leaf = issue(work, { metadata: { name: commonName }, spec: { commonName, usages, dnsNames } }, { crt: ca['tls.crt'], key: ca['tls.key'] });
  return { 'tls.crt': leaf.crt, 'tls.key': leaf.key, 'ca.crt': ca['tls.crt'] };
}

/** A client certificate from a CA nobody trusts (for "a certificate from another CA"). */
export function mintStrangerCert(work: string, commonName: string): SecretData {
  return mintLeaf(work, mintCa(work, 'stranger CA'), commonName, ['digital signature', 'key encipherment', 'client auth']);
}
