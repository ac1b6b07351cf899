// The service proxy against a real apiserver, inside the cluster network namespace the test run creates (see
// localcloud/cluster/topology.ts): ClusterIPs, NodePorts and load-balancer IPs are reached over real sockets,
// endpoints are servers on pod-like addresses, and stopping the proxy must leave no address, no listener and no NAT
// rule.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { Client } from '../../../lib/kube/client.js';
import { RestMapper } from '../../../lib/kube/rest-mapper.js';
import { RestTransport } from '../../../lib/kube/rest-transport.js';
import type { KubeObject, TypeMeta } from '../../../lib/kube/object.js';
import { startServiceProxy, type ServiceProxy } from '../../../localcloud/cluster/service-proxy/index.js';
import { runIptables } from '../../../localcloud/cluster/service-proxy/kernel-nat.js';
import { IPv4Range } from '../../../localcloud/cluster/service-proxy/ipv4-range.js';
import { ENDPOINT_SLICE, SERVICE, type EndpointSlice, type Service } from '../../../localcloud/cluster/service-proxy/service-api.js';
import { LOAD_BALANCER_POOL, NODE_IP, SERVICE_CIDR } from '../../../localcloud/cluster/topology.js';
import { startPlane, type Plane } from '../../../localcloud/plane.js';
import { waitFor } from '../../../localcloud/wait.js';
import { connectionRate, connectOutcome, deviceAddresses, echoed, httpGet, httpsGet, msUntilAnswered, openConnection, serviceAddressSockets, udpAsk } from './probes.js';
import { endpointSlice, sliceEndpoints, webService, type EndpointState, type ServiceSpec } from './service-objects.js';
import { POD_PORTS, startTestPod, type TestPod } from './test-pods.js';

const NS = 'service-proxy-e2e';
const EVENT = { apiVersion: 'events.k8s.io/v1', kind: 'Event' };
const WAIT = { timeoutMs: 30_000 };
const pool = IPv4Range.parse(LOAD_BALANCER_POOL);

interface ApiEvent extends KubeObject {
  reason?: string;
  note?: string;
  regarding?: { name?: string };
}

describe('service proxy: Services reachable in the cluster network namespace', function () {
  this.timeout(5 * 60_000);
  let plane: Plane;
  let transport: RestTransport;
  let client: Client;
  let proxy: ServiceProxy;
  // Filled as before() starts things, so after() stops exactly what started, even if before() failed halfway
  // (e.g. when run outside the cluster network namespace).
  const stops: (() => Promise<void> | void)[] = [];
  const cleanups: { type: TypeMeta; name: string }[] = [];
  const pods: TestPod[] = [];

  async function pod(name: string): Promise<TestPod> {
    const p = await startTestPod(name);
    pods.push(p);
    return p;
  }

  async function createService(name: string, spec: Partial<ServiceSpec> = {}, annotations?: Record<string, string>): Promise<Service> {
    const svc = webService(NS, name, spec);
    if (annotations) svc.metadata.annotations = annotations;
    const created = await client.create(svc);
    cleanups.push({ type: SERVICE, name });
    return created;
  }

  async function createEndpoints(service: string, states: EndpointState[]): Promise<void> {
    await client.create(endpointSlice(NS, service, states));
    cleanups.push({ type: ENDPOINT_SLICE, name: `${service}-manual` });
  }

  async function setEndpoints(service: string, states: EndpointState[]): Promise<void> {
    await client.mergePatch<EndpointSlice>(ENDPOINT_SLICE, { namespace: NS, name: `${service}-manual` }, { endpoints: sliceEndpoints(states) });
  }

  async function getService(name: string): Promise<Service> {
    const svc = await client.get<Service>(SERVICE, { namespace: NS, name });
    if (!svc) throw new Error(`Service ${NS}/${name} is gone`);
    return svc;
  }

  /** Waits for the ingress IP the small MetalLB writes, and checks its shape. */
  async function ingressIP(name: string): Promise<string> {
    return waitFor(
      async () => {
        const ingress = (await getService(name)).status?.loadBalancer?.ingress ?? [];
        if (ingress.length === 0) throw new Error('status.loadBalancer.ingress is empty');
        expect(ingress).to.have.length(1);
        expect(ingress[0]?.ipMode).to.equal('VIP');
        return ingress[0]?.ip;
      },
      { ...WAIT, what: `an ingress IP on Service ${name}` },
    );
  }

  async function noIngress(name: string): Promise<void> {
    await waitFor(
      async () => {
        const ingress = (await getService(name)).status?.loadBalancer?.ingress ?? [];
        if (ingress.length > 0) throw new Error(`status.loadBalancer.ingress is ${JSON.stringify(ingress)}`);
        return true;
      },
      { ...WAIT, what: `Service ${name} to have no ingress` },
    );
  }

  async function answers(ip: string, port: number, want: string): Promise<void> {
    await waitFor(
      async () => {
        const body = await httpGet(ip, port);
        if (body !== want) throw new Error(`answered by ${body}`);
        return true;
      },
      { ...WAIT, what: `${ip}:${port} to be answered by ${want}` },
    );
  }

  async function refuses(ip: string, port: number): Promise<void> {
    await waitFor(
      async () => {
        const outcome = await connectOutcome(ip, port);
        if (outcome !== 'ECONNREFUSED') throw new Error(`connection ${outcome}`);
        return true;
      },
      { ...WAIT, what: `${ip}:${port} to refuse connections` },
    );
  }

  async function forwardedConnections(): Promise<number> {
    const counter = (await proxy.metrics.registry.getSingleMetric('kvcloud_service_proxy_connections_total')?.get())?.values ?? [];
    return counter.find((v) => v.labels.protocol === 'TCP' && v.labels.result === 'forwarded')?.value ?? 0;
  }

  async function sequence(ip: string, port: number, count: number): Promise<string[]> {
    const seen: string[] = [];
    for (let i = 0; i < count; i++) seen.push(await httpGet(ip, port));
    return seen;
  }

  /** The /32s the proxy should hold for the Services that exist now: ClusterIPs and our ingress IPs. */
  async function wantedAddresses(): Promise<string[]> {
    const all = await client.list<Service>(SERVICE);
    const ips = all.flatMap((s) => [
      ...(s.spec?.clusterIPs ?? []).filter((ip) => ip !== 'None'),
      ...(s.status?.loadBalancer?.ingress ?? []).flatMap((i) => (i.ip ? [i.ip] : [])),
    ]);
    return [...new Set(ips)].map((ip) => `${ip}/32`).sort();
  }

  before(async function () {
    this.timeout(20 * 60_000); // the first run may build the upstream binaries
    // As the local cluster runs it: on the node address, which the apiserver publishes as the kubernetes
    // Service's endpoint.
    plane = await startPlane({ controllerManager: false, serviceCIDR: SERVICE_CIDR, bindAddress: NODE_IP, advertiseAddress: NODE_IP });
    stops.push(() => plane.stop());
    transport = await RestTransport.fromKubeConfig(plane.kubeConfig);
    stops.push(() => {
      transport.close();
    });
    client = new Client({ transport, mapper: new RestMapper(transport), fieldManager: 'kvcloud-e2e' });
    await client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    proxy = await startServiceProxy({ kubeConfig: plane.kubeConfig });
    stops.push(() => proxy.stop()); // whichever proxy runs last: the restart test replaces it
  });

  afterEach(async () => {
    for (const { type, name } of cleanups.splice(0).reverse()) await client.delete(type, { namespace: NS, name });
    for (const p of pods.splice(0)) await p.stop();
    // The next test starts from a proxy holding only what the remaining Services need: no LB IP in use.
    const want = await wantedAddresses();
    await waitFor(
      async () => {
        const have = await deviceAddresses();
        if (JSON.stringify(have) !== JSON.stringify(want)) throw new Error(`device holds ${have.join(', ')}; want ${want.join(', ')}`);
        return true;
      },
      { ...WAIT, what: 'the proxy to release the addresses of deleted Services' },
    );
  });

  after(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  });

  it('serves a ClusterIP Service on ClusterIP:port (TCP and UDP) once its endpoint is ready', async () => {
    const web = await pod('web-0');
    const started = performance.now();
    const svc = await createService('web');
    await createEndpoints('web', [{ pod: web }]);
    const clusterIP = svc.spec?.clusterIP ?? '';
    const ms = await msUntilAnswered(clusterIP, 80, started, WAIT.timeoutMs);
    console.log(`      measured: Service + EndpointSlice create -> answered on its ClusterIP in ${Math.round(ms)} ms`);
    await answers(clusterIP, 80, 'web-0');
    expect(await deviceAddresses()).to.include(`${clusterIP}/32`);
    expect(await udpAsk(clusterIP, 53, 'hello')).to.deep.equal({ reply: 'web-0:hello', from: `${clusterIP}:53` });
  });

  it('serves a NodePort Service on the node address at its nodePort', async () => {
    const web = await pod('node-web-0');
    const svc = await createService('node-web', { type: 'NodePort' });
    await createEndpoints('node-web', [{ pod: web }]);
    const nodePort = svc.spec?.ports?.find((p) => p.name === 'http')?.nodePort ?? 0;
    expect(nodePort).to.be.within(30000, 32767);
    await answers(NODE_IP, nodePort, 'node-web-0');
    await answers(svc.spec?.clusterIP ?? '', 80, 'node-web-0');
  });

  it('gives a LoadBalancer Service a VIP from the pool and serves it there, on its NodePort too', async () => {
    const web = await pod('lb-web-0');
    const started = performance.now();
    const svc = await createService('lb-web', { type: 'LoadBalancer' });
    await createEndpoints('lb-web', [{ pod: web }]);
    const ip = await ingressIP('lb-web');
    expect(pool.contains(ip), `${ip} in ${LOAD_BALANCER_POOL}`).to.be.true;
    const ms = await msUntilAnswered(ip, 80, started, WAIT.timeoutMs);
    console.log(`      measured: LoadBalancer Service create -> answered on its ingress IP within ${Math.round(ms)} ms (includes polling for the status)`);
    await answers(ip, 80, 'lb-web-0');
    await answers(NODE_IP, svc.spec?.ports?.find((p) => p.name === 'http')?.nodePort ?? 0, 'lb-web-0');
    expect(await deviceAddresses()).to.include(`${ip}/32`);
  });

  it('spreads new connections evenly over two ready endpoints, in rounds of random order', async () => {
    const [a, b] = await Promise.all([pod('rr-a'), pod('rr-b')]);
    const svc = await createService('rr');
    await createEndpoints('rr', [{ pod: a }, { pod: b }]);
    const clusterIP = svc.spec?.clusterIP ?? '';
    await answers(clusterIP, 80, 'rr-a'); // both are picked from once the first one answers
    // Each round serves both once, so any 10 connections in a row reach each endpoint 4 to 6 times, whichever
    // point of a round they start at.
    const seen = await sequence(clusterIP, 80, 10);
    for (const name of ['rr-a', 'rr-b']) expect(seen.filter((s) => s === name).length, `${name} in ${seen.join(',')}`).to.be.within(4, 6);
  });

  it('sends nothing to a not-ready endpoint, follows readiness changes, and refuses without endpoints', async () => {
    const [a, b] = await Promise.all([pod('ready-a'), pod('ready-b')]);
    const svc = await createService('ready');
    await createEndpoints('ready', [{ pod: a }, { pod: b, ready: false }]);
    const clusterIP = svc.spec?.clusterIP ?? '';
    await answers(clusterIP, 80, 'ready-a');
    expect(await sequence(clusterIP, 80, 6)).to.deep.equal(Array(6).fill('ready-a'));

    await setEndpoints('ready', [{ pod: a, ready: false }, { pod: b }]);
    await answers(clusterIP, 80, 'ready-b');
    expect(await sequence(clusterIP, 80, 6)).to.deep.equal(Array(6).fill('ready-b'));

    await setEndpoints('ready', [{ pod: a, ready: false }, { pod: b, ready: false }]);
    await refuses(clusterIP, 80);
    expect(await deviceAddresses(), 'the ClusterIP stays, so the kernel refuses').to.include(`${clusterIP}/32`);
  });

  it('falls back to serving terminating endpoints while none is ready', async () => {
    const [old, fresh] = await Promise.all([pod('term-old'), pod('term-new')]);
    const svc = await createService('term');
    await createEndpoints('term', [{ pod: old, ready: false, serving: true, terminating: true }, { pod: fresh, ready: false }]);
    const clusterIP = svc.spec?.clusterIP ?? '';
    await answers(clusterIP, 80, 'term-old');
    await setEndpoints('term', [{ pod: old, ready: false, serving: true, terminating: true }, { pod: fresh }]);
    await answers(clusterIP, 80, 'term-new');
    expect(await sequence(clusterIP, 80, 4)).to.deep.equal(Array(4).fill('term-new'));
  });

  it('keeps a client on one endpoint with sessionAffinity ClientIP', async () => {
    const [a, b] = await Promise.all([pod('sticky-a'), pod('sticky-b')]);
    const svc = await createService('sticky', { sessionAffinity: 'ClientIP' });
    await createEndpoints('sticky', [{ pod: a }, { pod: b }]);
    const clusterIP = svc.spec?.clusterIP ?? '';
    const first = await waitFor(() => httpGet(clusterIP, 80), { ...WAIT, what: 'the sticky Service to answer' });
    expect(await sequence(clusterIP, 80, 6)).to.deep.equal(Array(6).fill(first));
  });

  it('gives headless and ExternalName Services no address and no listener', async () => {
    const web = await pod('headless-0');
    const addressesBefore = await deviceAddresses();
    const listenersBefore = proxy.listening();
    await createService('headless', { clusterIP: 'None' });
    await createEndpoints('headless', [{ pod: web }]);
    await createService('external', { type: 'ExternalName', externalName: 'example.com', ports: [{ name: 'http', port: 80 }] });
    // A Service created afterwards: once it is served, the proxy has processed the two before it.
    const canary = await createService('canary');
    await createEndpoints('canary', [{ pod: web }]);
    const canaryIP = canary.spec?.clusterIP ?? '';
    await answers(canaryIP, 80, 'headless-0');
    expect(await deviceAddresses()).to.deep.equal([...addressesBefore, `${canaryIP}/32`].sort());
    const canaryListeners = [`TCP ${canaryIP}:80`, `TCP ${canaryIP}:9000`, `UDP ${canaryIP}:53`];
    expect(proxy.listening()).to.deep.equal([...listenersBefore, ...canaryListeners].sort());
  });

  it('releases LoadBalancer IPs on delete and type change, reuses them, and refuses a taken IP with an Event', async () => {
    const web = await pod('pool-0');
    for (const name of ['lb-a', 'lb-b']) {
      await createService(name, { type: 'LoadBalancer' });
      await createEndpoints(name, [{ pod: web }]);
    }
    const ipA = await ingressIP('lb-a');
    const ipB = await ingressIP('lb-b');
    expect(ipA).to.not.equal(ipB);

    // lb-c asks for lb-b's IP through MetalLB's annotation: refused, with an Event naming the holder.
    await createService('lb-c', { type: 'LoadBalancer' }, { 'metallb.io/loadBalancerIPs': ipB });
    const event = await waitFor(
      async () => {
        const events = await client.list<ApiEvent>(EVENT, { namespace: NS });
        return events.find((e) => e.regarding?.name === 'lb-c' && e.reason === 'AllocationFailed');
      },
      { ...WAIT, what: 'an AllocationFailed Event for lb-c' },
    );
    expect(event.note).to.equal(`requested IP ${ipB} is already assigned to Service ${NS}/lb-b`);
    await noIngress('lb-c');

    // Deleting lb-a frees its IP: the address leaves the device and the next Service gets it.
    await client.delete(SERVICE, { namespace: NS, name: 'lb-a' });
    await waitFor(async () => ((await deviceAddresses()).includes(`${ipA}/32`) ? undefined : true), { ...WAIT, what: `${ipA} to leave the device` });
    await createService('lb-d', { type: 'LoadBalancer' });
    expect(await ingressIP('lb-d')).to.equal(ipA);

    // lb-b turning into a ClusterIP Service frees its IP, and lb-c, waiting for exactly that one, gets it.
    await client.mergePatch(SERVICE, { namespace: NS, name: 'lb-b' }, { spec: { type: 'ClusterIP' } });
    await noIngress('lb-b');
    expect(await ingressIP('lb-c')).to.equal(ipB);
  });

  it("keeps a deleted Service's address while a connection through it lives, and frees it once the connection ends", async () => {
    const web = await pod('drain-0');
    const svc = await createService('drain', { ports: [{ name: 'echo', protocol: 'TCP', port: 7, targetPort: POD_PORTS.echo }] });
    await createEndpoints('drain', [{ pod: web }]);
    const clusterIP = svc.spec?.clusterIP ?? '';
    const held = await waitFor(() => openConnection(clusterIP, 7), { ...WAIT, what: `a connection to ${clusterIP}:7` });
    try {
      expect(await echoed(held, 'before')).to.equal('before');
      await client.delete(SERVICE, { namespace: NS, name: 'drain' });
      // Refused, not timed out: the listener is gone, the address is not, so the kernel answers with a reset.
      await refuses(clusterIP, 7);
      expect(await deviceAddresses(), 'the address while the connection lives').to.include(`${clusterIP}/32`);
      expect(await echoed(held, 'after the delete'), 'the connection still carries data').to.equal('after the delete');
    } finally {
      held.end();
    }
    const ended = performance.now();
    await waitFor(async () => ((await deviceAddresses()).includes(`${clusterIP}/32`) ? undefined : true), { ...WAIT, what: `${clusterIP} to leave the device` });
    console.log(`      measured: the drained address left the device ${Math.round(performance.now() - ended)} ms after its last connection ended`);
  });

  it('serves externalTrafficPolicy Local with kernel DNAT, so the endpoint sees the client; under Cluster it sees the proxy', async () => {
    const [web, outside] = await Promise.all([pod('source-web'), pod('source-client')]);
    const svc = await createService('source', { type: 'LoadBalancer', externalTrafficPolicy: 'Local' });
    await createEndpoints('source', [{ pod: web }]);
    const ip = await ingressIP('source');
    const nodePort = svc.spec?.ports?.find((p) => p.name === 'http')?.nodePort ?? 0;
    const lb = `TCP ${ip}:80`;
    const seenBy = (address: string, port: number) =>
      waitFor(() => httpGet(address, port, '/client', outside.ip), { ...WAIT, what: `an answer on ${address}:${String(port)} to ${outside.ip}` });
    await waitFor(() => (proxy.translated().includes(lb) ? true : undefined), { ...WAIT, what: `kernel NAT for ${lb}` });
    expect(await seenBy(ip, 80), 'through the load-balancer IP').to.equal(outside.ip);
    expect(await seenBy(NODE_IP, nodePort), 'through the NodePort').to.equal(outside.ip);
    expect(proxy.translated()).to.include.members([lb, `TCP ${NODE_IP}:${String(nodePort)}`]);
    expect(proxy.listening(), 'no userspace listener there').to.not.include(lb);
    expect(await seenBy(svc.spec?.clusterIP ?? '', 80), 'the ClusterIP stays in userspace').to.not.equal(outside.ip);

    await client.mergePatch(SERVICE, { namespace: NS, name: 'source' }, { spec: { externalTrafficPolicy: 'Cluster' } });
    await waitFor(() => (proxy.listening().includes(lb) && !proxy.translated().includes(lb) ? true : undefined), { ...WAIT, what: `${lb} back in userspace` });
    expect(await seenBy(ip, 80), 'under Cluster the proxy relays').to.not.equal(outside.ip);
    expect(await runIptables('iptables-save', ['-t', 'nat']), 'no rule left for the address').to.not.include(` ${ip}/32 `);
  });

  it('keeps LoadBalancer IPs across a proxy restart, and its stop() leaves no address, no listener and no NAT rule', async () => {
    const web = await pod('restart-0');
    const lb = await createService('restart-lb', { type: 'LoadBalancer' });
    await createEndpoints('restart-lb', [{ pod: web }]);
    const ip = await ingressIP('restart-lb');
    const nodePort = lb.spec?.ports?.find((p) => p.name === 'http')?.nodePort ?? 0;
    await answers(ip, 80, 'restart-0');
    await answers(NODE_IP, nodePort, 'restart-0');
    const statusVersion = (await getService('restart-lb')).metadata.resourceVersion;

    await proxy.stop();
    expect(await deviceAddresses()).to.deep.equal([]);
    expect(serviceAddressSockets()).to.deep.equal([]);
    expect(await runIptables('iptables-save', ['-t', 'nat'])).to.not.include(':KVC-');
    expect(await connectOutcome(NODE_IP, nodePort)).to.equal('ECONNREFUSED');

    proxy = await startServiceProxy({ kubeConfig: plane.kubeConfig });
    await answers(ip, 80, 'restart-0');
    await answers(lb.spec?.clusterIP ?? '', 80, 'restart-0');
    const after = await getService('restart-lb');
    expect(after.status?.loadBalancer?.ingress?.[0]?.ip).to.equal(ip);
    expect(after.metadata.resourceVersion, 'the restarted proxy wrote nothing').to.equal(statusVersion);
  });

  it('measures connections per second through the proxy against the endpoint directly, and counts them', async () => {
    const target = await pod('rate-0');
    const svc = await createService('rate');
    await createEndpoints('rate', [{ pod: target }]);
    const clusterIP = svc.spec?.clusterIP ?? '';
    await answers(clusterIP, 80, 'rate-0');
    const forwardedBefore = await forwardedConnections();
    const direct = await connectionRate(target.ip, POD_PORTS.raw, 2000, 16);
    const proxied = await connectionRate(clusterIP, 9000, 2000, 16);
    console.log(
      `      measured: ${Math.round(proxied.perSecond)} connections/s through the proxy, ${Math.round(direct.perSecond)}/s to the ` +
        `endpoint directly (2 s, 16 clients, ratio ${(proxied.perSecond / direct.perSecond).toFixed(2)})`,
    );
    expect(proxied.perSecond).to.be.greaterThan(100);
    expect((await forwardedConnections()) - forwardedBefore).to.equal(proxied.completed);
  });

  it('forwards the kubernetes Service to the apiserver, the way in-cluster clients reach it', async () => {
    const kubernetes = await client.get<Service>(SERVICE, { namespace: 'default', name: 'kubernetes' });
    const clusterIP = kubernetes?.spec?.clusterIP ?? '';
    const body = await waitFor(() => httpsGet(`https://${clusterIP}:443/readyz`, readFileSync(plane.caCertPath, 'utf8')), {
      ...WAIT,
      what: `the apiserver to answer on its Service address ${clusterIP}:443`,
    });
    expect(body).to.equal('ok');
  });
});
