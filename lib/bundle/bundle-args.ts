import type * as kplus from 'cdk8s-plus-28';
import type { BundleOptions } from './distributed-service-bundle';
import { CHECKS, isDnsLabel } from '../service/field-checks';

/**
 * The bundle options on a command line (`render`, `client-bundle` and
 * `operator` take the same ones): one parser, so that the commands cannot
 * drift apart. Only the namespace of the shared frps is spelled differently
 * (`--namespace` for render, `--frps-namespace` for the operator, whose
 * `--namespace` picks what it watches).
 * @internal
 */
export class BundleArgs {
  private serverNamespace?: string;
  private subDomainHost?: string;
  private tokenSecret?: string;
  private frpsReplicas?: number;
  private frpsServiceType?: kplus.ServiceType;
  private frpsNodePort?: number;
  private readonly frpsAddresses: string[] = [];
  private readonly clientCidrs: string[] = [];
  private insecureSkipVerify?: boolean;
  private certManagerNamespace?: string;

  /** @param namespaceOption the option that names the shared frps' namespace */
  constructor(private readonly namespaceOption: string) {}

  /**
   * Takes `option` if it is a bundle option, reading its value with `value`;
   * false if it is not one. Throws naming the option on a value that is wrong
   * alone (the checks across options come in `options()`).
   */
  take(option: string, value: () => string): boolean {
    switch (option) {
      case this.namespaceOption: this.serverNamespace = value(); return true;
      case '--subdomain-host': this.subDomainHost = value(); return true;
      case '--token-secret': this.tokenSecret = value(); return true;
      case '--frps-replicas': {
        const v = value();
        if (!/^[1-9]$/.test(v)) throw new Error(`--frps-replicas must be 1 to 9, got ${JSON.stringify(v)}`);
        this.frpsReplicas = Number(v);
        return true;
      }
      case '--frps-service-type': {
        const v = value();
        if (v !== 'LoadBalancer' && v !== 'NodePort') throw new Error(`--frps-service-type must be LoadBalancer or NodePort, got ${JSON.stringify(v)}`);
        this.frpsServiceType = v as kplus.ServiceType;
        return true;
      }
      case '--frps-address': this.frpsAddresses.push(value()); return true;
      case '--frps-node-port': this.frpsNodePort = portOption(option, value()); return true;
      case '--client-cidr': this.clientCidrs.push(value()); return true;
      case '--cert-manager-namespace': this.certManagerNamespace = value(); return true;
      case '--insecure-skip-verify': this.insecureSkipVerify = true; return true;
      default: return false;
    }
  }

  /**
   * The options given (only those: what the bundle defaults stays unset),
   * checked alone and together; throws naming the first option that is wrong.
   */
  options(): BundleOptions {
    const dnsLabel = (option: string, v: string | undefined) => {
      if (v !== undefined && !isDnsLabel(v)) throw new Error(`${option} must be a DNS label, got ${JSON.stringify(v)}`);
    };
    dnsLabel(this.namespaceOption, this.serverNamespace);
    dnsLabel('--cert-manager-namespace', this.certManagerNamespace);
    if (this.certManagerNamespace !== undefined && this.insecureSkipVerify) {
      throw new Error('--cert-manager-namespace is for the CA, which --insecure-skip-verify turns off: give one of them');
    }
    const badHost = this.subDomainHost === undefined ? undefined : CHECKS.domain(this.subDomainHost);
    if (badHost) throw new Error(`--subdomain-host ${badHost}`);
    const badSecret = this.tokenSecret === undefined ? undefined : CHECKS.objectName(this.tokenSecret);
    if (badSecret) throw new Error(`--token-secret ${badSecret}`);
    if ((this.frpsAddresses.length > 0 || this.frpsNodePort !== undefined) && !this.frpsServiceType) {
      throw new Error('--frps-address and --frps-node-port need --frps-service-type (LoadBalancer or NodePort)');
    }
    const given: { -readonly [K in keyof BundleOptions]: BundleOptions[K] } = {
      serverNamespace: this.serverNamespace,
      subDomainHost: this.subDomainHost,
      tokenSecret: this.tokenSecret,
      frpsReplicas: this.frpsReplicas,
      frpsServiceType: this.frpsServiceType,
      frpsAddresses: this.frpsAddresses.length > 0 ? [...this.frpsAddresses] : undefined,
      frpsNodePort: this.frpsNodePort,
      clientCidrs: this.clientCidrs.length > 0 ? [...this.clientCidrs] : undefined,
      insecureSkipVerify: this.insecureSkipVerify,
      certManagerNamespace: this.certManagerNamespace,
    };
    return Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) as BundleOptions;
  }
}

/** The value after `option` at `argv[at]`: refused when missing or another option. @internal */
export function optionValue(argv: readonly string[], at: number, option: string): string {
  const v = argv[at];
  if (v === undefined || v.startsWith('--')) throw new Error(`${option} needs a value`);
  return v;
}

/** A port number option (1-65535). @internal */
export function portOption(option: string, v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > 65535) throw new Error(`${option}: port must be 1-65535, got ${JSON.stringify(v)}`);
  return n;
}
