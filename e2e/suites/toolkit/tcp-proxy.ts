// A TCP proxy in front of the apiserver that a test can cut (connections reset and refused) or blackhole
// (connections stay open but nothing passes), to produce the network failures an informer must survive
// without touching the apiserver itself. TLS passes through untouched: the serving certificate names 127.0.0.1.
import { once } from 'node:events';
import net from 'node:net';

export type ProxyMode = 'open' | 'cut' | 'blackhole';

export class TcpProxy {
  private mode: ProxyMode = 'open';
  private readonly pairs = new Set<{ client: net.Socket; upstream: net.Socket | undefined }>();
  private readonly server: net.Server;

  private constructor(private readonly target: { host: string; port: number }) {
    this.server = net.createServer((client) => {
      this.accept(client);
    });
  }

  static async start(targetUrl: string): Promise<TcpProxy> {
    const url = new URL(targetUrl);
    const proxy = new TcpProxy({ host: url.hostname, port: Number(url.port) });
    proxy.server.listen(0, '127.0.0.1');
    await once(proxy.server, 'listening');
    return proxy;
  }

  /** https://127.0.0.1:<port>, to put in a kubeconfig instead of the apiserver's address. */
  get url(): string {
    const { port } = this.server.address() as net.AddressInfo;
    return `https://127.0.0.1:${port}`;
  }

  /** Resets every connection and refuses new ones, like an apiserver that went away. */
  cut(): void {
    this.mode = 'cut';
    this.destroyAll();
  }

  /** Keeps connections open but passes nothing either way, like a stalled load balancer. */
  blackhole(): void {
    this.mode = 'blackhole';
  }

  /** Forwards again; connections stalled by the blackhole are reset so clients reconnect. */
  open(): void {
    if (this.mode === 'blackhole') this.destroyAll();
    this.mode = 'open';
  }

  async close(): Promise<void> {
    this.destroyAll();
    await new Promise<void>((resolve) => this.server.close(() => { resolve(); }));
  }

  private accept(client: net.Socket): void {
    if (this.mode === 'cut') {
      client.destroy();
      return;
    }
    const pair: { client: net.Socket; upstream: net.Socket | undefined } = { client, upstream: undefined };
    this.pairs.add(pair);
    const drop = (): void => {
      client.destroy();
      pair.upstream?.destroy();
      this.pairs.delete(pair);
    };
    client.on('error', drop);
    client.on('close', drop);
    if (this.mode === 'blackhole') return; // accepted, never connected upstream: the handshake just hangs
    const upstream = net.connect(this.target.port, this.target.host);
    pair.upstream = upstream;
    upstream.on('error', drop);
    upstream.on('close', drop);
    client.on('data', (chunk) => {
      if (this.mode === 'open') upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (this.mode === 'open') client.write(chunk);
    });
  }

  private destroyAll(): void {
    for (const { client, upstream } of this.pairs) {
      client.destroy();
      upstream?.destroy();
    }
    this.pairs.clear();
  }
}
