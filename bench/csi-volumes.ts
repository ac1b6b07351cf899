// Benchmark: CSI volumes in one tenant, and the gRPC overhead of the driver's server, in one run.
// (a) A tenant of two VMs (KubeVirt simulator, guest kubelets) with kvcloud's CSI controller, the real
//     external-provisioner and external-attacher, and a node plugin in each VM. First one PVC with its pod alone, then
//     N PVCs with a pod each, all created at once: volumes created+attached+published per minute (N over the time
//     until the last pod runs) and the time from PVC to Running pod (p50, max). The same pods with an emptyDir instead
//     of a PVC give the baseline, so the volume's share of a pod's start prints as a ratio.
// (b) kvcloud's CSI server (csi/server.ts: Identity, Controller and Node tables as the driver serves them) against a
//     raw @grpc/grpc-js server of the same csi.proto services answering the same responses, both on unix sockets as
//     the sidecars and the kubelet dial them, one client taking turns: p50/p99 per RPC and the ratio ours/raw. The
//     RPCs chosen touch no apiserver, so the ratio is the server's own overhead.
// Heavy (a tenant cluster), so not part of `make test`. Run inside the cluster network namespace:
//   tsx localcloud/cluster/netns.ts tsx bench/csi-volumes.ts [volumes=10] [calls=2000] [part=all|grpc|volumes]
// (part grpc needs no cluster, nor the network namespace.)
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { KubeConfig } from '@kubernetes/client-node';
import { parseAllDocuments, stringify } from 'yaml';
import { Client } from '../lib/kube/client.js';
import type { KubeObject } from '../lib/kube/object.js';
import { RestMapper } from '../lib/kube/rest-mapper.js';
import { RestTransport } from '../lib/kube/rest-transport.js';
import { createLogger } from '../lib/observability/logger.js';
import { ControllerService } from '../csi/controller/controller.js';
import { DRIVER_NAME, identityService } from '../csi/identity.js';
import { systemDeviceFinder } from '../csi/node/device.js';
import { systemMounter } from '../csi/node/mounts.js';
import { NodeService } from '../csi/node/node.js';
import { serveCsi, type RpcTable } from '../csi/server.js';
import { defaultCsiProtoPath, loadCsiServices, type CsiServices } from '../csi/spec.js';
import { buildTool, cacheDir } from '../localcloud/binaries.js';
import { TEST_SHELL_IMAGE } from '../localcloud/cluster/images.js';
import { kubectl } from '../localcloud/kubectl.js';
import { ManagedProcess } from '../localcloud/process.js';
import { parseVersionsEnv, toolsDir } from '../localcloud/versions.js';
import { waitFor } from '../localcloud/wait.js';
import { compiledMain } from '../packaging/compiled-js.js';
import { buildCsiManifest } from '../packaging/release-manifests.js';
import { startGuestNodePlugin } from '../e2e/harness/guest-node-plugin.js';
import { startTenantNodes } from '../e2e/harness/tenant-nodes.js';
import { controllerInfraKubeconfig, INFRA_NS } from '../e2e/harness/csi-controller-identity.js';

const N = Number(process.argv[2] ?? 10);
const CALLS = Number(process.argv[3] ?? 2000);
const PART = process.argv[4] ?? 'all';
const VMS = ['bench-a', 'bench-b'];
const WARMUP = 200;
// Ours and raw take turns in blocks, so a slow moment of the machine falls on both alike.
const BLOCKS = 10;
const POD_TIMEOUT_MS = 10 * 60_000;

const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
const seconds = (v: number): string => `${(v / 1000).toFixed(1)} s`;

// ---- (a) volumes in a tenant ----------------------------------------------------------------------------------

interface PodView {
  metadata: { name: string };
  status?: { phase?: string };
}

function benchPod(name: string, node: string, volume: object): object {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { bench: 'csi' } },
    spec: {
      nodeSelector: { 'kubernetes.io/hostname': node },
      terminationGracePeriodSeconds: 0,
      containers: [{ name: 'main', image: TEST_SHELL_IMAGE, command: ['/bin/sh', '-c', 'sleep 3600'], volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
      volumes: [{ name: 'data', ...volume }],
    },
  };
}

const claim = (name: string) => ({
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: { name, namespace: 'default', labels: { bench: 'csi' } },
  spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'kubevirt', resources: { requests: { storage: '16Mi' } } },
});

/** Applies the objects at once and returns, per pod, the ms from the apply until it was first seen Running. */
async function untilRunning(admin: string, objects: object[], pods: string[]): Promise<Map<string, number>> {
  const running = new Map<string, number>();
  const t0 = performance.now();
  await kubectl(admin, ['apply', '-f', '-'], objects.map((o) => stringify(o)).join('---\n'));
  await waitFor(
    async () => {
      const items = (JSON.parse(await kubectl(admin, ['get', 'pods', '-l', 'bench=csi', '-o', 'json'])) as { items: PodView[] }).items;
      for (const p of items) if (p.status?.phase === 'Running' && !running.has(p.metadata.name)) running.set(p.metadata.name, performance.now() - t0);
      if (pods.every((p) => running.has(p))) return true;
      throw new Error(`${String(running.size)}/${String(pods.length)} pods Running`);
    },
    { timeoutMs: POD_TIMEOUT_MS, intervalMs: 200, what: `${String(pods.length)} pods Running` },
  );
  return running;
}

async function cleanUp(admin: string): Promise<void> {
  await kubectl(admin, ['delete', 'pods,pvc', '-l', 'bench=csi', '--wait=true', '--timeout=300s']);
}

interface Burst {
  perMinute: number;
  p50: number;
  max: number;
}

async function burst(admin: string, count: number, prefix: string, withVolume: boolean): Promise<Burst> {
  const names = Array.from({ length: count }, (_, i) => `${prefix}-${String(i)}`);
  const objects = names.flatMap((n, i) => {
    const node = VMS[i % VMS.length] ?? '';
    return withVolume ? [claim(n), benchPod(n, node, { persistentVolumeClaim: { claimName: n } })] : [benchPod(n, node, { emptyDir: {} })];
  });
  const times = [...(await untilRunning(admin, objects, names)).values()].sort((a, b) => a - b);
  await cleanUp(admin);
  const last = times[times.length - 1] ?? Number.NaN;
  return { perMinute: (count / last) * 60_000, p50: quantile(times, 0.5), max: last };
}

async function tenantVolumes(): Promise<void> {
  for (const tool of ['csi-spec', 'csi-registration', 'csi-provisioner', 'csi-attacher']) buildTool(tool);
  const fixture = await startTenantNodes({ clusterName: 'acme', vms: VMS, namespace: INFRA_NS, virtualMachines: true });
  const processes: ManagedProcess[] = [];
  try {
    const { mgmt, admin } = fixture;
    const dir = fixture.cluster.dir;
    const versions = parseVersionsEnv(readFileSync(join(toolsDir, 'versions.env'), 'utf8'));
    const sidecar = (name: string, key: string) => join(cacheDir(), 'bin', `${name}-${versions.get(key) ?? ''}`, name);
    const start = async (name: string, command: string, args: string[]) => {
      processes.push(await ManagedProcess.start({ name, command, args, logFile: join(dir, `${name}.log`), env: { KVCLOUD_CACHE: cacheDir() } }));
    };
    const socket = join(dir, 'csi-controller.sock');
    const tenantObjects = parseAllDocuments(await buildCsiManifest('config/csi/tenant')).map((d) => d.toJS() as KubeObject).filter((o) => o.kind !== 'DaemonSet');
    writeFileSync(join(dir, 'csi-tenant.yaml'), tenantObjects.map((o) => stringify(o)).join('---\n'));
    await start('csi-controller', process.execPath, [
      compiledMain('csi/main.ts'), `--endpoint=unix://${socket}`, '--run-node-service=false', `--infra-cluster-namespace=${INFRA_NS}`,
      `--infra-cluster-kubeconfig=${await controllerInfraKubeconfig(mgmt, dir)}`, '--infra-cluster-labels=csi-driver/tenant=acme', '--cluster-name=acme',
      `--tenant-cluster-kubeconfig=${admin}`, `--tenant-manifests=${join(dir, 'csi-tenant.yaml')}`,
    ]);
    await start('csi-provisioner', sidecar('csi-provisioner', 'EXTERNAL_PROVISIONER_VERSION'), [`--csi-address=${socket}`, `--kubeconfig=${admin}`, '--timeout=120s']);
    await start('csi-attacher', sidecar('csi-attacher', 'EXTERNAL_ATTACHER_VERSION'), [`--csi-address=${socket}`, `--kubeconfig=${admin}`, '--timeout=120s']);
    for (const vm of VMS) processes.push(await startGuestNodePlugin({ runner: fixture.cluster.runner, namespace: INFRA_NS, vm, pluginDir: `/var/lib/kubelet/plugins/${DRIVER_NAME}`, logDir: dir }));
    await waitFor(
      async () => {
        const drivers = await Promise.all(VMS.map(async (vm) => (JSON.parse(await kubectl(admin, ['get', 'csinode', vm, '-o', 'json'])) as { spec: { drivers: { name: string }[] | null } }).spec.drivers ?? []));
        const storageClasses = await kubectl(admin, ['get', 'storageclass', '-o', 'name']);
        if (drivers.every((d) => d.some((x) => x.name === DRIVER_NAME)) && storageClasses.includes('storageclass.storage.k8s.io/kubevirt')) return true;
        throw new Error('driver not registered on both nodes, or StorageClass kubevirt not applied yet');
      },
      { timeoutMs: 120_000, what: 'the driver registered and its StorageClass applied' },
    );

    const single = await burst(admin, 1, 'single', true);
    const baseline = await burst(admin, N, 'nopvc', false);
    const volumes = await burst(admin, N, 'vol', true);
    console.log(`(a) one tenant, ${String(VMS.length)} VMs; external-provisioner, external-attacher, guest kubelets; pods alternate between the VMs`);
    console.log(`    one PVC alone: PVC to Running pod ${seconds(single.max)}`);
    console.log(`    ${String(N)} PVCs with a pod each, at once: ${volumes.perMinute.toFixed(1)} volumes created+attached+published per minute; PVC to Running pod p50 ${seconds(volumes.p50)}, max ${seconds(volumes.max)}`);
    console.log(`    ${String(N)} pods with an emptyDir, at once (baseline): ${baseline.perMinute.toFixed(1)} pods per minute; to Running p50 ${seconds(baseline.p50)}, max ${seconds(baseline.max)}`);
    console.log(`    ratio PVC pods / emptyDir pods: p50 ${(volumes.p50 / baseline.p50).toFixed(2)}, last ${(volumes.max / baseline.max).toFixed(2)}`);
  } finally {
    for (const p of processes.reverse()) await p.stop();
    await fixture.stop();
  }
}

// ---- (b) gRPC overhead of the CSI server ----------------------------------------------------------------------

type ServiceName = keyof CsiServices;
const RPCS: { service: ServiceName; method: string }[] = [
  { service: 'Identity', method: 'GetPluginInfo' },
  { service: 'Identity', method: 'GetPluginCapabilities' },
  { service: 'Controller', method: 'ControllerGetCapabilities' },
  { service: 'Node', method: 'NodeGetCapabilities' },
  { service: 'Node', method: 'NodeGetInfo' },
];

type Call = (service: ServiceName, method: string) => Promise<object>;

function dial(services: CsiServices, socket: string): { call: Call; close: () => void } {
  const clients = new Map<ServiceName, grpc.Client>();
  for (const name of ['Identity', 'Controller', 'Node'] as const) {
    const Ctor = grpc.makeGenericClientConstructor(services[name], name);
    clients.set(name, new Ctor(`unix://${socket}`, grpc.credentials.createInsecure()));
  }
  const call: Call = (service, method) =>
    new Promise((resolve, reject) => {
      const client = clients.get(service) as unknown as Record<string, (req: object, cb: (err: grpc.ServiceError | null, res: object) => void) => void>;
      client[method]?.call(client, {}, (err, res) => {
        if (err) reject(err);
        else resolve(res);
      });
    });
  return { call, close: () => { for (const c of clients.values()) c.close(); } };
}

async function timeCalls(call: Call, rpc: (typeof RPCS)[number], count: number, into: number[]): Promise<void> {
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    await call(rpc.service, rpc.method);
    into.push(performance.now() - t);
  }
}

async function serverOverhead(): Promise<void> {
  const services = loadCsiServices(defaultCsiProtoPath());
  const dir = mkdtempSync(join(tmpdir(), 'csi-bench-'));
  // The driver's log level; a served RPC logs at debug, so nothing is written per call, as in production.
  const log = createLogger({ level: 'info', component: 'csi-bench' });
  // The controller's infra is an address nothing serves: the RPCs timed here never reach it.
  const nowhere = new KubeConfig();
  nowhere.loadFromOptions({ clusters: [{ name: 'none', server: 'https://127.0.0.1:1' }], users: [{ name: 'none' }], contexts: [{ name: 'none', cluster: 'none', user: 'none' }], currentContext: 'none' });
  const transport = await RestTransport.fromKubeConfig(nowhere);
  const infra = new Client({ transport, mapper: new RestMapper(transport), fieldManager: 'csi-bench' });
  const controller = new ControllerService({ infra, infraNamespace: INFRA_NS, infraLabels: { 'csi-driver/tenant': 'bench' }, log });
  const node = new NodeService({ nodeId: `${INFRA_NS}/bench-a`, zone: 'zone-a', devices: systemDeviceFinder(), mounter: systemMounter, log });
  const tables: Record<ServiceName, RpcTable> = { Identity: identityService({ vendorVersion: 'bench', ready: () => Promise.resolve(true), topology: true }), Controller: controller.rpcs(), Node: node.rpcs() };
  const ours = await serveCsi({ endpoint: `unix://${join(dir, 'ours.sock')}`, services, identity: tables.Identity, controller: tables.Controller, node: tables.Node, log });
  const oursClient = dial(services, ours.address);
  const raw = new grpc.Server();
  try {
    // The raw server's answers: ours', captured once per RPC, so both put the same bytes on the wire.
    const canned = new Map<string, object>();
    for (const rpc of RPCS) canned.set(rpc.method, await oursClient.call(rpc.service, rpc.method));
    for (const name of ['Identity', 'Controller', 'Node'] as const) {
      const impl: grpc.UntypedServiceImplementation = {};
      for (const rpc of RPCS.filter((r) => r.service === name)) {
        const response = canned.get(rpc.method) ?? {};
        impl[rpc.method] = (_call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
          callback(null, response);
        };
      }
      raw.addService(services[name], impl);
    }
    const rawSocket = join(dir, 'raw.sock');
    await new Promise<void>((resolve, reject) => {
      raw.bindAsync(`unix://${rawSocket}`, grpc.ServerCredentials.createInsecure(), (err) => {
        if (err) reject(err);
        else resolve();
      });
    });
    const rawClient = dial(services, rawSocket);
    console.log(`(b) ${String(CALLS)} sequential calls per RPC and server over unix sockets, in ${String(BLOCKS)} alternating blocks`);
    console.log(`    ${'RPC'.padEnd(38)} ${'ours p50'.padStart(10)} ${'ours p99'.padStart(10)}   ${'raw p50'.padStart(10)} ${'raw p99'.padStart(10)}   p50 ratio  p99 ratio`);
    const ratios: number[] = [];
    const ms = (v: number) => `${v.toFixed(3)} ms`;
    for (const rpc of RPCS) {
      await timeCalls(oursClient.call, rpc, WARMUP, []);
      await timeCalls(rawClient.call, rpc, WARMUP, []);
      const oursMs: number[] = [];
      const rawMs: number[] = [];
      const block = Math.ceil(CALLS / BLOCKS);
      for (let b = 0; b < BLOCKS; b++) {
        await timeCalls(oursClient.call, rpc, block, oursMs);
        await timeCalls(rawClient.call, rpc, block, rawMs);
      }
      oursMs.sort((a, b) => a - b);
      rawMs.sort((a, b) => a - b);
      const [o50, o99, r50, r99] = [quantile(oursMs, 0.5), quantile(oursMs, 0.99), quantile(rawMs, 0.5), quantile(rawMs, 0.99)];
      ratios.push(o50 / r50);
      console.log(`    ${`${rpc.service}.${rpc.method}`.padEnd(38)} ${ms(o50).padStart(10)} ${ms(o99).padStart(10)}   ${ms(r50).padStart(10)} ${ms(r99).padStart(10)}   ${(o50 / r50).toFixed(2).padStart(9)}  ${(o99 / r99).toFixed(2).padStart(9)}`);
    }
    const geomean = Math.exp(ratios.reduce((s, r) => s + Math.log(r), 0) / ratios.length);
    console.log(`    geometric mean of the p50 ratios ours/raw: ${geomean.toFixed(2)}`);
    rawClient.close();
  } finally {
    oursClient.close();
    raw.forceShutdown();
    await ours.stop();
    transport.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (PART !== 'volumes') await serverOverhead();
if (PART !== 'grpc') await tenantVolumes();
