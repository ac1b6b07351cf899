// The data plane on loopback: every 127.0.0.0/8 address is local without root, so Service addresses are
// 127.0.0.x frontends, endpoints are servers on 127.0.0.1, the service device is an in-memory `ip`, and kernel NAT
// an in-memory table of what it was asked to translate (kernel-nat.test.ts covers the rules themselves).
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
import { forwarderAddress, type DrainLimits } from './forwarder.js';
import type { NatFrontend } from './kernel-nat.js';
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

/**
 * Kernel NAT as the data plane sees it: the frontends of the last sync, whether it was closed, and the addresses
 * translated, which change only when a sync returns, as KernelNat's change only once iptables-restore has.
 */
class FakeNat {
  frontends: NatFrontend[] = [];
  syncs = 0;
  closed = false;
  /** While set, a sync waits for it before it returns, as a slow iptables-restore would. */
  hold: Promise<void> | undefined;
  private addresses: string[] = [];
  async sync(frontends: readonly NatFrontend[]): Promise<void> {
    this.frontends = [...frontends];
    this.syncs++;
    await this.hold;
    this.addresses = frontends.map((f) => forwarderAddress(f.protocol, f.ip, f.port)).sort();
  }
  translated(): string[] {
    return [...this.addresses];
  }
  close(): Promise<void> {
    this.frontends = [];
    this.addresses = [];
    this.closed = true;
    return Promise.resolve();
  }
}

/** Polls a condition the data plane reaches asynchronously (a drained forwarder's address leaving the device). */
async function waitUntil(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  if (!condition()) throw new Error(`timed out waiting for ${what}`);
}

/** Resolves with how the socket ended ("ECONNRESET", or "closed" for a plain close) and when, in ms from `since`. */
async function ending(socket: net.Socket, since: number): Promise<{ how: string; ms: number }> {
  let how = 'closed';
  socket.on('error', (err: NodeJS.ErrnoException) => (how = err.code ?? err.message));
  await new Promise((resolve) => socket.once('close', resolve)); // events.once would reject on the error
  return { how, ms: performance.now() - since };
}

async function roundTrip(socket: net.Socket, text: string): Promise<string> {
  socket.write(text);
  const [chunk] = (await once(socket, 'data')) as [string];
  return chunk;
}

describe('service-proxy/dataplane', () => {
  const log = createLogger({ level: 'silent' });
  let ip: FakeIp;
  let nat: FakeNat;
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

  // Long enough that no test step idles into them, unless a test sets its own.
  const testDrain: DrainLimits = { idleMs: 2000, maxMs: 4000 };
  /** A fresh data plane on a fresh device: `answerAfterMs` slows the fake ip's answers. */
  async function start(drain = testDrain, answerAfterMs?: (args: readonly string[]) => number): Promise<void> {
    await dataplane.stop();
    ip = new FakeIp('kvsvc0', [], answerAfterMs);
    dataplane = new Dataplane({ device: await ServiceDevice.open('kvsvc0', ip.run), nat, log, metrics, drain });
  }

  beforeEach(async () => {
    ip = new FakeIp('kvsvc0');
    nat = new FakeNat();
    metrics = new ProxyMetrics(new ToolkitMetrics({ defaultMetrics: false }).registry);
    dataplane = new Dataplane({ device: await ServiceDevice.open('kvsvc0', ip.run), nat, log, metrics, drain: testDrain });
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

  it('removing a Service stops its listeners but lets its connections finish, keeping its address until the last one ends', async () => {
    await dataplane.apply('ns/web', plan([a.endpoint]));
    const inFlight = await greeting(clusterIP, port);
    open.push(inFlight.socket);
    await dataplane.apply('ns/web', []);
    expect(dataplane.listening()).to.deep.equal([]);
    expect(await connectError(clusterIP, port), 'a new connection').to.equal('ECONNREFUSED');
    // Off the device, the kernel would stop delivering the connection's packets: it would hang, not finish.
    expect([...ip.addresses], 'the address while a connection drains').to.deep.equal([`${clusterIP}/32`]);
    expect(await roundTrip(inFlight.socket, 'still here')).to.equal('still here');
    inFlight.socket.end();
    await once(inFlight.socket, 'close');
    await waitUntil(() => ip.addresses.size === 0, 'the drained address to leave the device');
  });

  it('removes a retired address with the Service when no connection drains', async () => {
    await dataplane.apply('ns/web', plan([a.endpoint]));
    await dataplane.apply('ns/web', []);
    expect(ip.addresses.size).to.equal(0);
  });

  it('resets a retired connection quiet for the idle limit, then frees its address', async () => {
    await start({ idleMs: 150, maxMs: 10_000 });
    await dataplane.apply('ns/web', plan([a.endpoint]));
    const inFlight = await greeting(clusterIP, port);
    open.push(inFlight.socket);
    const retired = performance.now();
    const ended = ending(inFlight.socket, retired);
    await dataplane.apply('ns/web', []);
    expect([...ip.addresses], 'kept while the connection lives').to.deep.equal([`${clusterIP}/32`]);
    const { how, ms } = await ended;
    expect(how, 'the client hears of the end').to.equal('ECONNRESET');
    expect(ms).to.be.within(140, 2000);
    await waitUntil(() => ip.addresses.size === 0, 'the address to leave the device after the reset');
  });

  it('resets a retired connection still busy at the drain limit, then frees its address', async () => {
    await start({ idleMs: 10_000, maxMs: 300 });
    await dataplane.apply('ns/web', plan([a.endpoint]));
    const inFlight = await greeting(clusterIP, port);
    open.push(inFlight.socket);
    const retired = performance.now();
    const ended = ending(inFlight.socket, retired);
    const chatter = setInterval(() => inFlight.socket.write('.'), 20);
    try {
      await dataplane.apply('ns/web', []);
      const { how, ms } = await ended;
      expect(how).to.equal('ECONNRESET');
      expect(ms).to.be.within(290, 2000);
    } finally {
      clearInterval(chatter);
    }
    await waitUntil(() => ip.addresses.size === 0, 'the address to leave the device after the reset');
  });

  it('lets a re-added Service take its draining address, and keeps the address when the old connection ends', async () => {
    await dataplane.apply('ns/web', plan([a.endpoint]));
    const inFlight = await greeting(clusterIP, port);
    open.push(inFlight.socket);
    await dataplane.apply('ns/web', []);
    await dataplane.apply('ns/web', plan([b.endpoint]));
    expect(await ask(), 'a new connection').to.equal('b');
    expect(await roundTrip(inFlight.socket, 'still a'), 'the old one').to.equal('still a');
    inFlight.socket.destroy();
    await once(inFlight.socket, 'close');
    await new Promise((resolve) => setTimeout(resolve, 50)); // the retired forwarder has seen its last connection end
    expect([...ip.addresses], 'the address the Service serves again, after the drain').to.deep.equal([`${clusterIP}/32`]);
    expect(await ask()).to.equal('b');
    await dataplane.apply('ns/web', []);
    await waitUntil(() => ip.addresses.size === 0, 'the address to leave the device with the Service');
  });

  it('does not lose an address a Service takes while its drained removal is under way on a slow device', async () => {
    // ip answers a removal 30 ms after it acted: the Service's add comes in meanwhile.
    await start(testDrain, (args) => (args[1] === 'del' ? 30 : 0));
    await dataplane.apply('ns/web', plan([a.endpoint]));
    const inFlight = await greeting(clusterIP, port);
    await dataplane.apply('ns/web', []);
    inFlight.socket.destroy();
    await waitUntil(() => ip.calls.includes(`addr del ${clusterIP}/32 dev kvsvc0`), 'the drained address removal to begin');
    await dataplane.apply('ns/other', plan([b.endpoint]));
    expect([...ip.addresses], 'on the device once the Service is applied').to.deep.equal([`${clusterIP}/32`]);
    expect(await ask()).to.equal('b');
    await dataplane.apply('ns/other', []);
    await waitUntil(() => ip.addresses.size === 0, 'the address to leave the device with the Service');
  });

  it('does not let a second Service take an address another one serves', async () => {
    await dataplane.apply('ns/web', plan([a.endpoint]));
    await dataplane.apply('ns/copy', plan([b.endpoint]));
    expect(await ask()).to.equal('a');
    await dataplane.apply('ns/copy', []);
    expect(ip.addresses.size).to.equal(1); // still needed by ns/web
  });

  it('stop() closes every listener, cuts every connection, removes every address and its NAT rules', async () => {
    await dataplane.apply('ns/web', plan([a.endpoint]));
    const inFlight = await greeting(clusterIP, port);
    const closed = once(inFlight.socket, 'close');
    await dataplane.stop();
    await closed;
    expect(dataplane.listening()).to.deep.equal([]);
    expect(ip.addresses.size).to.equal(0);
    expect(nat.closed, 'kernel NAT rules removed').to.equal(true);
    expect(await connectError(clusterIP, port)).to.equal('ECONNREFUSED');
    await dataplane.apply('ns/web', plan([a.endpoint]));
    expect(dataplane.listening()).to.deep.equal([]);
  });

  const lbIP = '127.0.0.4';
  const localPlan = (endpoints: Endpoint[], localEndpoints: Endpoint[], extra: Partial<PortPlan> = {}): PortPlan[] => [
    {
      name: 'http',
      protocol: 'TCP',
      frontends: [
        { kind: 'clusterIP', ip: clusterIP, port },
        { kind: 'nodePort', ip: '127.0.0.3', port: 30080, local: true },
        { kind: 'loadBalancer', ip: lbIP, port: 80, local: true },
      ],
      endpoints,
      localEndpoints,
      ...extra,
    },
  ];

  it("translates addresses under externalTrafficPolicy Local in the kernel, to the node's own endpoints, and forwards the ClusterIP to all", async () => {
    await dataplane.apply('ns/web', localPlan([a.endpoint, b.endpoint], [b.endpoint]));
    expect(dataplane.listening()).to.deep.equal([`TCP ${clusterIP}:${port}`]);
    expect(dataplane.translated()).to.deep.equal(['TCP 127.0.0.3:30080', `TCP ${lbIP}:80`]);
    expect(nat.frontends).to.deep.equal([
      { service: 'ns/web', protocol: 'TCP', ip: '127.0.0.3', port: 30080, endpoints: [b.endpoint], affinityTimeoutMs: undefined },
      { service: 'ns/web', protocol: 'TCP', ip: lbIP, port: 80, endpoints: [b.endpoint], affinityTimeoutMs: undefined },
    ]);
    expect([...ip.addresses].sort(), 'the load-balancer IP stays on the device, the node port is on the node').to.deep.equal([`${clusterIP}/32`, `${lbIP}/32`]);
    expect([await ask(), await ask()].sort(), 'one round through the ClusterIP').to.deep.equal(['a', 'b']);
    expect((await metrics.natAddresses.get()).values[0]?.value).to.equal(2);

    // No local endpoint left: no rule and no listener, so the kernel refuses, while the ClusterIP still serves.
    await dataplane.apply('ns/web', localPlan([a.endpoint], []));
    expect(dataplane.translated()).to.deep.equal([]);
    expect(nat.frontends).to.deep.equal([]);
    expect(dataplane.listening()).to.deep.equal([`TCP ${clusterIP}:${port}`]);
    expect(await connectError(lbIP, 80)).to.equal('ECONNREFUSED');
    expect(await ask()).to.equal('a');
  });

  it('moves an address between a forwarder and the kernel when the traffic policy changes, and drops its rules with the Service', async () => {
    const lbPort = await freePort(lbIP);
    const cluster = (): PortPlan[] => [{ name: 'http', protocol: 'TCP', frontends: [{ kind: 'loadBalancer', ip: lbIP, port: lbPort }], endpoints: [a.endpoint] }];
    const local = (): PortPlan[] => [
      {
        name: 'http',
        protocol: 'TCP',
        frontends: [{ kind: 'loadBalancer', ip: lbIP, port: lbPort, local: true }],
        endpoints: [a.endpoint],
        localEndpoints: [a.endpoint],
        affinityTimeoutMs: 5000,
      },
    ];
    await dataplane.apply('ns/web', cluster());
    expect(dataplane.listening()).to.deep.equal([`TCP ${lbIP}:${lbPort}`]);
    await dataplane.apply('ns/web', local());
    expect([dataplane.listening(), dataplane.translated()]).to.deep.equal([[], [`TCP ${lbIP}:${lbPort}`]]);
    expect(nat.frontends[0]?.affinityTimeoutMs, 'sessionAffinity ClientIP goes to the kernel too').to.equal(5000);
    await dataplane.apply('ns/web', cluster());
    expect([dataplane.listening(), dataplane.translated()]).to.deep.equal([[`TCP ${lbIP}:${lbPort}`], []]);
    await dataplane.apply('ns/web', local());
    await dataplane.apply('ns/copy', local());
    expect(nat.frontends.map((f) => f.service), 'a second Service does not take the address').to.deep.equal(['ns/web']);
    await dataplane.apply('ns/web', []);
    expect(nat.frontends).to.deep.equal([]);
    await dataplane.apply('ns/copy', local());
    expect(nat.frontends.map((f) => f.service), 'free again, the next apply takes it').to.deep.equal(['ns/copy']);
    await dataplane.apply('ns/copy', []);
    expect(nat.frontends).to.deep.equal([]);
    expect(ip.addresses.size).to.equal(0);
  });

  it('reports an address translated only once the NAT sync has returned, and serves it from its forwarder until then', async () => {
    const lbPort = await freePort(lbIP);
    const lb = `TCP ${lbIP}:${lbPort}`;
    const frontends = (local: boolean): PortPlan[] => [
      { name: 'http', protocol: 'TCP', frontends: [{ kind: 'loadBalancer', ip: lbIP, port: lbPort, ...(local ? { local } : {}) }], endpoints: [a.endpoint], localEndpoints: [a.endpoint] },
    ];
    await dataplane.apply('ns/web', frontends(false));
    let release = (): void => undefined;
    nat.hold = new Promise((resolve) => (release = resolve));
    const switching = dataplane.apply('ns/web', frontends(true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(nat.frontends.map((f) => f.ip), 'the sync has begun').to.deep.equal([lbIP]);
    expect([dataplane.listening(), dataplane.translated()], 'while iptables-restore runs').to.deep.equal([[lb], []]);
    release();
    await switching;
    expect([dataplane.listening(), dataplane.translated()], 'once it has returned').to.deep.equal([[], [lb]]);

    nat.hold = new Promise((resolve) => (release = resolve));
    const removing = dataplane.apply('ns/web', []);
    await new Promise((resolve) => setImmediate(resolve));
    expect([nat.frontends, dataplane.translated()], 'the rule is still in the kernel while its removal runs').to.deep.equal([[], [lb]]);
    release();
    await removing;
    expect(dataplane.translated()).to.deep.equal([]);
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
