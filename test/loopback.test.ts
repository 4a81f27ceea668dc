// The port scheme of every test that starts a program (test/helpers/loopback.ts): a claimed
// subnet per user, fixed ports on it that no outgoing connection can take.
import * as dgram from 'dgram';
import { readFileSync } from 'fs';
import * as net from 'net';
import { claimSubnet, localhostPort, Loopback, useLoopback } from './helpers/loopback';

const loopback = useLoopback();
const ephemeralLow = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);

function bindUdp(address: string, port: number): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  return new Promise((resolve, reject) => {
    s.once('error', e => { s.close(); reject(e); });
    s.bind(port, address, () => resolve(s));
  });
}

function listen(host: string, port = 0): Promise<net.Server> {
  const s = net.createServer(c => c.end());
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.listen(port, host, () => resolve(s));
  });
}

const close = (s: net.Server) => new Promise<void>(r => s.close(() => r()));

describe('claims', () => {
  test('a claim is exclusive while held and free again after release; two claims are two subnets', async () => {
    const a = await claimSubnet();
    const b = await claimSubnet();
    try {
      expect(a.base).not.toBe(b.base);
      for (const base of [a.base, b.base, loopback.base]) {
        expect(base).toBeGreaterThanOrEqual(100);
        expect(base).toBeLessThanOrEqual(249);
      }
      // another process (or test) binding the claim address is refused
      await expect(bindUdp(`127.${a.base}.0.53`, 53)).rejects.toThrow(/EADDRINUSE/);
    } finally {
      await b.dns.close();
    }
    await a.dns.close();
    const again = await bindUdp(`127.${a.base}.0.53`, 53);
    again.close();
  });

  test('the file\'s subnet is claimed for its tests', async () => {
    await expect(bindUdp(`127.${loopback.base}.0.53`, 53)).rejects.toThrow(/EADDRINUSE/);
    expect(loopback.host).toBe(`127.${loopback.base}.0.1`);
    expect(loopback.ip(3, 7)).toBe(`127.${loopback.base}.3.7`);
  });

  test('an unclaimed Loopback says how to claim it', () => {
    expect(() => new Loopback().host).toThrow('the loopback subnet is not claimed: call useLoopback() at the top level of the test file');
  });
});

describe('ports', () => {
  test('fixed ports below the kernel\'s ephemeral range, new ones on every call', async () => {
    const first = await loopback.ports(3);
    const more = await loopback.ports(2, 'udp');
    const all = [...first, ...more];
    expect(new Set(all).size).toBe(5);
    for (const p of all) {
      expect(p).toBeGreaterThanOrEqual(20_000);
      expect(p).toBeLessThan(ephemeralLow);
    }
  });

  test('a port something already listens on is skipped', async () => {
    const [p] = await loopback.ports(1);
    const squatter = await listen(loopback.host, p + 1);
    try {
      expect(await loopback.ports(1)).toEqual([p + 2]);
    } finally {
      await close(squatter);
    }
  });

  test('an outgoing connection to the subnet takes its port on 127.0.0.1, never on the subnet\'s addresses', async () => {
    const server = await listen(loopback.host);
    try {
      const socket = net.connect({ host: loopback.host, port: (server.address() as net.AddressInfo).port });
      const local = await new Promise<string | undefined>((resolve, reject) => {
        socket.once('connect', () => resolve(socket.localAddress));
        socket.once('error', reject);
      });
      socket.destroy();
      expect(local).toBe('127.0.0.1');
    } finally {
      await close(server);
    }
  });

  test('each claim has its own ports on 127.0.0.1, below the ephemeral range', () => {
    const ports = [100, 101, 249].flatMap(base => [localhostPort(base, 0), localhostPort(base, 9)]);
    expect(ports).toEqual([18_000, 18_009, 18_010, 18_019, 19_490, 19_499]);
    expect(Math.max(...ports)).toBeLessThan(ephemeralLow);
    expect(loopback.localhostPorts(2)).toEqual([localhostPort(loopback.base, 0), localhostPort(loopback.base, 1)]);
    expect(() => localhostPort(100, 10)).toThrow('a claim has 10 ports on 127.0.0.1 (0 to 9); asked for number 10');
  });
});
