/**
 * Addresses of a test's own, so that no test can race another for a port.
 *
 * A test that starts a program (frp, HAProxy, nginx, etcd, kube-apiserver) must not let
 * the kernel pick the program's port in advance: a port found free and released is free
 * for anyone, and an outgoing connection of another test (jest runs test files in
 * parallel, and several people run the suite on one machine) can take it before the
 * program binds it (`bind: address already in use`). Instead:
 *
 * - Each user of programs (a test file: `useLoopback()`; a live cluster; a jest run's test
 *   API server) claims a subnet 127.B.0.0/16 of its own, B from 100 to 249, by binding
 *   UDP 127.B.0.53:53 (where the live harness answers DNS). The kernel gives that socket
 *   to one process only and frees it when the process ends, so a crashed run leaves no
 *   stale claim behind.
 * - Its programs listen on fixed ports of addresses in that subnet. Nothing else binds
 *   there: an outgoing connection takes its source address from the route, 127.0.0.1 for
 *   every 127/8 destination, so its ephemeral port is never on 127.B.x.y; and the fixed
 *   ports lie below the kernel's ephemeral range (ip_local_port_range), where no
 *   wildcard-bound socket of another program gets a port by chance. A port some program
 *   listens on for every address (0.0.0.0) is skipped (`ports()` binds each one first).
 * - A program that must listen on 127.0.0.1 (a machine's frpc admin API, which the library
 *   puts there) takes one of the claim's `localhostPorts()`: ports below the ephemeral
 *   range that belong to the claim of B alone.
 */
import * as dgram from 'dgram';
import { readFileSync } from 'fs';
import * as net from 'net';
import { DnsServer } from '../live/harness/dns';

/** A claimed 127.B.0.0/16; closing `dns` releases it. */
export interface Subnet {
  readonly base: number;
  /** The claim: UDP 127.B.0.53:53 (the live harness answers DNS on it; elsewhere it answers NXDOMAIN). */
  readonly dns: DnsServer;
}

const FIRST_BASE = 100;
const BASES = 150;

/** Claims a 127.B.0.0/16 nobody else holds (see the file comment). */
export async function claimSubnet(): Promise<Subnet> {
  const start = Math.floor(Math.random() * BASES);
  for (let i = 0; i < BASES; i++) {
    const base = FIRST_BASE + ((start + i) % BASES);
    try {
      const dns = await DnsServer.start(`127.${base}.0.53`, () => undefined);
      return { base, dns };
    } catch {
      // claimed by another test: try the next
    }
  }
  throw new Error(`no free 127.B.0.0/16 for the tests (every 127.B.0.53:53 from B=${FIRST_BASE} to ${FIRST_BASE + BASES - 1} is taken)`);
}

/** The first port handed out on a claimed address. */
const FIRST_PORT = 20_000;
/** How many 127.0.0.1 ports each claim owns (localhostPort), from LOCALHOST_FIRST + (B - 100) * this. */
const LOCALHOST_PER_CLAIM = 10;
const LOCALHOST_FIRST = 18_000;

/**
 * Port `i` (0 to 9) on 127.0.0.1 of the claim of 127.B.0.0/16: below the ephemeral range,
 * and no other claim's, for a program that must listen on 127.0.0.1.
 */
export function localhostPort(base: number, i = 0): number {
  if (!Number.isInteger(i) || i < 0 || i >= LOCALHOST_PER_CLAIM) throw new Error(`a claim has ${LOCALHOST_PER_CLAIM} ports on 127.0.0.1 (0 to ${LOCALHOST_PER_CLAIM - 1}); asked for number ${i}`);
  return LOCALHOST_FIRST + (base - FIRST_BASE) * LOCALHOST_PER_CLAIM + i;
}

/** The lowest ephemeral port of this kernel (32768 when it cannot be read). */
function ephemeralLow(): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 32_768;
  } catch {
    return 32_768;
  }
}

/** Resolves true when `port` on `host` can be bound now (TCP, or UDP). */
function bindable(host: string, port: number, udp: boolean): Promise<boolean> {
  return new Promise(resolve => {
    if (udp) {
      const s = dgram.createSocket('udp4');
      s.once('error', () => { s.close(); resolve(false); });
      s.bind(port, host, () => s.close(() => resolve(true)));
    } else {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen(port, host, () => s.close(() => resolve(true)));
    }
  });
}

/**
 * A test file's addresses: a claimed subnet, its addresses and fixed ports on them.
 * Create it with `useLoopback()` at the top level of the file.
 */
export class Loopback {
  private subnet?: Subnet;
  private nextPort = FIRST_PORT;
  private nextLocalhost = 0;
  private readonly lastPort = ephemeralLow() - 1;

  /** Claims the subnet (once). */
  public async claim(): Promise<void> {
    this.subnet ??= await claimSubnet();
  }

  /** Releases the subnet. */
  public async release(): Promise<void> {
    await this.subnet?.dns.close();
    this.subnet = undefined;
  }

  /** B of the claimed 127.B.0.0/16. */
  public get base(): number {
    if (!this.subnet) throw new Error('the loopback subnet is not claimed: call useLoopback() at the top level of the test file');
    return this.subnet.base;
  }

  /** The address programs listen on unless a test needs several: 127.B.0.1. */
  public get host(): string {
    return this.ip(0, 1);
  }

  /** 127.B.`c`.`d` (the live harness' layout: 0 programs, 3 test clients, 4 test backends). */
  public ip(c: number, d: number): string {
    return `127.${this.base}.${c}.${d}`;
  }

  /**
   * `n` ports no other test uses, free on every address of the subnet (each call gives new
   * ones, so a port is never reused while a stopped program's connections linger).
   */
  public async ports(n: number, protocol: 'tcp' | 'udp' = 'tcp'): Promise<number[]> {
    const out: number[] = [];
    while (out.length < n) {
      const port = this.nextPort++;
      if (port > this.lastPort) throw new Error(`the test used every port from ${FIRST_PORT} to ${this.lastPort} of its subnet`);
      // a wildcard (0.0.0.0) listener of some other program holds the port on our addresses too
      if (await bindable(this.host, port, protocol === 'udp')) out.push(port);
    }
    return out;
  }

  /** `n` ports on 127.0.0.1 that belong to this claim alone (localhostPort). */
  public localhostPorts(n: number): number[] {
    const first = this.nextLocalhost;
    this.nextLocalhost += n;
    return Array.from({ length: n }, (_, i) => localhostPort(this.base, first + i));
  }
}

/**
 * The test file's Loopback: claimed before its first test, released after its last.
 * Call it at the top level of the file.
 */
export function useLoopback(): Loopback {
  const l = new Loopback();
  beforeAll(() => l.claim());
  afterAll(() => l.release());
  return l;
}
