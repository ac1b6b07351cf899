// The KubeVirt cloud controller manager against a real tenant and management cluster: two worker VirtualMachines
// (through the KubeVirt simulator) whose kubelets run with --cloud-provider=external join a real tenant control
// plane, and the CCM runs as a child process (from its image in image mode: localcloud/cluster/image-process.ts)
// with upstream's flags and a cloud-config naming the management cluster as infra. Traffic goes LB IP -> management
// service proxy -> infra Service -> virt-launcher pod (the VM) -> tenant kube-proxy NodePort -> tenant pod; under
// externalTrafficPolicy Local both proxies translate in the kernel without SNAT, so the pod sees the client's own address.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { stringify } from 'yaml';
import type { Service } from '../../../lib/apis/core.js';
import type { EndpointSlice } from '../../../lib/apis/discovery.js';
import type { VirtualMachineInstance } from '../../../lib/apis/kubevirt.js';
import { getCondition } from '../../../lib/controller/conditions.js';
import { podIpam } from '../../../localcloud/cluster/ipam.js';
import { runIptables } from '../../../localcloud/cluster/service-proxy/kernel-nat.js';
import { runIp } from '../../../localcloud/cluster/service-proxy/service-device.js';
import { CLUSTER_BRIDGE } from '../../../localcloud/cluster/topology.js';
import { TEST_ECHO_IMAGE } from '../../../localcloud/cluster/images.js';
import { kubectl } from '../../../localcloud/kubectl.js';
import type { Node } from '../../../localcloud/node-object.js';
import type { ManagedProcess } from '../../../localcloud/process.js';
import { imageMode, startProgram } from '../../../localcloud/cluster/image-process.js';
import { imageReference } from '../../../packaging/image.js';
import { completedPodLog } from '../../harness/pod-completion.js';
import { waitFor } from '../../../localcloud/wait.js';
import { podNetworkPlan } from '../../../simulators/guest/pod-network.js';
import { httpGetText } from '../../harness/http-get.js';
import { startTenantNodes, type TenantNodes } from '../../harness/tenant-nodes.js';
import { stepTimer } from '../../harness/step-timer.js';
import { loggedMetricsUrl, writeRequests } from '../../harness/write-requests.js';

const CLUSTER = 'acme';
const INFRA_NS = 'default';
const VMS = ['acme-md-0-vm1', 'acme-md-0-vm2'];
const FINALIZER = 'service.kubernetes.io/load-balancer-cleanup';

interface EchoAnswer {
  pod: string;
  /** The source address the pod saw the connection come from. */
  client: string;
}

/**
 * A client of the management network with an address of its own: a pod address the test process holds on the
 * cluster bridge, so its connections carry a source that no proxy on the way uses.
 */
async function managementClient(): Promise<{ ip: string; remove(): Promise<void> }> {
  const ip = podIpam.allocate();
  await runIp(['addr', 'replace', `${ip}/32`, 'dev', CLUSTER_BRIDGE]);
  return {
    ip,
    async remove() {
      await runIp(['addr', 'del', `${ip}/32`, 'dev', CLUSTER_BRIDGE]);
      podIpam.release(ip);
    },
  };
}

interface PodView {
  metadata: { name: string; deletionTimestamp?: string };
  spec: { nodeName?: string };
  status?: { phase?: string; conditions?: { type: string; status: string }[] };
}

describe('cloud controller manager: tenant Nodes and LoadBalancer Services served by the management cluster', function () {
  let fixture: TenantNodes | undefined;
  let ccm: ManagedProcess | undefined;
  let ccmRuns = 0;
  let mgmt: string;
  let admin: string;
  let cloudConfig: string;
  const { timings, timed } = stepTimer();

  const getJSON = async <T>(kubeconfig: string, args: string[]) => JSON.parse(await kubectl(kubeconfig, ['get', ...args, '-o', 'json'])) as T;
  const tenantService = (name: string) => getJSON<Service>(admin, ['service', '-n', 'default', name]);
  const infraServices = async (tenantName: string) =>
    (await getJSON<{ items: Service[] }>(mgmt, ['services', '-n', INFRA_NS, '-l', `cluster.x-k8s.io/tenant-service-name=${tenantName}`])).items;
  const infraName = (svc: Service) => `a${(svc.metadata.uid ?? '').replaceAll('-', '')}`.slice(0, 32);
  const ccmLog = () => ccm?.logTail(15) ?? 'ccm not running';

  /** The running CCM's POST, PATCH and DELETE requests on either cluster; its Lease renews with PUT, left out. */
  async function ccmWrites(): Promise<number> {
    const url = loggedMetricsUrl(ccm?.spec.logFile ?? '', 'serving metrics and probes');
    return Object.entries(await writeRequests(url)).reduce((sum, [key, n]) => (key.startsWith('PUT ') ? sum : sum + n), 0);
  }

  async function startCcm(): Promise<ManagedProcess> {
    ccmRuns++;
    const dir = fixture?.cluster.dir ?? '/tmp';
    return startProgram({
      name: `ccm-${String(ccmRuns)}`,
      component: 'ccm',
      args: [
        '--cloud-provider=kubevirt', `--cloud-config=${cloudConfig}`, `--kubeconfig=${admin}`, `--cluster-name=${CLUSTER}`,
        '--authentication-skip-lookup=true',
        // A killed leader's Lease must expire before its successor acts: short, for the restart test.
        '--leader-elect', '--leader-elect-lease-duration', '4s', '--leader-elect-renew-deadline', '3s', '--leader-elect-retry-period', '1s',
        '--metrics-bind-address', '127.0.0.1:0', '--health-probe-bind-address', '0', '--log-level', 'debug',
      ],
      // The cloud config names the management cluster's kubeconfig.
      paths: [cloudConfig, admin, mgmt],
      runDir: dir,
      logFile: join(dir, `ccm-${String(ccmRuns)}.log`),
    });
  }

  async function echoDeployment(replicas: number): Promise<void> {
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'echo', namespace: 'default' },
      spec: {
        replicas,
        selector: { matchLabels: { app: 'echo' } },
        template: {
          metadata: { labels: { app: 'echo' } },
          spec: {
            topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'echo' } } }],
            containers: [
              {
                name: 'echo',
                image: TEST_ECHO_IMAGE,
                ports: [{ containerPort: 8080 }],
                env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
                readinessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 1 },
              },
            ],
          },
        },
      },
    };
    await kubectl(admin, ['apply', '-f', '-'], stringify(deployment));
  }

  /** The default-interface IPs of the VMs behind the tenant Nodes hosting Ready echo pods, and those pods. */
  async function vmsHostingReadyEcho(): Promise<{ ips: string[]; pods: string[] }> {
    // A terminating pod may still show Ready, but its endpoint is no longer ready in the tenant's EndpointSlices.
    const pods = (await getJSON<{ items: PodView[] }>(admin, ['pods', '-l', 'app=echo'])).items.filter(
      (p) => !p.metadata.deletionTimestamp && p.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True',
    );
    const vmis = (await getJSON<{ items: VirtualMachineInstance[] }>(mgmt, ['vmi', '-n', INFRA_NS])).items;
    const nodes = new Set(pods.map((p) => p.spec.nodeName));
    const ips = vmis.filter((v) => nodes.has(v.metadata.name)).map((v) => v.status?.interfaces?.find((i) => i.name === 'default')?.ipAddress ?? '?');
    return { ips: ips.sort(), pods: pods.map((p) => p.metadata.name) };
  }

  const infraSlices = async (infraServiceName: string) =>
    (await getJSON<{ items: EndpointSlice[] }>(mgmt, ['endpointslices.discovery.k8s.io', '-n', INFRA_NS, '-l', `kubernetes.io/service-name=${infraServiceName}`])).items;

  /** Waits until the infra slices of `infraServiceName` list exactly the VMs hosting Ready echo pods (`want` of them). */
  async function slicesFollowEcho(infraServiceName: string, want: number): Promise<{ slices: EndpointSlice[]; pods: string[] }> {
    return waitFor(
      async () => {
        const hosting = await vmsHostingReadyEcho();
        const slices = await infraSlices(infraServiceName);
        const listed = slices.flatMap((sl) => (sl.endpoints ?? []).map((e) => e.addresses[0] ?? '')).sort();
        if (hosting.ips.length === want && hosting.pods.length > 0 && JSON.stringify(listed) === JSON.stringify(hosting.ips)) return { slices, pods: hosting.pods };
        throw new Error(`VMs hosting ready echo pods: ${hosting.ips.join(', ')}; infra slices list: ${listed.join(', ')}\nccm log:\n${ccmLog()}`);
      },
      { timeoutMs: 60_000, what: `infra EndpointSlices of ${infraServiceName} listing exactly the ${String(want)} VM(s) hosting ready echo pods` },
    );
  }

  /** What an echo pod answers to `client` through http://ip/. */
  async function echoThrough(ip: string, client: string): Promise<EchoAnswer> {
    return waitFor(
      async () => JSON.parse((await httpGetText(`http://${ip}/`, 5_000, client)).text) as EchoAnswer,
      { timeoutMs: 30_000, what: `an answer through ${ip} to a client at ${client}` },
    );
  }

  /** Every address a tenant node sends from: its InternalIP, and its pod bridge's (the first of its podCIDR). */
  async function tenantNodeAddresses(): Promise<string[]> {
    const nodes = (await getJSON<{ items: Node[] }>(admin, ['nodes'])).items;
    return nodes.flatMap((n) => [
      ...(n.status?.addresses ?? []).filter((a) => a.type === 'InternalIP').map((a) => a.address),
      ...(n.spec?.podCIDR ? [podNetworkPlan(n.spec.podCIDR).gateway] : []),
    ]);
  }

  function loadBalancerService(name: string, extra: { annotations?: Record<string, string>; labels?: Record<string, string>; loadBalancerClass?: string } = {}): object {
    return {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: 'default', ...(extra.annotations ? { annotations: extra.annotations } : {}), ...(extra.labels ? { labels: extra.labels } : {}) },
      spec: { type: 'LoadBalancer', selector: { app: 'echo' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }], ...(extra.loadBalancerClass ? { loadBalancerClass: extra.loadBalancerClass } : {}) },
    };
  }

  /** The tenant Service once it shows an address, and that address. */
  async function provisioned(name: string, timeoutMs = 60_000): Promise<{ service: Service; ip: string }> {
    return waitFor(
      async () => {
        const service = await tenantService(name);
        const ip = service.status?.loadBalancer?.ingress?.[0]?.ip;
        if (ip) return { service, ip };
        throw new Error(`${name}: ${JSON.stringify(service.status)} finalizers=${JSON.stringify(service.metadata.finalizers)}\nccm log:\n${ccmLog()}`);
      },
      { timeoutMs, what: `tenant Service ${name} to get a load-balancer address` },
    );
  }

  before(async function () {
    this.timeout(5 * 60_000);
    fixture = await timed('two VirtualMachines joined as tenant Nodes with --cloud-provider=external', () =>
      startTenantNodes({ clusterName: CLUSTER, vms: VMS, namespace: INFRA_NS, virtualMachines: true, kubeletExtraArgs: [{ name: 'cloud-provider', value: 'external' }] }),
    );
    ({ mgmt, admin } = fixture);
    cloudConfig = join(fixture.cluster.dir, 'cloud-config.yaml');
    writeFileSync(
      cloudConfig,
      stringify({ kubeconfig: mgmt, namespace: INFRA_NS, infraLabels: { 'kvcloud.io/e2e': 'ccm' }, loadBalancer: { creationPollTimeout: 120, enableEPSController: true }, instancesV2: { zoneAndRegionEnabled: true } }),
    );
    ccm = await startCcm();
  });

  after(async function () {
    this.timeout(3 * 60_000);
    await ccm?.stop();
    await fixture?.stop();
    for (const t of timings) console.log(`      ${t}`);
  });

  it('initialises the new Nodes: uninitialized taint gone, providerID kubevirt://<vm>, addresses from the VMI, zone and region from the infra Node', async function () {
    this.timeout(120_000);
    const nodes = await timed('Nodes initialised by the CCM', () =>
      waitFor(
        async () => {
          const items = (await getJSON<{ items: Node[] }>(admin, ['nodes'])).items;
          const tainted = items.filter((n) => n.spec?.taints?.some((t) => t.key === 'node.cloudprovider.kubernetes.io/uninitialized'));
          if (items.length === VMS.length && tainted.length === 0) return items;
          throw new Error(`${String(tainted.length)} of ${String(items.length)} still uninitialized\nccm log:\n${ccmLog()}`);
        },
        { timeoutMs: 90_000, what: 'both Nodes initialised' },
      ),
    );
    for (const n of nodes) {
      const name = n.metadata.name ?? '';
      const vmi = await getJSON<VirtualMachineInstance>(mgmt, ['vmi', '-n', INFRA_NS, name]);
      expect(n.spec?.providerID, name).to.equal(`kubevirt://${name}`);
      const vmiIP = vmi.status?.interfaces?.find((i) => i.name === 'default')?.ipAddress;
      expect(n.status?.addresses, name).to.deep.include({ type: 'InternalIP', address: vmiIP });
      expect(n.metadata.labels, name).to.include({ 'topology.kubernetes.io/zone': 'zone-a', 'topology.kubernetes.io/region': 'kvcloud-local' });
    }
  });

  it("runs a kvcloud image's pod in a VM from the image itself in image mode, as the management cluster does", async function () {
    // From the work tree a kvcloud image is the work tree's program, with no root of its own to look into.
    if (!imageMode()) this.skip();
    this.timeout(60_000);
    const name = 'kvcloud-image';
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'default' },
      spec: {
        restartPolicy: 'Never',
        containers: [{ name, image: imageReference('ccm'), command: ['/nodejs/bin/node', '-e', 'console.log(process.cwd(), require("node:fs").existsSync("/app/ccm/main.js"))'] }],
      },
    };
    await kubectl(admin, ['apply', '-f', '-'], stringify(pod));
    const log = await timed('a ccm image pod run to completion in a VM', () => completedPodLog(admin, name, { timeoutMs: 45_000 }));
    expect(log.trim(), "the image's node, working directory and files").to.equal('/app true');
    const status = await getJSON<{ status?: { containerStatuses?: { imageID?: string }[] } }>(admin, ['pod', name]);
    expect(status.status?.containerStatuses?.[0]?.imageID).to.match(/^ghcr\.io\/kvcloud\/ccm@sha256:[0-9a-f]{64}$/);
    await kubectl(admin, ['delete', 'pod', name, '--wait=false']);
  });

  it('serves a tenant Deployment behind a LoadBalancer Service from the management load balancer, answers from every replica', async function () {
    this.timeout(240_000);
    if (!fixture) throw new Error('no fixture');
    const tenantNodes = fixture;
    await timed('kube-proxy and CoreDNS on the initialised Nodes', () => tenantNodes.installAddons());
    await echoDeployment(4);
    await kubectl(admin, ['apply', '-f', '-'], stringify(loadBalancerService('web', { annotations: { 'example.com/tier': 'gold' } })));
    const { service, ip } = await timed('tenant Service with an address', () => provisioned('web'));
    expect(service.metadata.finalizers).to.include(FINALIZER);
    expect(getCondition(service, 'LoadBalancerReady')).to.include({ status: 'True', reason: 'Provisioned' });

    const [infra, ...more] = await infraServices('web');
    expect(more, 'one infra Service').to.have.length(0);
    expect(infra?.metadata.name).to.equal(infraName(service));
    expect(infra?.metadata.labels).to.include({ 'cluster.x-k8s.io/tenant-service-namespace': 'default', 'cluster.x-k8s.io/cluster-name': CLUSTER, 'kvcloud.io/e2e': 'ccm' });
    expect(infra?.metadata.annotations).to.include({ 'example.com/tier': 'gold' });
    expect(infra?.spec?.selector).to.deep.equal({ 'cluster.x-k8s.io/role': 'worker', 'cluster.x-k8s.io/cluster-name': CLUSTER });
    expect(infra?.spec?.ports?.[0]).to.include({ port: 80, targetPort: service.spec?.ports?.[0]?.nodePort });
    expect(infra?.status?.loadBalancer?.ingress?.[0]?.ip).to.equal(ip);

    const pods = await waitFor(
      async () => {
        const items = (await getJSON<{ items: PodView[] }>(admin, ['pods', '-l', 'app=echo'])).items;
        const ready = items.filter((p) => p.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True');
        return ready.length === 4 ? ready.map((p) => p.metadata.name) : undefined;
      },
      { timeoutMs: 120_000, what: 'four echo pods Ready' },
    );
    const seen = new Set<string>();
    await timed('answers from all 4 replicas through the LB IP', () =>
      waitFor(
        async () => {
          const { text } = await httpGetText(`http://${ip}/`, 5_000);
          seen.add((JSON.parse(text) as { pod: string }).pod);
          if (pods.every((p) => seen.has(p))) return true;
          throw new Error(`answers so far from ${[...seen].join(', ')}`);
        },
        { timeoutMs: 60_000, what: `answers from every echo replica through ${ip}` },
      ),
    );
  });

  it('keeps tenant annotation and label changes in sync on the infra Service, and writes nothing at steady state', async function () {
    this.timeout(60_000);
    await kubectl(admin, ['annotate', 'service', 'web', 'example.com/tier=platinum', 'example.com/new=1', '--overwrite']);
    await kubectl(admin, ['label', 'service', 'web', 'team=blue']);
    await waitFor(
      async () => {
        const [infra] = await infraServices('web');
        const a = infra?.metadata.annotations ?? {};
        if (a['example.com/tier'] === 'platinum' && a['example.com/new'] === '1' && infra?.metadata.labels?.team === 'blue') return true;
        throw new Error(`infra Service: ${JSON.stringify(infra?.metadata)}`);
      },
      { timeoutMs: 30_000, what: 'the new annotations and label on the infra Service' },
    );
    await kubectl(admin, ['annotate', 'service', 'web', 'example.com/new-']);
    await waitFor(
      async () => {
        const [infra] = await infraServices('web');
        if (!infra?.metadata.annotations?.['example.com/new']) return true;
        throw new Error(`infra Service annotations: ${JSON.stringify(infra.metadata.annotations)}`);
      },
      { timeoutMs: 30_000, what: 'the removed annotation gone from the infra Service' },
    );
    // Steady state: with everything above settled, the CCM's writes (POST, PATCH, DELETE on either cluster; the
    // Lease renews with PUT) stay where they are while kubelet heartbeats and VMI updates keep arriving.
    const before = await ccmWrites();
    await new Promise((resolve) => setTimeout(resolve, 6_000)); // a window to observe that nothing happens
    expect(await ccmWrites(), 'writes at steady state').to.equal(before);
  });

  it('leaves a Service with a foreign loadBalancerClass alone', async function () {
    this.timeout(60_000);
    await kubectl(admin, ['apply', '-f', '-'], stringify(loadBalancerService('foreign', { loadBalancerClass: 'example.com/other-lb' })));
    // A Service of ours created after it: once it is served, the CCM has seen the foreign one too.
    await kubectl(admin, ['apply', '-f', '-'], stringify(loadBalancerService('after-foreign')));
    await provisioned('after-foreign');
    const foreign = await tenantService('foreign');
    expect(foreign.metadata.finalizers ?? []).to.deep.equal([]);
    expect(foreign.status?.loadBalancer?.ingress ?? []).to.deep.equal([]);
    expect(await infraServices('foreign')).to.deep.equal([]);
    await kubectl(admin, ['delete', 'service', 'foreign', 'after-foreign', '--wait=true', '--timeout=60s']);
  });

  it('deleting the tenant Service removes the infra Service, then the finalizer', async function () {
    this.timeout(60_000);
    await timed('tenant Service deletion through the finalizer', () => kubectl(admin, ['delete', 'service', 'web', '--wait=true', '--timeout=45s']));
    expect(await infraServices('web')).to.deep.equal([]);
  });

  it('externalTrafficPolicy Local: infra EndpointSlices list exactly the VMs hosting ready endpoints and follow a scale-down; the pod sees the client address', async function () {
    this.timeout(180_000);
    const localService = loadBalancerService('local') as { spec: Record<string, unknown> };
    localService.spec.externalTrafficPolicy = 'Local';
    await kubectl(admin, ['apply', '-f', '-'], stringify(localService));
    const { service, ip } = await timed('Local tenant Service with an address', () => provisioned('local'));
    const [infra] = await infraServices('local');
    expect(infra?.spec?.selector, 'the EndpointSlice controller fills it, not a selector').to.equal(undefined);
    expect(infra?.spec?.externalTrafficPolicy).to.equal('Local');
    const both = await timed('infra slices listing both VMs', () => slicesFollowEcho(infraName(service), VMS.length));
    expect(both.slices.map((sl) => sl.metadata.name), 'one slice, named after the infra Service').to.deep.equal([`${infraName(service)}-ipv4`]);
    const [slice] = both.slices;
    expect(slice?.metadata.ownerReferences?.[0]).to.include({ kind: 'Service', name: infraName(service), uid: infra?.metadata.uid, controller: true });
    expect(slice?.metadata.labels).to.include({ 'endpointslice.kubernetes.io/managed-by': 'kubevirt-eps-controller', 'cluster.x-k8s.io/cluster-name': CLUSTER });
    expect(slice?.ports?.[0]).to.include({ port: service.spec?.ports?.[0]?.nodePort });

    const nodeOf = new Map((await getJSON<{ items: PodView[] }>(admin, ['pods', '-l', 'app=echo'])).items.map((p) => [p.metadata.name, p.spec.nodeName]));
    await kubectl(admin, ['scale', 'deployment', 'echo', '--replicas=1']);
    const one = await timed('infra slices following the scale-down to one VM', () => slicesFollowEcho(infraName(service), 1));
    const remaining = one.pods[0] ?? '';
    // Through the LB IP, only the VM with the remaining pod is reached, and it answers locally: never a pod on
    // another VM. A sibling on the same VM may answer while it terminates and until the VM's kube-proxy has
    // dropped it, so its deletion, and that alone, is waited out (the answers below must all be the remaining pod).
    await waitFor(
      async () => {
        const left = (await getJSON<{ items: PodView[] }>(admin, ['pods', '-l', 'app=echo'])).items.map((p) => p.metadata.name);
        if (left.length === 1) return true;
        throw new Error(`echo pods: ${left.join(', ')}`);
      },
      { timeoutMs: 60_000, what: 'the scaled-down echo pods deleted' },
    );
    const answered = await waitFor(
      async () => {
        const { pod } = JSON.parse((await httpGetText(`http://${ip}/`, 5_000)).text) as { pod: string };
        return pod === remaining || nodeOf.get(pod) !== nodeOf.get(remaining) ? pod : undefined;
      },
      { timeoutMs: 30_000, what: `an answer through ${ip} from ${remaining}` },
    );
    expect(answered, `answered by a pod on ${String(nodeOf.get(answered))}, the remaining pod is on ${String(nodeOf.get(remaining))}`).to.equal(remaining);

    // A client with an address of its own: the management load balancer and the VM's kube-proxy both DNAT without
    // SNAT, so the pod sees exactly that address. Under Cluster the VM's kube-proxy relays, and the pod sees a node.
    const client = await managementClient();
    try {
      const viaLocal = await timed('the client address through the Local LB', () => echoThrough(ip, client.ip));
      expect(viaLocal).to.include({ pod: one.pods[0], client: client.ip });
      await kubectl(admin, ['apply', '-f', '-'], stringify(loadBalancerService('cluster-policy')));
      const clusterLB = await provisioned('cluster-policy');
      const viaCluster = await echoThrough(clusterLB.ip, client.ip);
      expect(viaCluster.client, 'under Cluster the pod sees a node').to.not.equal(client.ip);
      expect(await tenantNodeAddresses()).to.include(viaCluster.client);
      await kubectl(admin, ['delete', 'service', 'cluster-policy', '--wait=true', '--timeout=45s']);
    } finally {
      await client.remove();
    }

    await kubectl(admin, ['delete', 'service', 'local', '--wait=true', '--timeout=45s']);
    expect(await infraSlices(infraName(service)), 'the slices go with the infra Service').to.deep.equal([]);
    // The management load balancer's NAT rules for the address go with the Service.
    await waitFor(
      async () => {
        const rules = await runIptables('iptables-save', ['-t', 'nat']);
        if (!rules.includes(` ${ip}/32 `)) return true;
        throw new Error(`the nat table still names ${ip}:\n${rules}`);
      },
      { timeoutMs: 30_000, what: `no kernel NAT rule left for ${ip}` },
    );
  });

  it('says why an address is pending; a CCM killed mid-creation and restarted leaves exactly one infra Service', async function () {
    this.timeout(120_000);
    // An IP outside the management pool: the infra Service is created but the load balancer cannot serve it, so
    // creation stays in progress until the request is dropped.
    const pending = loadBalancerService('crash') as { spec: Record<string, unknown> };
    pending.spec.loadBalancerIP = '192.0.2.1';
    await kubectl(admin, ['apply', '-f', '-'], stringify(pending));
    const waiting = await waitFor(
      async () => {
        const svc = await tenantService('crash');
        const c = getCondition(svc, 'LoadBalancerReady');
        if (c?.reason === 'WaitingForAddress') return c;
        throw new Error(`condition: ${JSON.stringify(c)}\nccm log:\n${ccmLog()}`);
      },
      { timeoutMs: 30_000, what: 'LoadBalancerReady False with WaitingForAddress on crash' },
    );
    expect(waiting.status).to.equal('False');
    expect(await infraServices('crash')).to.have.length(1);
    process.kill(-(ccm?.pid ?? 0), 'SIGKILL');
    await ccm?.exited;
    await kubectl(admin, ['patch', 'service', 'crash', '--type=json', '-p', '[{"op":"remove","path":"/spec/loadBalancerIP"}]']);
    ccm = await startCcm();
    const { service } = await timed('restarted CCM finishing the creation', () => provisioned('crash', 90_000));
    const infra = await infraServices('crash');
    expect(infra.map((s) => s.metadata.name)).to.deep.equal([infraName(service)]);
    expect(infra[0]?.spec?.loadBalancerIP, 'the dropped request is gone from the infra Service').to.equal(undefined);
    await kubectl(admin, ['delete', 'service', 'crash', '--wait=true', '--timeout=45s']);
  });

  it('taints the Node of a stopped VM as shut down, and lifts the taint when the VM runs again', async function () {
    this.timeout(150_000);
    const vm = VMS[1] ?? '';
    // What virtctl stop and start do to a VM with runStrategy Always; the fixture's apiserver answers 401 for the
    // aggregated stop/start subresources, so the suite writes the runStrategy as they would.
    const runStrategy = (strategy: string) =>
      kubectl(mgmt, ['patch', 'virtualmachines.kubevirt.io', '-n', INFRA_NS, vm, '--type=merge', '-p', JSON.stringify({ spec: { runStrategy: strategy } })]);
    const shutdownTaint = async () => (await getJSON<Node>(admin, ['node', vm])).spec?.taints?.find((t) => t.key === 'node.cloudprovider.kubernetes.io/shutdown');
    await runStrategy('Halted');
    const taint = await timed('shutdown taint after the VM stopped', () =>
      waitFor(
        async () => {
          const t = await shutdownTaint();
          if (t) return t;
          throw new Error(`no shutdown taint on ${vm}\nccm log:\n${ccmLog()}`);
        },
        { timeoutMs: 60_000, what: `Node ${vm} tainted as shut down` },
      ),
    );
    expect(taint.effect).to.equal('NoSchedule');
    await runStrategy('Always');
    await timed('shutdown taint lifted after the VM started', () =>
      waitFor(
        async () => {
          if (!(await shutdownTaint())) return true;
          const vmi = await kubectl(mgmt, ['get', 'vmi', '-n', INFRA_NS, vm, '-o', 'jsonpath={.status.phase}']).catch(() => 'none');
          throw new Error(`${vm} still tainted; VMI phase ${vmi}\nccm log:\n${ccmLog()}`);
        },
        { timeoutMs: 60_000, what: `the shutdown taint lifted from ${vm}` },
      ),
    );
  });

  it('deletes the Node of a deleted VirtualMachine', async function () {
    this.timeout(120_000);
    const vm = VMS[1] ?? '';
    await timed('Node deleted after its VM', async () => {
      await kubectl(mgmt, ['delete', 'virtualmachines.kubevirt.io', '-n', INFRA_NS, vm, '--wait=false']);
      await waitFor(
        async () => {
          const names = (await getJSON<{ items: Node[] }>(admin, ['nodes'])).items.map((n) => n.metadata.name);
          if (!names.includes(vm)) return true;
          throw new Error(`Nodes: ${names.join(', ')}\nccm log:\n${ccmLog()}`);
        },
        { timeoutMs: 90_000, what: `Node ${vm} deleted` },
      );
    });
    const remaining = (await getJSON<{ items: Node[] }>(admin, ['nodes'])).items.map((n) => n.metadata.name);
    expect(remaining).to.deep.equal([VMS[0]]);
  });
});
