// UDP on one Service address. A flow is one client address:port; its first datagram picks the endpoint, later
// ones follow it, and replies go back out of the Service address so the client sees the address it talked to.
// Flows expire after an idle period, as conntrack's UDP entries do.
import dgram from 'node:dgram';
import type { EndpointPicker } from './endpoint-picker.js';
import type { Endpoint } from './endpoint-selection.js';
import { forwarderAddress, type Forwarder, type ForwarderContext } from './forwarder.js';

interface Flow {
  upstream: dgram.Socket;
  endpoint: Endpoint;
  idle: NodeJS.Timeout;
}

// conntrack's nf_conntrack_udp_timeout_stream: a flow that has seen replies lives this long without traffic.
const FLOW_IDLE_MS = 120_000;

export class UdpForwarder implements Forwarder {
  readonly address: string;
  private readonly flows = new Map<string, Flow>();
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly socket: dgram.Socket,
    public picker: EndpointPicker,
    private readonly ctx: ForwarderContext,
    ip: string,
    port: number,
    private readonly idleMs: number,
  ) {
    this.address = forwarderAddress('UDP', ip, port);
    socket.on('message', (msg, from) => {
      this.forward(msg, from);
    });
  }

  static async listen(ip: string, port: number, picker: EndpointPicker, ctx: ForwarderContext, idleMs = FLOW_IDLE_MS): Promise<UdpForwarder> {
    const socket = dgram.createSocket({ type: 'udp4', reuseAddr: false });
    const forwarder = new UdpForwarder(socket, picker, ctx, ip, port, idleMs);
    await new Promise<void>((resolve, reject) => {
      const failed = (err: Error): void => {
        reject(new Error(`listen ${forwarder.address}: ${err.message}`, { cause: err }));
      };
      socket.once('error', failed);
      socket.bind({ address: ip, port, exclusive: true }, () => {
        socket.off('error', failed);
        resolve();
      });
    });
    socket.on('error', (err) => {
      ctx.log.error({ err, address: forwarder.address }, 'listener failed');
    });
    return forwarder;
  }

  /** UDP has no connections to drain: draining ends every flow at once, as kube-proxy flushes their conntrack entries. */
  drain(): Promise<void> {
    return this.close();
  }

  inFlight(): number {
    return this.flows.size;
  }

  destroy(): Promise<void> {
    return this.close();
  }

  private close(): Promise<void> {
    this.closing ??= new Promise((resolve) => {
      for (const key of [...this.flows.keys()]) this.endFlow(key);
      this.socket.close(() => {
        resolve();
      });
    });
    return this.closing;
  }

  private forward(msg: Buffer, from: dgram.RemoteInfo): void {
    const key = `${from.address}:${from.port}`;
    const flow = this.flows.get(key) ?? this.openFlow(key, from);
    if (!flow) return; // dropped, as a datagram to a port without endpoints is
    flow.idle.refresh();
    flow.upstream.send(msg, flow.endpoint.port, flow.endpoint.ip);
  }

  private openFlow(key: string, from: dgram.RemoteInfo): Flow | undefined {
    const endpoint = this.picker.pick(from.address);
    if (!endpoint) {
      this.ctx.metrics?.connections.inc({ protocol: 'UDP', result: 'no_endpoint' });
      return undefined;
    }
    const upstream = dgram.createSocket('udp4');
    upstream.on('message', (reply, sender) => {
      // Only the endpoint may answer on this flow; anything else reaching the ephemeral port is noise.
      if (sender.address !== endpoint.ip || sender.port !== endpoint.port) return;
      this.flows.get(key)?.idle.refresh();
      this.socket.send(reply, from.port, from.address);
    });
    upstream.on('error', (err) => {
      this.ctx.log.debug({ err, address: this.address, endpoint }, 'udp flow failed');
      this.endFlow(key);
    });
    const idle = setTimeout(() => {
      this.endFlow(key);
    }, this.idleMs);
    idle.unref();
    const flow = { upstream, endpoint, idle };
    this.flows.set(key, flow);
    this.ctx.metrics?.connections.inc({ protocol: 'UDP', result: 'forwarded' });
    this.ctx.metrics?.activeConnections.inc({ protocol: 'UDP' });
    return flow;
  }

  private endFlow(key: string): void {
    const flow = this.flows.get(key);
    if (!flow) return;
    this.flows.delete(key);
    clearTimeout(flow.idle);
    flow.upstream.close();
    this.ctx.metrics?.activeConnections.dec({ protocol: 'UDP' });
  }
}
