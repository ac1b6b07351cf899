// Benchmark: N TenantControlPlanes (default 10) created at once on one etcd DataStore, through the real Kamaji and
// through kvcloud's control plane provider, one after the other in one run, each in its own local management cluster
// (both serve the same CRDs, so they cannot share one), both running as pods as their users install them
// (e2e/harness/peer-control-planes.ts). Per operator: seconds from creation to each tenant Ready, the operator process's
// CPU seconds and RSS (from /proc), its API requests per tenant (its own rest_client_requests_total, management and
// tenant apiservers apart), then requests and writes per minute at steady state (nothing changing). Ratios are
// kvcloud / Kamaji. Heavy, so not part of `make test`. Inside the cluster network namespace, with the run directory
// outside /tmp (the Makefile's test-kamaji-peer says why):
//   TMPDIR=/var/tmp KAMAJI_BIN=<binary> KAMAJI_SRC=<source tree> tsx localcloud/cluster/netns.ts tsx bench/peers/tenant-control-planes.ts [N] [--kvcloud-first]
import { kubernetesServiceIP } from '../../localcloud/cluster/cluster.js';
import { TENANT_POD_CIDR, TENANT_SERVICE_CIDR } from '../../localcloud/cluster/topology.js';
import { kubectl } from '../../localcloud/kubectl.js';
import { waitFor } from '../../localcloud/wait.js';
import { httpGetText } from '../../e2e/harness/http-get.js';
import { cpuSeconds, statusBytes } from './process-stats.js';
import {
  CONTROL_PLANE_PEERS,
  DATASTORE,
  kamajiInputs,
  operatorProcess,
  startControlPlaneCloud,
  type ControlPlanePeer,
  type OperatorProcess,
} from '../../e2e/harness/peer-control-planes.js';

const N = Number(process.argv.slice(2).find((a) => !a.startsWith('--')) ?? 10);
const ORDER = process.argv.includes('--kvcloud-first') ? [...CONTROL_PLANE_PEERS].reverse() : CONTROL_PLANE_PEERS;
const NAMESPACE = 'bench-tenants';
// The newest minor Kamaji admits that the local cloud has the programs of (e2e/peers/kamaji.peer.ts).
const VERSION = 'v1.36.0';
const STEADY_MS = 60_000;
const MiB = 1024 * 1024;
const REQUESTS = /^rest_client_requests_total\{(.*)\} (\S+)$/;
const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

interface Requests {
  management: number;
  tenant: number;
  writes: number;
}

interface Reading {
  cpu: number;
  rss: number;
  requests: Requests;
}

interface Result {
  peer: ControlPlanePeer;
  /** Seconds from creation to each tenant Ready, sorted. */
  seconds: number[];
  idle: Reading;
  loaded: Reading;
  steady: Reading;
  peakRss: number;
}


/** Both operators serve controller-runtime's metrics on :8080 of their pod (Kamaji's chart and config/controlplane say so). */
async function requestCounts(operator: OperatorProcess, managementHost: string): Promise<Requests> {
  const { status, text } = await httpGetText(`http://${operator.ip}:8080/metrics`);
  if (status !== 200) throw new Error(`GET http://${operator.ip}:8080/metrics: ${String(status)}`);
  const out = { management: 0, tenant: 0, writes: 0 };
  for (const line of text.split('\n')) {
    const m = REQUESTS.exec(line);
    if (!m) continue;
    const labels = m[1] ?? '';
    const n = Number(m[2]);
    out[(/host="([^"]*)"/.exec(labels)?.[1] ?? '').startsWith(managementHost) ? 'management' : 'tenant'] += n;
    if (WRITES.has(/method="([^"]*)"/.exec(labels)?.[1] ?? '')) out.writes += n;
  }
  return out;
}

async function reading(operator: OperatorProcess, managementHost: string): Promise<Reading> {
  return { cpu: cpuSeconds(operator.pid), rss: statusBytes(operator.pid, 'VmRSS'), requests: await requestCounts(operator, managementHost) };
}

function manifest(name: string): string {
  return JSON.stringify({
    apiVersion: 'kamaji.clastix.io/v1alpha1',
    kind: 'TenantControlPlane',
    metadata: { name, namespace: NAMESPACE },
    spec: {
      dataStore: DATASTORE,
      controlPlane: { deployment: { replicas: 1 }, service: { serviceType: 'LoadBalancer' } },
      kubernetes: { version: VERSION, kubelet: {} },
      networkProfile: { port: 6443, serviceCidr: TENANT_SERVICE_CIDR, podCidr: TENANT_POD_CIDR },
      addons: { coreDNS: {}, kubeProxy: {} },
    },
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function run(peer: ControlPlanePeer): Promise<Result> {
  const cloud = await startControlPlaneCloud(peer);
  try {
    const binary = kamajiInputs().binary;
    const operator = await operatorProcess(cloud, peer === 'kamaji' ? (argv) => argv[0] === binary && argv[1] === 'manager' : (argv) => argv[1]?.endsWith('/providers/controlplane/main.js') === true);
    const managementHost = kubernetesServiceIP(cloud.cluster.network.serviceCIDR);
    await kubectl(cloud.kubeconfig, ['create', 'namespace', NAMESPACE]);
    await waitFor(() => kubectl(cloud.kubeconfig, ['get', 'serviceaccount', 'default', '-n', NAMESPACE]), { timeoutMs: 30_000, what: `the default ServiceAccount of ${NAMESPACE}` });
    await sleep(10_000); // the DataStore's follow-up reconciles
    const idle = await reading(operator, managementHost);

    const names = Array.from({ length: N }, (_, i) => `t${String(i).padStart(3, '0')}`);
    const started = performance.now();
    await kubectl(cloud.kubeconfig, ['apply', '-f', '-'], names.map(manifest).join('\n'));
    const readyAt = new Map<string, number>();
    await waitFor(
      async () => {
        const list = JSON.parse(await kubectl(cloud.kubeconfig, ['get', 'tenantcontrolplanes.kamaji.clastix.io', '-n', NAMESPACE, '-o', 'json'])) as {
          items: { metadata: { name: string }; status?: { kubernetesResources?: { version?: { status?: string } } } }[];
        };
        for (const t of list.items) if (t.status?.kubernetesResources?.version?.status === 'Ready' && !readyAt.has(t.metadata.name)) readyAt.set(t.metadata.name, performance.now());
        return readyAt.size === N ? true : undefined;
      },
      { timeoutMs: 30 * 60_000, intervalMs: 1000, what: `${String(N)} ${peer} TenantControlPlanes Ready` },
    );
    const loaded = await reading(operator, managementHost);
    await sleep(STEADY_MS);
    const steady = await reading(operator, managementHost);
    const seconds = [...readyAt.values()].map((t) => (t - started) / 1000).sort((a, b) => a - b);
    return { peer, seconds, idle, loaded, steady, peakRss: statusBytes(operator.pid, 'VmHWM') };
  } finally {
    await cloud.stop();
  }
}

const { source, binary } = kamajiInputs();
const results: Result[] = [];
for (const peer of ORDER) results.push(await run(peer));

const at = (s: number[], q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
const total = (r: Requests) => r.management + r.tenant;
const perMinute = (n: number) => (n * 60_000) / STEADY_MS;
const metrics: [string, (r: Result) => number, number][] = [
  ['first tenant Ready (s)', (r) => at(r.seconds, 0), 1],
  ['median tenant Ready (s)', (r) => at(r.seconds, 0.5), 1],
  ['all tenants Ready (s)', (r) => at(r.seconds, 1), 1],
  ['API requests per tenant, management', (r) => (r.loaded.requests.management - r.idle.requests.management) / N, 1],
  ['API requests per tenant, tenant', (r) => (r.loaded.requests.tenant - r.idle.requests.tenant) / N, 1],
  ['writes per tenant', (r) => (r.loaded.requests.writes - r.idle.requests.writes) / N, 1],
  ['steady-state requests per minute', (r) => perMinute(total(r.steady.requests) - total(r.loaded.requests)), 1],
  ['steady-state writes per minute', (r) => perMinute(r.steady.requests.writes - r.loaded.requests.writes), 1],
  ['operator CPU per tenant (CPU-s)', (r) => (r.loaded.cpu - r.idle.cpu) / N, 3],
  ['operator CPU at steady state (CPU-s/min)', (r) => perMinute(r.steady.cpu - r.loaded.cpu), 3],
  ['operator RSS idle (MiB)', (r) => r.idle.rss / MiB, 1],
  ['operator RSS with N tenants (MiB)', (r) => r.loaded.rss / MiB, 1],
  ['operator RSS growth per tenant (MiB)', (r) => (r.loaded.rss - r.idle.rss) / N / MiB, 2],
  ['operator peak RSS (MiB)', (r) => r.peakRss / MiB, 1],
];
const kamaji = results.find((r) => r.peer === 'kamaji');
const kvcloud = results.find((r) => r.peer === 'kvcloud');
if (!kamaji || !kvcloud) throw new Error('an operator run is missing');
console.log(`${String(N)} TenantControlPlanes (${VERSION}, one replica) on one etcd DataStore through each operator, ${ORDER.join(' then ')} (Kamaji ${binary}, source ${source})`);
console.log(`${'metric'.padEnd(42)}${'Kamaji'.padStart(12)}${'kvcloud'.padStart(12)}${'kvcloud/Kamaji'.padStart(16)}`);
for (const [name, value, digits] of metrics) {
  const a = value(kamaji);
  const b = value(kvcloud);
  console.log(`${name.padEnd(42)}${a.toFixed(digits).padStart(12)}${b.toFixed(digits).padStart(12)}${(a === 0 ? '-' : `${(b / a).toFixed(2)}x`).padStart(16)}`);
}
