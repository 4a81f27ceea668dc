/**
 * A tiny authoritative DNS server for the live harness, playing the cluster's DNS:
 * A records for Service names (`svc`, `svc.ns`, `svc.ns.svc`, `svc.ns.svc.cluster.local`),
 * headless Services answer with their ready pods' addresses. Anything else is NXDOMAIN:
 * the harness never resolves or sends anything outside 127.0.0.0/8.
 *
 * The pods' /etc/resolv.conf points here with the kubelet's search list, so Go's
 * resolver (frp), glibc (HAProxy, nginx) and HAProxy's own `resolvers` all use it.
 */
import * as dgram from 'dgram';

/** Answers a name (lower case, no trailing dot) with IPv4 addresses, or undefined (NXDOMAIN). */
export type Lookup = (name: string) => string[] | undefined;

export class DnsServer {
  public static async start(address: string, lookup: Lookup): Promise<DnsServer> {
    const s = new DnsServer(lookup);
    await new Promise<void>((resolve, reject) => {
      s.socket.once('error', reject);
      s.socket.bind(53, address, () => resolve());
    });
    s.socket.unref(); // a test that fails before its cluster starts must not keep jest alive
    return s;
  }

  private readonly socket = dgram.createSocket('udp4');

  private constructor(public lookup: Lookup) {
    this.socket.on('message', (msg, rinfo) => {
      const reply = this.answer(msg);
      if (reply) this.socket.send(reply, rinfo.port, rinfo.address);
    });
  }

  public close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }

  private answer(msg: Buffer): Buffer | undefined {
    if (msg.length < 12) return undefined;
    const qdcount = msg.readUInt16BE(4);
    if (qdcount !== 1) return undefined;
    // question: labels, then qtype and qclass
    let off = 12;
    const labels: string[] = [];
    while (off < msg.length && msg[off] !== 0) {
      const len = msg[off];
      if (len > 63 || off + 1 + len > msg.length) return undefined;
      labels.push(msg.subarray(off + 1, off + 1 + len).toString('latin1'));
      off += 1 + len;
    }
    off += 1;
    if (off + 4 > msg.length) return undefined;
    const qtype = msg.readUInt16BE(off);
    const question = msg.subarray(12, off + 4);
    const name = labels.join('.').toLowerCase();
    const ips = this.lookup(name);
    const answers: Buffer[] = [];
    if (ips && qtype === 1) {
      for (const ip of ips) {
        const rr = Buffer.alloc(16);
        rr.writeUInt16BE(0xc00c, 0); // pointer to the question's name
        rr.writeUInt16BE(1, 2); // A
        rr.writeUInt16BE(1, 4); // IN
        rr.writeUInt32BE(1, 6); // TTL 1 s: pods come and go in the tests
        rr.writeUInt16BE(4, 10);
        ip.split('.').forEach((o, i) => rr.writeUInt8(Number(o), 12 + i));
        answers.push(rr);
      }
    }
    const header = Buffer.alloc(12);
    msg.copy(header, 0, 0, 2); // id
    const rd = msg[2] % 2; // the RD bit, copied
    header[2] = 0x84 + rd; // QR, AA
    header[3] = ips ? 0x00 : 0x03; // NOERROR (also NODATA for AAAA), or NXDOMAIN
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answers.length, 6);
    return Buffer.concat([header, question, ...answers]);
  }
}
