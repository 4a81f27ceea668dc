/**
 * kube-proxy for the live harness: a Service's virtual IP and port forward to its ready
 * endpoints' pod IP and target port, round robin per connection (TCP) or per client
 * flow (UDP). Like kube-proxy's DNAT, the endpoint sees the client's own IP address:
 * the forwarding socket binds the client's address (any 127.0.0.0/8 address is local).
 */
import * as dgram from 'dgram';
import * as net from 'net';

export interface Endpoint {
  readonly ip: string;
  readonly port: number;
}

/** Returns the ready endpoints of one Service port at this moment. */
export type Endpoints = () => Endpoint[];

export interface Forwarder {
  close(): Promise<void>;
}

/**
 * The source address the endpoint sees for a client: its own, or (kube-proxy's SNAT of
 * outside traffic to a NodePort/LoadBalancer Service with externalTrafficPolicy Cluster)
 * the node's.
 */
export type SourceFor = (client: string) => string;

export async function forwardTcp(vip: string, port: number, endpoints: Endpoints, sourceFor: SourceFor = (c) => c): Promise<Forwarder> {
  let next = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const eps = endpoints();
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    if (eps.length === 0) {
      client.destroy(); // no endpoints: kube-proxy rejects
      return;
    }
    const ep = eps[next++ % eps.length];
    const upstream = net.connect({ host: ep.ip, port: ep.port, localAddress: sourceFor(client.remoteAddress?.replace(/^::ffff:/, '') ?? '') });
    sockets.add(upstream);
    upstream.on('close', () => { sockets.delete(upstream); client.destroy(); });
    upstream.on('error', () => upstream.destroy());
    client.on('close', () => upstream.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, vip, () => resolve());
  });
  return {
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

export async function forwardUdp(vip: string, port: number, endpoints: Endpoints, sourceFor: SourceFor = (c) => c): Promise<Forwarder> {
  let next = 0;
  const flows = new Map<string, dgram.Socket>();
  const server = dgram.createSocket('udp4');
  server.on('message', (msg, rinfo) => {
    const key = `${rinfo.address}:${rinfo.port}`;
    let flow = flows.get(key);
    if (!flow) {
      const eps = endpoints();
      if (eps.length === 0) return;
      const ep = eps[next++ % eps.length];
      const s = dgram.createSocket('udp4');
      flow = s;
      flows.set(key, s);
      s.on('message', (reply) => server.send(reply, rinfo.port, rinfo.address));
      s.on('error', () => { flows.delete(key); s.close(); });
      s.bind({ address: sourceFor(rinfo.address), port: 0 }, () => {
        s.connect(ep.port, ep.ip, () => s.send(msg));
      });
      return;
    }
    try { flow.send(msg); } catch { /* not yet connected: the first datagram is queued above */ }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.bind(port, vip, () => resolve());
  });
  return {
    close: async () => {
      for (const s of flows.values()) { try { s.close(); } catch { /* closed */ } }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
