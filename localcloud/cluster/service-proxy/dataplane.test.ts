// The data plane on loopback: every 127.0.0.0/8 address is local without root, so Service addresses are
// 127.0.0.x frontends, endpoints are servers on 127.0.0.1, and the service device is an in-memory `ip`.
import { expect } from 'chai';
import dgram from 'node:dgram';
import { once } from 'node:events';
import net from 'node:net';
import { createLogger } from '../../../lib/observability/logger.js';
import { ToolkitMetrics } from '../../../lib/observability/metrics.js';
import { freePort } from '../../ports.js';
import { Dataplane, type PortPlan } from './dataplane.js';
import type { Endpoint } from './endpoint-selection.js';
import { FakeIp } from './fake-ip.js';
import { ProxyMetrics } from './proxy-metrics.js';
import { ServiceDevice } from './service-device.js';

/** A TCP endpoint that greets with its name, then echoes; `end` on its input makes it end its output. */
async function tcpBackend(name: string): Promise<{ endpoint: Endpoint; server: net.Server }> {
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    socket.write(`${name}\n`);
    socket.on('data', (chunk) => socket.write(chunk));
    socket.on('end', () => socket.end('bye\n'));
    socket.on('error', () => undefined);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { endpoint: { ip: '127.0.0.1', port: (server.address() as net.AddressInfo).port }, server };
}

/** Connects and resolves with the first line the endpoint sends: which endpoint answered. */
async function greeting(ip: string, port: number): Promise<{ name: string; socket: net.Socket }> {
  const socket = net.connect({ host: ip, port });
  socket.setEncoding('utf8');
  const [line] = (await once(socket, 'data')) as [string];
  return { name: line.trim(), socket };
}

async function connectError(ip: string, port: number): Promise<string> {
  const socket = net.connect({ host: ip, port });
  socket.on('data', () => undefined);
  const [err] = (await once(socket, 'close').then(
    () => [new Error('closed without error')],
    (e: unknown) => [e],
  )) as [NodeJS.ErrnoException];
  return err.code ?? err.message;
}

async function roundTrip(socket: net.Socket, text: string): Promise<string> {
  socket.write(text);
  const [chunk] = (await once(socket, 'data')) as [string];
  return chunk;
}

describe('service-proxy/dataplane', () => {
  const log = createLogger({ level: 'silent' });
  let ip: FakeIp;
  let metrics: ProxyMetrics;
  let dataplane: Dataplane;
  let a: Awaited<ReturnType<typeof tcpBackend>>;
  let b: Awaited<ReturnType<typeof tcpBackend>>;
  let port: number;
  const clusterIP = '127.0.0.2';
  const open: net.Socket[] = [];

  const plan = (endpoints: Endpoint[], extra: Partial<PortPlan> = {}): PortPlan[] => [
    { name: 'http', protocol: 'TCP', frontends: [{ kind: 'clusterIP', ip: clusterIP, port }], endpoints, ...extra },
  ];
  const ask = async (): Promise<string> => {
    const { name, socket } = await greeting(clusterIP, port);
    socket.destroy();
    return name;
  };

  beforeEach(async () => {
    ip = new FakeIp('kvsvc0');
    metrics = new ProxyMetrics(new ToolkitMetrics({ defaultMetrics: false }).registry);
    dataplane = new Dataplane({ device: await ServiceDevice.open('kvsvc0', ip.run), log, metrics });
    [a, b, port] = await Promise.all([tcpBackend('a'), tcpBackend('b'), freePort(clusterIP)]);
  });
  afterEach(async () => {
    for (const s of open.splice(0)) s.destroy();
    await dataplane.stop();
    a.server.close();
    b.server.close();
  });

  it('puts the Service address on the device and spreads connections over its endpoints, each once per round', async () => {
    await dataplane.apply('ns/web', plan([a.endpoint, b.endpoint]));
    expect([...ip.addresses]).to.deep.equal([`${clusterIP}/32`]);
    expect(dataplane.listening()).to.deep.equal([`TCP ${clusterIP}:${port}`]);
    // A fresh picker starts a round: two rounds of two, each serving both endpoints once.
    const answers = [await ask(), await ask(), await ask(), await ask()];
    expect([answers.slice(0, 2).sort(), answers.slice(2).sort()]).to.deep.equal([['a', 'b'], ['a', 'b']]);
    expect((await metrics.connections.get()).values.find((v) => v.labels.result === 'forwarded')?.value).to.equal(4);
  });

  it('refuses connections while a port has no endpoints, keeping the address', async () => {
    await dataplane.apply('ns/web', plan([]));
    expect([...ip.addresses]).to.deep.equal([`${clusterIP}/32`]);
    expect(dataplane.listening()).to.deep.equal([]);
    expect(await connectError(clusterIP, port)).to.equal('ECONNREFUSED');
    await dataplane.apply('ns/web', plan([b.endpoint]));
    expect(await ask()).to.equal('b');
  });

  it('moves new connections to new endpoints while a connection in flight keeps its endpoint', async () => {
    await dataplane.apply('ns/web', plan([a.endpoint]));
    const inFlight = await greeting(clusterIP, port);
    open.push(inFlight.socket);
    await dataplane.apply('ns/web', plan([b.endpoint]));
    expect(await ask()).to.equal('b');
    expect(await roundTrip(inFlight.socket, 'still a?')).to.equal('still a?');
  });

  it('passes a client half-close through, so the endpoint can still answer', async () => {
    await dataplane.apply('ns/web', plan([a.endpoint]));
    const { socket } = await greeting(clusterIP, port);
    let rest = '';
    socket.on('data', (chunk: string) => (rest += chunk));
    socket.end('last words\n');
    await once(socket, 'end');
    expect(rest).to.equal('last words\nbye\n');
  });

  it('resets the client when the chosen endpoint refuses', async () => {
    const gone = await tcpBackend('gone');
    gone.server.close();
    await dataplane.apply('ns/web', plan([gone.endpoint]));
    expect(await connectError(clusterIP, port)).to.equal('ECONNRESET');
    expect((await metrics.connections.get()).values.find((v) => v.labels.result === 'upstream_failed')?.value).to.equal(1);
  });

  it('removing a Service stops its listeners and frees its address, but lets its connections finish', async () => {
    await dataplane.apply('ns/web', plan([a.endpoint]));
    const inFlight = await greeting(clusterIP, port);
    open.push(inFlight.socket);
    await dataplane.apply('ns/web', []);
    expect(dataplane.listening()).to.deep.equal([]);
    expect(ip.addresses.size).to.equal(0);
    expect(await roundTrip(inFlight.socket, 'still here')).to.equal('still here');
  });

  it('does not let a second Service take an address another one serves', async () => {
    await dataplane.apply('ns/web', plan([a.endpoint]));
    await dataplane.apply('ns/copy', plan([b.endpoint]));
    expect(await ask()).to.equal('a');
    await dataplane.apply('ns/copy', []);
    expect(ip.addresses.size).to.equal(1); // still needed by ns/web
  });

  it('stop() closes every listener, cuts every connection and removes every address', async () => {
    await dataplane.apply('ns/web', plan([a.endpoint]));
    const inFlight = await greeting(clusterIP, port);
    const closed = once(inFlight.socket, 'close');
    await dataplane.stop();
    await closed;
    expect(dataplane.listening()).to.deep.equal([]);
    expect(ip.addresses.size).to.equal(0);
    expect(await connectError(clusterIP, port)).to.equal('ECONNREFUSED');
    await dataplane.apply('ns/web', plan([a.endpoint]));
    expect(dataplane.listening()).to.deep.equal([]);
  });

  it("sends a frontend under a traffic policy Local only to the node's own endpoints, the others to all", async () => {
    const nodePortIP = '127.0.0.3';
    const nodePort = await freePort(nodePortIP);
    await dataplane.apply('ns/web', [
      {
        name: 'http',
        protocol: 'TCP',
        frontends: [
          { kind: 'clusterIP', ip: clusterIP, port },
          { kind: 'nodePort', ip: nodePortIP, port: nodePort, local: true },
        ],
        endpoints: [a.endpoint, b.endpoint],
        localEndpoints: [b.endpoint],
      },
    ]);
    expect([await ask(), await ask()].sort(), 'one round through the ClusterIP').to.deep.equal(['a', 'b']);
    const viaNodePort = async () => {
      const { name, socket } = await greeting(nodePortIP, nodePort);
      socket.destroy();
      return name;
    };
    expect([await viaNodePort(), await viaNodePort(), await viaNodePort()]).to.deep.equal(['b', 'b', 'b']);
    // No local endpoint left: the node port refuses, as kube-proxy drops it, while the ClusterIP still serves.
    await dataplane.apply('ns/web', [
      {
        name: 'http',
        protocol: 'TCP',
        frontends: [
          { kind: 'clusterIP', ip: clusterIP, port },
          { kind: 'nodePort', ip: nodePortIP, port: nodePort, local: true },
        ],
        endpoints: [a.endpoint],
        localEndpoints: [],
      },
    ]);
    expect(dataplane.listening()).to.deep.equal([`TCP ${clusterIP}:${port}`]);
    expect(await connectError(nodePortIP, nodePort)).to.equal('ECONNREFUSED');
    expect(await ask()).to.equal('a');
  });

  it('relays UDP datagrams and their replies from the Service address', async () => {
    const echo = dgram.createSocket('udp4');
    echo.on('message', (msg, from) => { echo.send(Buffer.concat([Buffer.from('echo:'), msg]), from.port, from.address); });
    echo.bind(0, '127.0.0.1');
    await once(echo, 'listening');
    const udpPort = await freePort(clusterIP);
    await dataplane.apply('ns/dns', [
      { name: 'dns', protocol: 'UDP', frontends: [{ kind: 'clusterIP', ip: clusterIP, port: udpPort }], endpoints: [{ ip: '127.0.0.1', port: echo.address().port }] },
    ]);
    const client = dgram.createSocket('udp4');
    try {
      client.send('ping', udpPort, clusterIP);
      const [reply, from] = (await once(client, 'message')) as [Buffer, dgram.RemoteInfo];
      expect(reply.toString()).to.equal('echo:ping');
      expect(`${from.address}:${from.port}`).to.equal(`${clusterIP}:${udpPort}`);
    } finally {
      client.close();
      echo.close();
    }
  });
});
