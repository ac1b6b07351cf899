// TCP on one Service address: each accepted connection is spliced to a new connection to the chosen endpoint.
// Half-closes pass through (a client that shuts down its sending side still gets the whole reply), and a failure
// on either side resets the other, so clients see what they would see talking to the pod directly. A drained
// forwarder resets what is left once the drain's limits run out, while its address is still there to carry the
// reset to the client: a connection whose address has gone would never hear of its end.
import net from 'node:net';
import type { EndpointPicker } from './endpoint-picker.js';
import { forwarderAddress, type DrainLimits, type Forwarder, type ForwarderContext } from './forwarder.js';
import type { ConnectionResult } from './proxy-metrics.js';
import { resetSocket } from './reset-socket.js';

export class TcpForwarder implements Forwarder {
  readonly address: string;
  private readonly sockets = new Set<net.Socket>();
  /** Each relayed client connection with its connection to the endpoint. */
  private readonly upstreams = new Map<net.Socket, net.Socket>();
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly server: net.Server,
    public picker: EndpointPicker,
    private readonly ctx: ForwarderContext,
    ip: string,
    port: number,
  ) {
    this.address = forwarderAddress('TCP', ip, port);
    server.on('connection', (client) => {
      this.relay(client);
    });
  }

  static async listen(ip: string, port: number, picker: EndpointPicker, ctx: ForwarderContext): Promise<TcpForwarder> {
    const server = net.createServer({ allowHalfOpen: true, noDelay: true });
    const forwarder = new TcpForwarder(server, picker, ctx, ip, port);
    await new Promise<void>((resolve, reject) => {
      const failed = (err: Error): void => {
        reject(new Error(`listen ${forwarder.address}: ${err.message}`, { cause: err }));
      };
      server.once('error', failed);
      server.listen({ host: ip, port, exclusive: true }, () => {
        server.off('error', failed);
        resolve();
      });
    });
    // Later server errors (rare: EMFILE on accept) must not crash the process that hosts the harness.
    server.on('error', (err) => {
      ctx.log.error({ err, address: forwarder.address }, 'listener failed');
    });
    return forwarder;
  }

  drain(limits: DrainLimits): Promise<void> {
    const closed = this.close();
    for (const client of this.upstreams.keys()) this.resetWhenIdle(client, limits.idleMs);
    const cap = setTimeout(() => {
      for (const client of [...this.upstreams.keys()]) this.cut(client);
    }, limits.maxMs);
    void closed.finally(() => {
      clearTimeout(cap);
    });
    return closed;
  }

  inFlight(): number {
    return this.upstreams.size;
  }

  async destroy(): Promise<void> {
    const closed = this.close();
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  private close(): Promise<void> {
    this.closing ??= new Promise((resolve) => {
      // The callback runs once the last relayed connection has closed.
      this.server.close(() => {
        resolve();
      });
    });
    return this.closing;
  }

  // A socket's timeout counts bytes read and written, so a client's covers both directions of its connection.
  private resetWhenIdle(client: net.Socket, idleMs: number): void {
    client.setTimeout(idleMs, () => {
      this.cut(client);
    });
  }

  /** Resets both ends of a relayed connection. */
  private cut(client: net.Socket): void {
    const upstream = this.upstreams.get(client);
    resetSocket(client);
    if (upstream) resetSocket(upstream);
  }

  private relay(client: net.Socket): void {
    const endpoint = this.picker.pick(client.remoteAddress);
    if (!endpoint) {
      // Only between the last endpoint going away and this listener closing; a reset is what kube-proxy's
      // REJECT gives the client too.
      this.count('no_endpoint');
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect({ host: endpoint.ip, port: endpoint.port, allowHalfOpen: true, noDelay: true });
    this.upstreams.set(client, upstream);
    client.once('close', () => this.upstreams.delete(client));
    this.track(client, true);
    this.track(upstream, false);
    let connected = false;
    upstream.once('connect', () => {
      connected = true;
      this.count('forwarded');
    });
    upstream.on('error', (err) => {
      if (!connected) {
        this.count('upstream_failed');
        this.ctx.log.debug({ err, address: this.address, endpoint }, 'could not reach endpoint');
      }
      resetSocket(client);
    });
    client.on('error', () => {
      resetSocket(upstream);
    });
    client.pipe(upstream);
    upstream.pipe(client);
  }

  private track(socket: net.Socket, isClient: boolean): void {
    this.sockets.add(socket);
    if (isClient) this.ctx.metrics?.activeConnections.inc({ protocol: 'TCP' });
    socket.once('close', () => {
      this.sockets.delete(socket);
      if (isClient) this.ctx.metrics?.activeConnections.dec({ protocol: 'TCP' });
    });
  }

  private count(result: ConnectionResult): void {
    this.ctx.metrics?.connections.inc({ protocol: 'TCP', result });
  }
}
