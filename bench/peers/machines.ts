// Benchmark: M worker Machines (default 20) through the real CAPK and through kvcloud's infrastructure provider, one
// after the other in one run, each in its own local management cluster with the KubeVirt simulator (both providers
// serve the same CRDs, so they cannot share one), both installed by `clusterctl init` and running as pods. The user
// manifests are CAPK's quick start with 0 workers; once its control plane is Running the MachineDeployment is scaled
// to M. Per provider: seconds from the scale to each Machine Running (with its tenant Node), and to the steps on the
// way (its VM running, its KubevirtMachine ready: where a provider spends the time), API requests per Machine
// (the manager's own rest_client_requests_total, management and tenant apiservers apart), then requests per minute at
// steady state (nothing changing), and the manager process's CPU seconds and memory (RSS; from /proc). Ratios are
// kvcloud / CAPK. Heavy, so not part of `make test`. Inside the cluster network namespace:
//   CAPK_BIN=<manager> CAPK_SRC=<source tree> tsx localcloud/cluster/netns.ts tsx bench/peers/machines.ts [M] [--kvcloud-first]
// (--kvcloud-first runs kvcloud's side first, to tell the providers from a change in the machine's load during the run).
import { MACHINE_DEPLOYMENT_NAME_LABEL } from '../../lib/apis/cluster-api.js';
import { kubernetesServiceIP } from '../../localcloud/cluster/cluster.js';
import { capkInputs } from '../../localcloud/clusterctl/capk-release.js';
import { kubectl } from '../../localcloud/kubectl.js';
import { waitFor } from '../../localcloud/wait.js';
import { applyManifests, getJSON, scaleMachineDeployment, waitForRunningControlPlane, type WorkloadPlace } from '../../e2e/harness/clusterctl/kvcloud-workload.js';
import { httpGetText } from '../../e2e/harness/http-get.js';
import { cpuSeconds, statusBytes } from './process-stats.js';
import { capkQuickStart, INFRASTRUCTURE_PEERS, managerPod, startMachinesCloud, type InfrastructurePeer, type ManagerPod } from '../../e2e/harness/peer-machines.js';

const M = Number(process.argv.slice(2).find((a) => !a.startsWith('--')) ?? 20);
const ORDER = process.argv.includes('--kvcloud-first') ? [...INFRASTRUCTURE_PEERS].reverse() : INFRASTRUCTURE_PEERS;
const CLUSTER = 'bench';
const NAMESPACE = 'bench-machines';
const STEADY_MS = 60_000;
const MiB = 1024 * 1024;
const REQUESTS = /^rest_client_requests_total\{(.*)\} (\S+)$/;

interface Reading {
  cpu: number;
  rss: number;
  /** Requests so far, by "management" or "tenant". */
  requests: { management: number; tenant: number };
}

// A Machine's steps: its VMI Running (the provider created the VM, the simulator booted it), its KubevirtMachine
// ready (the provider's bootstrap check passed), the Machine Running (Cluster API matched the tenant Node).
const STEPS = ['VM running', 'KubevirtMachine ready', 'Machine Running'] as const;
type Step = (typeof STEPS)[number];

interface Named {
  metadata: { name?: string };
  status?: { phase?: string; ready?: boolean; nodeRef?: { name?: string } };
}

interface Result {
  peer: InfrastructurePeer;
  version: string;
  /** Seconds from the scale-up to each step of each Machine, sorted, by step. */
  seconds: Record<Step, number[]>;
  idle: Reading;
  loaded: Reading;
  steady: Reading;
  peakRss: number;
}


/** The manager's requests so far, to the management apiserver (the kubernetes Service) and to tenants' apiservers. */
async function requestCounts(pod: ManagerPod, managementHost: string): Promise<Reading['requests']> {
  const { status, text } = await httpGetText(`http://${pod.ip}:8080/metrics`);
  if (status !== 200) throw new Error(`GET http://${pod.ip}:8080/metrics: ${String(status)}`);
  const out = { management: 0, tenant: 0 };
  for (const line of text.split('\n')) {
    const m = REQUESTS.exec(line);
    if (!m) continue;
    const host = /host="([^"]*)"/.exec(m[1] ?? '')?.[1] ?? '';
    out[host.startsWith(managementHost) ? 'management' : 'tenant'] += Number(m[2]);
  }
  return out;
}

async function reading(pod: ManagerPod, managementHost: string): Promise<Reading> {
  return { cpu: cpuSeconds(pod.pid), rss: statusBytes(pod.pid, 'VmRSS'), requests: await requestCounts(pod, managementHost) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function run(peer: InfrastructurePeer, manifests: { text?: string }): Promise<Result> {
  const cloud = await startMachinesCloud(peer, { capkMetricsOnPodNetwork: true });
  try {
    const place: WorkloadPlace = { kubeconfig: cloud.kubeconfig, namespace: NAMESPACE, clusterName: CLUSTER, infra: { kubeconfig: cloud.kubeconfig, namespace: NAMESPACE } };
    await kubectl(cloud.kubeconfig, ['create', 'namespace', NAMESPACE]);
    manifests.text ??= await capkQuickStart(cloud, CLUSTER, NAMESPACE, 0);
    await applyManifests(cloud.kubeconfig, manifests.text);
    await waitForRunningControlPlane(place, 1, 10 * 60_000);
    const binary = capkInputs().binary;
    const pod = await managerPod(cloud, peer === 'capk' ? (argv) => argv[0] === binary : (argv) => argv[1]?.endsWith('/providers/infrastructure/main.js') === true);
    const managementHost = kubernetesServiceIP(cloud.cluster.network.serviceCIDR);
    await sleep(10_000); // the control plane's follow-up reconciles
    const idle = await reading(pod, managementHost);

    const started = performance.now();
    await scaleMachineDeployment(cloud.kubeconfig, NAMESPACE, `${CLUSTER}-md-0`, M);
    const reached = Object.fromEntries(STEPS.map((step) => [step, new Map<string, number>()])) as Record<Step, Map<string, number>>;
    const note = (step: Step, objects: Named[], done: (o: Named) => boolean) => {
      for (const o of objects) if (done(o) && !reached[step].has(o.metadata.name ?? '')) reached[step].set(o.metadata.name ?? '', performance.now());
    };
    const list = async (resource: string, selector: string) => (await getJSON<{ items: Named[] }>(cloud.kubeconfig, [resource, '-n', NAMESPACE, '-l', selector])).items;
    await waitFor(
      async () => {
        // VMIs are named after their KubevirtMachines.
        const vmis = await getJSON<{ items: Named[] }>(cloud.kubeconfig, ['virtualmachineinstances.kubevirt.io', '-n', NAMESPACE]);
        note('VM running', vmis.items, (o) => o.metadata.name?.startsWith(`${CLUSTER}-md-0-`) === true && o.status?.phase === 'Running');
        note('KubevirtMachine ready', await list('kubevirtmachines.infrastructure.cluster.x-k8s.io', `${MACHINE_DEPLOYMENT_NAME_LABEL}=${CLUSTER}-md-0`), (o) => o.status?.ready === true);
        note('Machine Running', await list('machines.v1beta2.cluster.x-k8s.io', `${MACHINE_DEPLOYMENT_NAME_LABEL}=${CLUSTER}-md-0`), (o) => o.status?.phase === 'Running' && Boolean(o.status.nodeRef?.name));
        return reached['Machine Running'].size === M ? true : undefined;
      },
      { timeoutMs: 30 * 60_000, intervalMs: 1000, what: `${String(M)} ${peer} Machines Running` },
    );
    const loaded = await reading(pod, managementHost);
    await sleep(STEADY_MS);
    const steady = await reading(pod, managementHost);
    const seconds = Object.fromEntries(STEPS.map((step) => [step, [...reached[step].values()].map((t) => (t - started) / 1000).sort((a, b) => a - b)])) as Record<Step, number[]>;
    return { peer, version: cloud.version, seconds, idle, loaded, steady, peakRss: statusBytes(pod.pid, 'VmHWM') };
  } finally {
    await cloud.stop();
  }
}

const { source, binary } = capkInputs();
const manifests: { text?: string } = {};
const results: Result[] = [];
for (const peer of ORDER) results.push(await run(peer, manifests));

const at = (s: number[], q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
const metrics: [string, (r: Result) => number, number][] = [
  ...STEPS.flatMap((step): [string, (r: Result) => number, number][] => [
    [`${step}: first (s)`, (r) => at(r.seconds[step], 0), 1],
    [`${step}: median (s)`, (r) => at(r.seconds[step], 0.5), 1],
    [`${step}: all (s)`, (r) => at(r.seconds[step], 1), 1],
  ]),
  ['API requests per Machine, management', (r) => (r.loaded.requests.management - r.idle.requests.management) / M, 1],
  ['API requests per Machine, tenant', (r) => (r.loaded.requests.tenant - r.idle.requests.tenant) / M, 1],
  ['steady-state requests per minute, all', (r) => ((r.steady.requests.management + r.steady.requests.tenant - r.loaded.requests.management - r.loaded.requests.tenant) * 60_000) / STEADY_MS, 1],
  ['manager CPU per Machine (CPU-s)', (r) => (r.loaded.cpu - r.idle.cpu) / M, 3],
  ['manager CPU at steady state (CPU-s/min)', (r) => ((r.steady.cpu - r.loaded.cpu) * 60_000) / STEADY_MS, 3],
  ['manager RSS idle (MiB)', (r) => r.idle.rss / MiB, 1],
  ['manager RSS with M Machines (MiB)', (r) => r.loaded.rss / MiB, 1],
  ['manager RSS growth per Machine (MiB)', (r) => (r.loaded.rss - r.idle.rss) / M / MiB, 2],
  ['manager peak RSS (MiB)', (r) => r.peakRss / MiB, 1],
];
const capk = results.find((r) => r.peer === 'capk');
const kvcloud = results.find((r) => r.peer === 'kvcloud');
if (!capk || !kvcloud) throw new Error('a provider run is missing');
console.log(`${String(M)} Machines through each infrastructure provider on the KubeVirt simulator, ${ORDER.join(' then ')} (CAPK ${capk.version} from ${binary}, source ${source}; kvcloud ${kvcloud.version})`);
console.log(`${'metric'.padEnd(42)}${'CAPK'.padStart(12)}${'kvcloud'.padStart(12)}${'kvcloud/CAPK'.padStart(14)}`);
for (const [name, value, digits] of metrics) {
  const a = value(capk);
  const b = value(kvcloud);
  console.log(`${name.padEnd(42)}${a.toFixed(digits).padStart(12)}${b.toFixed(digits).padStart(12)}${(a === 0 ? '-' : `${(b / a).toFixed(2)}x`).padStart(14)}`);
}
