// The real cluster-autoscaler (a binary given by path in $CLUSTER_AUTOSCALER; it is not on the Go module proxy, so
// `make tools` cannot build it) scaling a kvcloud tenant, once with its clusterapi provider reading the management
// cluster's Cluster API objects and once with its externalgrpc provider dialling kvcloud's server over mutual TLS.
// Each run: pods that fit no node make it grow the worker MachineDeployment and the one at zero (sized from the
// KubevirtMachineTemplate's status.capacity), the new VMs join and the pods run; once the pods are gone the emptied
// nodes go after the short unneeded time. Not part of `make test` (no `.e2e.ts` suffix): `make test-autoscaler`.
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { MACHINE_DEPLOYMENT_TYPE, type MachineDeployment } from '../../../lib/apis/cluster-api.js';
import { executable } from '../../../localcloud/binaries.js';
import { TEST_ECHO_IMAGE } from '../../../localcloud/cluster/images.js';
import { kubectl } from '../../../localcloud/kubectl.js';
import { ManagedProcess } from '../../../localcloud/process.js';
import { waitFor } from '../../../localcloud/wait.js';
import { CLUSTER_AUTOSCALER_SELECTOR, clusterAutoscalerAccess, clusterAutoscalerObjects, startAutoscalerTenant, type AutoscalerTenant, type ExternalGrpcServer } from '../../harness/autoscaler-tenant.js';
import { getJSON, waitForRunningMachines } from '../../harness/clusterctl/kvcloud-workload.js';

const BINARY = process.env.CLUSTER_AUTOSCALER ?? '';
// cluster-autoscaler's logs stay after the run (the run directory does not), one file per provider.
const LOG_DIR = join(process.cwd(), 'out', 'cluster-autoscaler');
const NAMESPACE = 'autoscaled';
const CLUSTER = 'scaly';
// The kubelets of the pool at zero register their Nodes with this label (NodeRestriction allows it: x-k8s.io is not
// a kubernetes.io or k8s.io domain), so a new Node takes the waiting pod as soon as it appears; the annotation tells
// cluster-autoscaler (either provider) that a node made from the template will have it.
const POOL_LABEL = 'node.cluster.x-k8s.io/pool';
const CAPACITY_LABELS = 'capacity.cluster-autoscaler.kubernetes.io/labels';
// Short delays so a scale-down comes within a test's patience; every other option keeps its default.
const TIMING_FLAGS = [
  '--scan-interval=5s',
  '--scale-down-delay-after-add=10s',
  '--scale-down-delay-after-delete=0s',
  '--scale-down-delay-after-failure=10s',
  '--scale-down-unneeded-time=20s',
  // A node found unremovable while its pods still ran is otherwise skipped for 5 minutes after they are gone.
  '--unremovable-node-recheck-timeout=20s',
  '--max-node-provision-time=10m',
];

const seconds = (since: number): string => `${((Date.now() - since) / 1000).toFixed(1)} s`;

interface PodView { metadata: { name: string; labels?: Record<string, string> }; spec: { nodeName?: string }; status?: { phase?: string } }
interface NodeView { metadata: { name: string; labels?: Record<string, string> }; status?: { conditions?: { type: string; status: string }[] } }

function echoDeployment(name: string, replicas: number, placement: object): object {
  const labels = { app: name };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'default' },
    spec: { replicas, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { ...placement, containers: [{ name: 'echo', image: TEST_ECHO_IMAGE, args: ['--port=8080'] }] } } },
  };
}

describe('the real cluster-autoscaler scales a kvcloud tenant through Cluster API and through kvcloud\'s externalgrpc server', () => {
  let fixture: AutoscalerTenant | undefined;
  let server: ExternalGrpcServer | undefined;
  let autoscaler: ManagedProcess | undefined;
  const suiteBegun = Date.now();

  const f = (): AutoscalerTenant => {
    if (!fixture) throw new Error('no tenant (see the before hook)');
    return fixture;
  };
  const replicas = async (name: string): Promise<number | undefined> =>
    (await f().mgmt.get<MachineDeployment>(MACHINE_DEPLOYMENT_TYPE, { namespace: NAMESPACE, name }, { direct: true }))?.spec?.replicas;
  const tenantNodes = async (): Promise<{ name: string; pool?: string; ready: boolean }[]> =>
    (await getJSON<{ items: NodeView[] }>(f().tenantKubeconfig, ['nodes'])).items.map((n) => ({
      name: n.metadata.name,
      pool: n.metadata.labels?.[POOL_LABEL],
      ready: n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true,
    }));
  const pods = async (app: string): Promise<PodView[]> => (await getJSON<{ items: PodView[] }>(f().tenantKubeconfig, ['pods', '-n', 'default', '-l', `app=${app}`])).items;
  /** A probe that fails at once, with cluster-autoscaler's last words, when the process has exited. */
  const alive = <T>(probe: () => Promise<T | undefined>) => async (): Promise<T | undefined> => {
    if (autoscaler && !autoscaler.running) throw new Error(`cluster-autoscaler exited (${JSON.stringify(autoscaler.exitStatus)}):\n${autoscaler.logTail(40)}`);
    return probe();
  };

  before(async function () {
    this.timeout(20 * 60_000);
    if (!BINARY || !executable(BINARY)) {
      throw new Error(`CLUSTER_AUTOSCALER must name a cluster-autoscaler binary built with -tags clusterapi,externalgrpc (got "${BINARY}"); see \`make help\``);
    }
    // Its --help names the cloud providers built in (it has no --version; its startup log names the version).
    const { stdout, stderr } = await promisify(execFile)(BINARY, ['--help'], { maxBuffer: 16 * 1024 * 1024 });
    const providers = /Cloud provider type\. Available values: \[([^\]]*)\]/.exec(stdout + stderr)?.[1] ?? '';
    if (!['clusterapi', 'externalgrpc'].every((p) => providers.split(',').includes(p))) throw new Error(`${BINARY} offers the cloud providers [${providers}]; build it with -tags clusterapi,externalgrpc`);
    console.log(`      ${BINARY}: cloud providers [${providers}]`);
    mkdirSync(LOG_DIR, { recursive: true });
    fixture = await startAutoscalerTenant({
      namespace: NAMESPACE,
      clusterName: CLUSTER,
      workers: { min: 1, max: 3 },
      atZero: { max: 2, annotations: { [CAPACITY_LABELS]: `${POOL_LABEL}=zero` }, nodeLabels: { [POOL_LABEL]: 'zero' } },
    });
  });

  afterEach(async function () {
    this.timeout(60_000);
    await autoscaler?.stop();
    autoscaler = undefined;
    await server?.stop();
    server = undefined;
  });

  after(async function () {
    this.timeout(3 * 60_000);
    await fixture?.stop();
    console.log(`      suite total: ${seconds(suiteBegun)}`);
  });

  /** cluster-autoscaler as a process of this run, on the tenant's admin kubeconfig, with `providerFlags`. */
  const runProcess = (provider: string, providerFlags: string[]) => async (): Promise<void> => {
    autoscaler = await ManagedProcess.start({
      name: `cluster-autoscaler-${provider}`,
      command: BINARY,
      args: [`--kubeconfig=${f().tenantKubeconfig}`, ...providerFlags, ...TIMING_FLAGS, '--leader-elect=false', '--address=127.0.0.1:0', '--v=2'],
      logFile: join(LOG_DIR, `${provider}.log`),
    });
  };

  /**
   * One autoscaling round with the cluster-autoscaler `start` starts: two pods that may not share a node (one
   * already fits) and one that only a node of the pool at zero takes; then all of them deleted.
   */
  async function scaleUpAndDown(provider: string, start: () => Promise<void>): Promise<void> {
    const { workers, atZero, place } = f();
    expect({ workers: await replicas(workers), atZero: await replicas(atZero) }, 'the round starts from one worker').to.deep.equal({ workers: 1, atZero: 0 });
    await start();

    const begun = Date.now();
    const spread = `spread-${provider}`;
    const pooled = `pooled-${provider}`;
    await kubectl(f().tenantKubeconfig, ['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        echoDeployment(spread, 2, {
          affinity: {
            podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { app: spread } } }] },
            nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: POOL_LABEL, operator: 'DoesNotExist' }] }] } },
          },
        }),
        echoDeployment(pooled, 1, { nodeSelector: { [POOL_LABEL]: 'zero' } }),
      ],
    }));

    const decided = await waitFor(alive(async () => {
      const sizes = { workers: await replicas(workers), atZero: await replicas(atZero) };
      return sizes.workers === 2 && sizes.atZero === 1 ? sizes : undefined;
    }), { timeoutMs: 3 * 60_000, intervalMs: 1000, what: `cluster-autoscaler (${provider}) to grow ${workers} to 2 and ${atZero} from 0 to 1` });
    console.log(`      ${provider}: scale-up decided (${JSON.stringify(decided)}): ${seconds(begun)}`);

    const [zeroMachine] = await waitForRunningMachines(place, atZero, 1, 10 * 60_000);
    await waitForRunningMachines(place, workers, 2, 10 * 60_000);
    const running = await waitFor(alive(async () => {
      const all = [...(await pods(spread)), ...(await pods(pooled))];
      return all.length === 3 && all.every((p) => p.status?.phase === 'Running') ? all : undefined;
    }), { timeoutMs: 5 * 60_000, intervalMs: 1000, what: `the ${spread} and ${pooled} pods Running` });
    console.log(`      ${provider}: new VMs joined and the pods run: ${seconds(begun)}`);
    const nodes = await tenantNodes();
    expect(nodes.filter((n) => n.ready), 'three Ready nodes').to.have.length(3);
    const pooledPod = running.find((p) => p.metadata.labels?.app === pooled);
    expect(pooledPod?.spec.nodeName, 'the pod for the pool at zero runs on that pool\'s new node').to.equal(zeroMachine?.status?.nodeRef?.name);
    expect(nodes.find((n) => n.name === pooledPod?.spec.nodeName)?.pool).to.equal('zero');
    expect(new Set(running.filter((p) => p.metadata.labels?.app === spread).map((p) => p.spec.nodeName)).size, 'the spread pods on two nodes').to.equal(2);
    expect({ workers: await replicas(workers), atZero: await replicas(atZero) }, 'no more than needed').to.deep.equal({ workers: 2, atZero: 1 });

    const emptied = Date.now();
    await kubectl(f().tenantKubeconfig, ['delete', 'deployment', '-n', 'default', spread, pooled, '--wait=true']);
    await waitFor(alive(async () => ((await pods(spread)).length + (await pods(pooled)).length === 0 ? true : undefined)), { timeoutMs: 2 * 60_000, intervalMs: 1000, what: 'the pods gone' });
    await waitFor(alive(async () => {
      const sizes = { workers: await replicas(workers), atZero: await replicas(atZero) };
      return sizes.workers === 1 && sizes.atZero === 0 ? sizes : undefined;
    }), { timeoutMs: 5 * 60_000, intervalMs: 1000, what: `cluster-autoscaler (${provider}) to shrink ${workers} to its min 1 and ${atZero} to 0` });
    console.log(`      ${provider}: scale-down of the emptied nodes decided: ${seconds(emptied)}`);
    await waitForRunningMachines(place, atZero, 0, 5 * 60_000);
    const [survivor] = await waitForRunningMachines(place, workers, 1, 5 * 60_000);
    const left = await waitFor(alive(async () => {
      const list = await tenantNodes();
      return list.length === 1 ? list : undefined;
    }), { timeoutMs: 3 * 60_000, intervalMs: 1000, what: 'one tenant node left' });
    expect(left.map((n) => n.name)).to.deep.equal([survivor?.status?.nodeRef?.name]);
    console.log(`      ${provider}: emptied nodes' Machines and Nodes gone: ${seconds(emptied)}`);
    if (autoscaler) expect(autoscaler.running, 'cluster-autoscaler still runs').to.equal(true);
  }

  it('--cloud-provider=clusterapi: grows the worker pool and the pool at zero from its template, and shrinks them once emptied', async function () {
    this.timeout(25 * 60_000);
    await scaleUpAndDown('clusterapi', runProcess('clusterapi', [
      '--cloud-provider=clusterapi',
      `--cloud-config=${f().place.kubeconfig}`,
      '--clusterapi-cloud-config-authoritative',
      `--node-group-auto-discovery=clusterapi:namespace=${NAMESPACE},clusterName=${CLUSTER}`,
    ]));
  });

  it('--cloud-provider=externalgrpc against kvcloud\'s server: the same round over mutual TLS', async function () {
    this.timeout(25 * 60_000);
    server = await f().startExternalGrpcServer();
    const cloudConfig = join(LOG_DIR, 'externalgrpc-cloud-config.yaml');
    // The client checks the serving certificate against the host of `address` (here the IP SAN).
    writeFileSync(cloudConfig, [`address: 127.0.0.1:${String(server.port)}`, `cert: ${server.files.clientCert}`, `key: ${server.files.clientKey}`, `cacert: ${server.files.ca}`, 'grpc_timeout: 15s', ''].join('\n'));
    await scaleUpAndDown('externalgrpc', runProcess('externalgrpc', ['--cloud-provider=externalgrpc', `--cloud-config=${cloudConfig}`]));
    const registry = server.manager.metrics.registry;
    const decisions = (await registry.getSingleMetric('kvcloud_autoscaler_scale_decisions_total')?.get())?.values ?? [];
    const executed = decisions.filter((v) => v.labels.result === 'executed').map((v) => `${String(v.labels.decision)} ${String(v.labels.node_group)}`);
    expect(executed, 'the decisions were cluster-autoscaler\'s calls to our server').to.include.members([
      `increase_size MachineDeployment/${NAMESPACE}/${f().workers}`,
      `increase_size MachineDeployment/${NAMESPACE}/${f().atZero}`,
      `delete_nodes MachineDeployment/${NAMESPACE}/${f().workers}`,
      `delete_nodes MachineDeployment/${NAMESPACE}/${f().atZero}`,
    ]);
  });

  it('a Cluster annotated for autoscaling gets a cluster-autoscaler Deployment that scales it as a least-privilege ServiceAccount, and loses it with the annotation', async function () {
    this.timeout(25 * 60_000);
    const name = `${CLUSTER}-cluster-autoscaler`;
    const mgmtKubeconfig = f().place.kubeconfig;
    server = await f().startExternalGrpcServer([...TIMING_FLAGS, '--v=2'].map((flag) => `--cluster-autoscaler-arg=${flag}`));
    const owned = async (): Promise<string[]> => (await clusterAutoscalerObjects(f())).map((o) => `${o.kind}/${o.metadata.name}`).sort();
    await scaleUpAndDown('deployment', async () => {
      await kubectl(mgmtKubeconfig, ['annotate', 'clusters.cluster.x-k8s.io', '-n', NAMESPACE, CLUSTER, 'autoscaler.kvcloud.io/cluster-autoscaler=true']);
      const begun = Date.now();
      await waitFor(async () => {
        const pods = (await getJSON<{ items: PodView[] }>(mgmtKubeconfig, ['pods', '-n', NAMESPACE, '-l', CLUSTER_AUTOSCALER_SELECTOR])).items;
        return pods.some((p) => p.status?.phase === 'Running') ? true : undefined;
      }, { timeoutMs: 2 * 60_000, intervalMs: 1000, what: `the ${name} pod Running in the management cluster` });
      console.log(`      deployment: ${name} Running: ${seconds(begun)}`);
      expect(await owned()).to.deep.equal([`Deployment/${name}`, `Role/${name}`, `RoleBinding/${name}`, `ServiceAccount/${name}`]);
    });
    // The ServiceAccount can do what the round needed and no more.
    const { answered, wanted } = await clusterAutoscalerAccess(f());
    expect(answered).to.deep.equal(wanted);

    await kubectl(mgmtKubeconfig, ['annotate', 'clusters.cluster.x-k8s.io', '-n', NAMESPACE, CLUSTER, 'autoscaler.kvcloud.io/cluster-autoscaler-']);
    await waitFor(async () => ((await owned()).length === 0 ? true : undefined), { timeoutMs: 60_000, intervalMs: 1000, what: `${name} and its RBAC removed` });
  });
});
