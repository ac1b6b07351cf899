// The upgrade proof of the KamajiControlPlane: against real Cluster API (`clusterctl init`), our operator as a pod
// and a shared etcd, a tenant at the oldest release `make tools` builds is bumped two minors at once. The
// TenantControlPlane is walked one minor at a time (the next minor's .0, then the target, each step only once the
// previous one runs on every pod), while a client keeps calling the tenant API through `<cluster>-kubeconfig`
// and must get an answer every time. The tenant's objects survive, version-tied addons follow, and a downgrade
// is refused at admission. Then a ClusterClass Cluster (kubevirt-kamaji, no workers) is upgraded by changing
// spec.topology.version.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { SECRET_TYPE } from '../../../lib/apis/core.js';
import { parseKubeconfig, type ParsedKubeconfig } from '../../../lib/kube/client-cert-kubeconfig.js';
import type { KubeObject } from '../../../lib/kube/object.js';
import type { TenantControlPlane } from '../../../providers/controlplane/api/index.js';
import type { KamajiControlPlane } from '../../../providers/controlplane/api/kamajicontrolplane.js';
import { binaryPath } from '../../../localcloud/binaries.js';
import { clusterctlInit } from '../../../localcloud/clusterctl/init.js';
import { createClusterctlRepository, type ClusterctlRepository } from '../../../localcloud/clusterctl/repository.js';
import { kubectl, waitForCRDsEstablished } from '../../../localcloud/kubectl.js';
import { rejection } from '../../../lib/testing/rejection.js';
import { parseVersionsEnv, toolsDir, upstreamVersion } from '../../../localcloud/versions.js';
import { waitFor } from '../../../localcloud/wait.js';
import { clusterSuite, createNamespace } from '../cluster/support.js';
import { installControlPlaneProvider } from '../../../localcloud/install-controlplane.js';
import { dataStoreFor, startSharedEtcd, type SharedEtcd } from '../../../localcloud/etcd-datastore.js';
import { startTenantPoller, summarize, tenantGet, tenantRequest, timeline, watchRevisions, type RevisionWatch } from './upgrade-poller.js';
import { TENANT_NAME_LABEL } from '../../../providers/controlplane/api/labels.js';
import { getCondition, type Condition } from '../../../lib/controller/conditions.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const TARGET = upstreamVersion('KUBERNETES_VERSION');
// The older releases built for this proof: two minors back, and the next minor's .0 the walk goes through.
const [FROM = '', WAYPOINT = ''] = (parseVersionsEnv(readFileSync(join(toolsDir, 'versions.env'), 'utf8')).get('KUBERNETES_OLDER_VERSIONS') ?? '').split(',');
const KCP = { apiVersion: 'controlplane.cluster.x-k8s.io/v1alpha2', kind: 'KamajiControlPlane' };
const TCP = { apiVersion: 'kamaji.clastix.io/v1alpha1', kind: 'TenantControlPlane' };
const CLUSTER = { apiVersion: 'cluster.x-k8s.io/v1beta2', kind: 'Cluster' };
const DATASTORE = { apiVersion: 'kamaji.clastix.io/v1alpha1', kind: 'DataStore' };
const NAME = 'upgrade';
const KEPT = '/api/v1/namespaces/kept/configmaps/survivor';

type KCPObject = KamajiControlPlane & KubeObject;
type TCPObject = TenantControlPlane & KubeObject;

const fail = (what: string): never => {
  throw new Error(`${what} did not start (see the before hook)`);
};
/** Repeats collapsed, order kept. */
const collapse = (xs: readonly string[]) => xs.filter((x, i) => x !== xs[i - 1]);

describe('KamajiControlPlane upgrades', function () {
  this.timeout(30 * 60_000);
  const suite = clusterSuite();
  describe('with Cluster API and the operator running', () => {
    let repo: ClusterctlRepository | undefined;
    let etcd: SharedEtcd | undefined;
    let namespace = '';
    let tenant: ParsedKubeconfig | undefined;

    const get = <T extends KubeObject>(type: { apiVersion: string; kind: string }, name: string) => suite.client.get<T>(type, { namespace, name }, { direct: true });
    const started = (kc: ParsedKubeconfig | undefined): ParsedKubeconfig => {
      if (!kc) throw new Error('the tenant kubeconfig was not read (see the first test)');
      return kc;
    };
    const tenantJSON = async <T>(path: string): Promise<T> => {
      const r = await tenantGet(started(tenant), path);
      if (r.status !== 200) throw new Error(`GET ${path}: ${String(r.status)} ${r.body.slice(0, 200)}`);
      return JSON.parse(r.body) as T;
    };
    const kubeProxyTag = async () => {
      const ds = await tenantJSON<{ spec: { template: { spec: { containers: { image: string }[] } } } }>('/apis/apps/v1/namespaces/kube-system/daemonsets/kube-proxy');
      return ds.spec.template.spec.containers[0]?.image.split(':').pop() ?? '';
    };

    /** The service proxy's TCP connection counts by outcome (forwarded, no_endpoint, upstream_failed). */
    async function proxyConnections(): Promise<Record<string, number>> {
      const metric = suite.cluster.serviceProxy.metrics.registry.getSingleMetric('kvcloud_service_proxy_connections_total');
      if (!metric) throw new Error('the service proxy exports no kvcloud_service_proxy_connections_total');
      const { values } = await metric.get();
      return Object.fromEntries(values.filter((v) => v.labels.protocol === 'TCP').map((v) => [String(v.labels.result), v.value]));
    }

    async function describeState(): Promise<string> {
      const kcp = await get<KCPObject>(KCP, NAME);
      const tcp = await get<TCPObject>(TCP, NAME);
      const conds = (o: { status?: { conditions?: Condition[] } } | undefined) => (o?.status?.conditions ?? []).map((c) => `${c.type}=${c.status}(${c.reason})`).join(' ');
      return `KCP ${JSON.stringify({ version: kcp?.status?.version, versions: kcp?.status?.versions, replicas: kcp?.status?.replicas, upToDate: kcp?.status?.upToDateReplicas })} ${conds(kcp)}\nTCP spec ${tcp?.spec.kubernetes.version ?? ''} status ${JSON.stringify(tcp?.status?.kubernetesResources?.version)} ${conds(tcp)}`;
    }

    const availableAt = async (version: string) => {
      const k = await get<KCPObject>(KCP, NAME);
      const settled = k?.status?.replicas === 2 && k.status.upToDateReplicas === 2 && k.status.readyReplicas === 2;
      if (getCondition(k, 'Available')?.status === 'True' && k?.status?.version === version && settled) return k;
      throw new Error(await describeState());
    };

    before(async function () {
      this.timeout(12 * 60_000);
      if (!FROM || !WAYPOINT) throw new Error('versions.env KUBERNETES_OLDER_VERSIONS must list two releases: the start and the waypoint');
      const kubeconfig = suite.cluster.plane.kubeconfigPath;
      const t0 = Date.now();
      repo = await createClusterctlRepository();
      const init = await clusterctlInit(repo, kubeconfig);
      console.log(`    clusterctl init in ${init.seconds.toFixed(1)} s`);
      // The ClusterClass's infrastructure templates; no infrastructure controller is needed without workers, the
      // KamajiControlPlane fills in the externally managed KubevirtCluster itself.
      for (const kind of ['kubevirtclusters', 'kubevirtclustertemplates', 'kubevirtmachinetemplates']) {
        await kubectl(kubeconfig, ['apply', '--server-side', '-f', join(REPO, `config/infrastructure/crd/infrastructure.cluster.x-k8s.io_${kind}.yaml`)]);
        await waitForCRDsEstablished(kubeconfig, [`${kind}.infrastructure.cluster.x-k8s.io`]);
      }
      etcd = await startSharedEtcd(suite.client, 'shared-etcd');
      await installControlPlaneProvider(suite.cluster, suite.client);
      await suite.client.create(dataStoreFor('shared-etcd', etcd));
      await waitFor(
        async () => {
          const ds = await suite.client.get<KubeObject & { status?: { ready?: boolean } }>(DATASTORE, { name: 'shared-etcd' }, { direct: true });
          return ds?.status?.ready === true ? true : undefined;
        },
        { timeoutMs: 60_000, what: 'DataStore shared-etcd to be ready' },
      );
      namespace = await createNamespace(suite.client, 'upgrade');
      console.log(`    management plane with Cluster API and the operator ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    });

    after(async function () {
      this.timeout(120_000);
      if (etcd) await etcd.stop();
      await repo?.remove();
    });

    it(`runs a tenant at ${FROM || 'the oldest built release'} with two apiserver replicas, holding an object`, async function () {
      this.timeout(6 * 60_000);
      await suite.client.create({
        ...KCP,
        metadata: { name: NAME, namespace },
        spec: { version: FROM, replicas: 2, dataStoreName: 'shared-etcd', addons: { coreDNS: {}, kubeProxy: {} } },
      });
      await suite.client.create({
        ...CLUSTER,
        metadata: { name: NAME, namespace },
        spec: { controlPlaneRef: { apiGroup: 'controlplane.cluster.x-k8s.io', kind: 'KamajiControlPlane', name: NAME } },
      });
      const t0 = Date.now();
      await waitFor(() => availableAt(FROM), { timeoutMs: 5 * 60_000, intervalMs: 1000, what: `KamajiControlPlane ${NAME} Available at ${FROM} with 2 replicas` });
      console.log(`      Available at ${FROM} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      const secret = await get<KubeObject & { data?: Record<string, string> }>(SECRET_TYPE, `${NAME}-kubeconfig`);
      tenant = parseKubeconfig(Buffer.from(secret?.data?.value ?? '', 'base64').toString('utf8'));
      expect((await tenantJSON<{ gitVersion: string }>('/version')).gitVersion).to.equal(FROM);
      const post = async (path: string, body: object) => {
        const res = await tenantRequest(started(tenant), 'POST', path, body);
        expect(res.status, `POST ${path}: ${res.body}`).to.equal(201);
      };
      await post('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kept' } });
      await post('/api/v1/namespaces/kept/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'survivor' }, data: { answer: '42' } });
      expect(await waitFor(kubeProxyTag, { timeoutMs: 60_000, intervalMs: 1000, what: 'the kube-proxy DaemonSet in the tenant' })).to.equal(FROM);
    });

    it(`walks ${FROM} -> ${TARGET} one minor at a time while the tenant API answers every request`, async function () {
      this.timeout(15 * 60_000);
      const kubectlPath = await binaryPath('kubectl');
      const mgmt = suite.cluster.plane.kubeconfigPath;
      const poller = startTenantPoller(started(tenant), KEPT, (o) => (o as { data?: { answer?: string } }).data?.answer === '42');
      // Every revision of the TenantControlPlane (asked / running) and of the KamajiControlPlane's status.
      const tcpWatch = watchRevisions(kubectlPath, mgmt, namespace, 'tenantcontrolplanes.kamaji.clastix.io', NAME, '{.spec.kubernetes.version} {.status.kubernetesResources.version.version} {.status.kubernetesResources.version.status}');
      const walkCondition = '{.status.conditions[?(@.type=="VersionUpgrade")]';
      const kcpWatch = watchRevisions(kubectlPath, mgmt, namespace, 'kamajicontrolplanes.controlplane.cluster.x-k8s.io', NAME, `{.status.version}|{.status.versions}|${walkCondition}.status} ${walkCondition}.reason}: ${walkCondition}.message}`);
      // What the Service's endpoints, the apiserver pods and their probes showed, to explain a failed request.
      const around = {
        slices: watchRevisions(kubectlPath, mgmt, namespace, 'endpointslices.discovery.k8s.io', { labels: `kubernetes.io/service-name=${NAME}` }, '{.metadata.name}{range .endpoints[*]} {.targetRef.name}={.conditions.ready}/{.conditions.serving}/{.conditions.terminating}{end}'),
        pods: watchRevisions(kubectlPath, mgmt, namespace, 'pods', { labels: `${TENANT_NAME_LABEL}=${NAME}` }, '{.metadata.name} {.status.phase} deleting={.metadata.deletionTimestamp} Ready={.status.conditions[?(@.type=="Ready")].status}{range .status.containerStatuses[*]} {.name}:{.ready}{end}'),
        service: watchRevisions(kubectlPath, mgmt, namespace, 'services', NAME, '{.metadata.resourceVersion} {.spec.ports[*].port} {.status.loadBalancer.ingress[*].ip}'),
        events: watchRevisions(kubectlPath, mgmt, namespace, 'events.events.k8s.io', { labels: '' }, '{.regarding.name} {.reason} x{.series.count} {.note}'),
      };
      // kube-proxy's image in the tenant, sampled every half second, with the time each answer came back.
      const kubeProxy: { at: number; tag: string }[] = [];
      let connectionsBefore: Record<string, number> = {};
      let t0 = Date.now();
      try {
        // Both watches hold the current state before anything changes, so the first revision is the starting point.
        await waitFor(
          () => {
            if (tcpWatch.lines.length > 0 && kcpWatch.lines.length > 0) return true;
            throw new Error(`kubectl: ${tcpWatch.stderr()} ${kcpWatch.stderr()}`);
          },
          { timeoutMs: 60_000, what: 'kubectl watches to show the current state' },
        );
        connectionsBefore = await proxyConnections();
        t0 = Date.now();
        await suite.client.mergePatch(KCP, { namespace, name: NAME }, { spec: { version: TARGET } });
        await waitFor(
          async () => {
            const tag = await kubeProxyTag().catch((err: unknown) => `? ${(err as Error).message}`);
            kubeProxy.push({ at: Date.now(), tag });
            await availableAt(TARGET);
            return getCondition(await get<KCPObject>(KCP, NAME), 'VersionUpgrade')?.status === 'True' ? true : undefined;
          },
          { timeoutMs: 12 * 60_000, intervalMs: 500, what: `KamajiControlPlane ${NAME} Available at ${TARGET}` },
        );
        // The watches trail the direct reads above by a little: let them deliver the final revisions too.
        await waitFor(
          () => {
            const [tcpLast, kcpLast] = [tcpWatch.lines[tcpWatch.lines.length - 1] ?? '', kcpWatch.lines[kcpWatch.lines.length - 1] ?? ''];
            if (tcpLast === `${TARGET} ${TARGET} Ready` && kcpLast.startsWith(`${TARGET}|`)) return true;
            throw new Error(`last revisions: ${tcpLast} / ${kcpLast}`);
          },
          { timeoutMs: 30_000, intervalMs: 200, what: 'the watches to deliver the final revisions' },
        );
      } finally {
        await Promise.all([poller.stop(), tcpWatch.stop(), kcpWatch.stop(), ...Object.values(around).map((w) => w.stop())]);
      }
      const seconds = ((Date.now() - t0) / 1000).toFixed(1);
      const connectionsAfter = await proxyConnections();
      const connections = Object.fromEntries(Object.entries(connectionsAfter).map(([result, n]) => [result, n - (connectionsBefore[result] ?? 0)]));
      const tcpRevisions = collapse(tcpWatch.lines);
      const kcpRevisions = collapse(kcpWatch.lines);
      console.log(`      ${FROM} -> ${TARGET} in ${seconds} s. TenantControlPlane spec / running:\n        ${tcpRevisions.join('\n        ')}`);
      console.log(`      KamajiControlPlane status.version | versions | VersionUpgrade:\n        ${kcpRevisions.join('\n        ')}`);
      const kubeProxyTags = collapse(kubeProxy.map((k) => k.tag));
      console.log(`      kube-proxy image tags: ${kubeProxyTags.join(' -> ')}`);
      const poll = summarize(poller.samples);
      console.log(
        `      tenant API poller: ${String(poll.requests)} samples, ${String(poll.failures.length)} failed, longest gap between answers ${String(poll.longestGapMs)} ms, versions ${poll.sequence.join(' -> ')}`,
      );
      for (const f of poll.failures) console.log(`        failed at +${String(f.at - t0)} ms: ${f.error ?? 'wrong object content'}`);
      // Near misses too: every revision of the Service, every moment it had no ready endpoint, and every failed
      // readiness or liveness probe (startup probes fail by design until a component listens).
      const stamped = (w: RevisionWatch, keep: (line: string) => boolean) => w.lines.flatMap((line, i) => (keep(line) ? [`\n        +${String((w.at[i] ?? 0) - t0)} ms ${line.slice(0, 240)}`] : []));
      const unready = stamped(around.slices, (line) => !line.includes('=true/'));
      const probeFailures = stamped(around.events, (line) => line.includes(' Unhealthy ') && !line.includes('Startup probe'));
      console.log(`      Service revisions (resourceVersion ports ingress):${stamped(around.service, () => true).join('')}`);
      console.log(`      EndpointSlice revisions without a ready endpoint: ${String(unready.length)}${unready.join('')}`);
      console.log(`      readiness and liveness probe failures: ${String(probeFailures.length)}${probeFailures.join('')}`);
      const [firstFailure, lastFailure] = [poll.failures[0], poll.failures[poll.failures.length - 1]];
      if (firstFailure && lastFailure) console.log(`      around the failures:\n        ${timeline(around, firstFailure.at - 20_000, lastFailure.at + 5_000, t0).join('\n        ')}`);
      console.log(`      service proxy TCP connections during the walk (every client of every Service): ${JSON.stringify(connections)}`);

      // The walk: the waypoint, and the target only once the waypoint ran on every pod (Ready at that version).
      const tcpStates = tcpRevisions.map((l) => l.split(' '));
      expect(collapse(tcpStates.map(([spec]) => spec ?? '')), 'TenantControlPlane spec.kubernetes.version in order').to.deep.equal([FROM, WAYPOINT, TARGET]);
      const firstTarget = tcpStates.findIndex(([spec]) => spec === TARGET);
      expect(tcpRevisions.slice(0, firstTarget), `${WAYPOINT} rolled out before ${TARGET} was asked for`).to.include(`${WAYPOINT} ${WAYPOINT} Ready`);
      expect(tcpRevisions[tcpRevisions.length - 1]).to.equal(`${TARGET} ${TARGET} Ready`);
      // The KamajiControlPlane's status follows: the running version, both versions while pods roll, the reason.
      const kcpStates = kcpRevisions.map((l) => l.split('|'));
      expect(collapse(kcpStates.map(([v]) => v ?? '')), 'KamajiControlPlane status.version in order').to.deep.equal([FROM, WAYPOINT, TARGET]);
      expect(kcpStates.some(([, versions]) => (JSON.parse(versions ?? '[]') as unknown[]).length === 2), 'status.versions lists old and new pods during a roll').to.equal(true);
      const walking = kcpStates.map(([, , walk]) => walk ?? '');
      expect(walking, 'VersionUpgrade while stepping').to.include(`False Walking: walking to ${TARGET} one minor at a time: now ${WAYPOINT}`);
      expect(walking, 'VersionUpgrade while the waypoint rolls out').to.include(`False WaitingForRollout: walking to ${TARGET} one minor at a time: waiting for ${WAYPOINT} to roll out`);
      expect(walking[walking.length - 1]).to.equal(`True AtDesiredVersion: ${TARGET}`);
      // kube-proxy is tied to the control plane version: it moved with each step.
      expect(kubeProxyTags, 'kube-proxy image tags in the tenant').to.deep.equal([FROM, WAYPOINT, TARGET]);
      // ... and never ahead of an apiserver (the version skew policy): once kube-proxy showed a minor, no apiserver
      // of an older one answered a request started after that.
      const minor = (v: string) => Number(/^v1\.(\d+)\./.exec(v)?.[1] ?? NaN);
      const ahead = kubeProxy.flatMap((k) =>
        poller.samples
          .filter((p) => p.at >= k.at && p.version !== undefined && minor(p.version) < minor(k.tag))
          .map((p) => `kube-proxy ${k.tag} at +${String(k.at - t0)} ms, then apiserver ${p.version ?? ''} at +${String(p.at - t0)} ms`),
      );
      expect(ahead.slice(0, 5), 'apiservers older than kube-proxy answering after it moved').to.deep.equal([]);

      // The tenant API answered throughout, and never served two minors apart at once.
      expect(poll.firstSeen, 'versions the tenant API answered with, in order').to.deep.equal([FROM, WAYPOINT, TARGET]);
      const lastFrom = poller.samples.findLastIndex((s) => s.version === FROM);
      const firstTargetAnswer = poller.samples.findIndex((s) => s.version === TARGET);
      expect(lastFrom, `${FROM} answered after ${TARGET} did`).to.be.lessThan(firstTargetAnswer);
      expect(poll.failures.map((f) => `+${String(f.at - t0)} ms ${f.error ?? 'wrong content'}`), 'failed tenant API requests').to.deep.equal([]);
      // Not only this client: no connection to any Service, the tenant's included, found no endpoint or a closed one.
      expect({ no_endpoint: connections.no_endpoint ?? 0, upstream_failed: connections.upstream_failed ?? 0 }, 'refused Service connections during the walk').to.deep.equal({
        no_endpoint: 0,
        upstream_failed: 0,
      });
    });

    it('keeps the tenant object and version-tied tenant config at the new version', async () => {
      const cm = await tenantJSON<{ data?: { answer?: string } }>(KEPT);
      expect(cm.data?.answer).to.equal('42');
      expect((await tenantJSON<{ gitVersion: string }>('/version')).gitVersion).to.equal(TARGET);
      expect(await kubeProxyTag()).to.equal(TARGET);
      const kubeadm = await tenantJSON<{ data?: Record<string, string> }>('/api/v1/namespaces/kube-system/configmaps/kubeadm-config');
      expect(kubeadm.data?.ClusterConfiguration).to.match(new RegExp(`kubernetesVersion: ${TARGET.replaceAll('.', '\\.')}\\b`));
      const kcp = await get<KCPObject>(KCP, NAME);
      expect(kcp?.status?.versions).to.deep.equal([{ version: TARGET, replicas: 2 }]);
    });

    it('refuses a downgrade at admission with a message naming both versions', async () => {
      const err = await rejection(suite.client.mergePatch(KCP, { namespace, name: NAME }, { spec: { version: WAYPOINT } }), `a downgrade to ${WAYPOINT}`);
      expect(err.message).to.include(`spec.version cannot be downgraded from ${TARGET} to ${WAYPOINT}: a control plane only moves to newer versions`);
      expect((await get<KCPObject>(KCP, NAME))?.spec.version).to.equal(TARGET);
      expect((await get<TCPObject>(TCP, NAME))?.spec.kubernetes.version).to.equal(TARGET);
    });

    it('deletes the upgraded Cluster down to its control plane', async function () {
      this.timeout(3 * 60_000);
      await suite.client.delete(CLUSTER, { namespace, name: NAME });
      await waitFor(async () => ((await get(KCP, NAME)) || (await get(TCP, NAME)) ? undefined : true), { timeoutMs: 2 * 60_000, intervalMs: 1000, what: `Cluster ${NAME} deleted down to its control plane` });
    });

    it(`upgrades a ClusterClass Cluster when spec.topology.version goes ${WAYPOINT} -> ${TARGET}`, async function () {
      this.timeout(10 * 60_000);
      const kubeconfig = suite.cluster.plane.kubeconfigPath;
      const cluster = 'topo';
      // The ClusterClass as users get it: the template file with clusterctl's variable substitution.
      const { stdout: classYAML } = await (repo ?? fail('the clusterctl repository')).clusterctl(['generate', 'yaml', '--from', join(REPO, 'templates/infrastructure/clusterclass-kubevirt-kamaji.yaml')], {
        env: { NAMESPACE: namespace, CLUSTER_DATASTORE: 'shared-etcd', NODE_VM_IMAGE_TEMPLATE: 'quay.io/kubevirt/fedora-cloud-container-disk-demo', CRI_PATH: '/var/run/containerd/containerd.sock' },
      });
      await kubectl(kubeconfig, ['apply', '-f', '-'], classYAML);
      // Cluster API admits a topology Cluster only once its ClusterClass is reconciled.
      await waitFor(
        () =>
          suite.client.create({
            ...CLUSTER,
            metadata: { name: cluster, namespace },
            spec: { topology: { classRef: { name: 'kubevirt-kamaji' }, version: WAYPOINT, controlPlane: { replicas: 1 } } },
          }),
        { timeoutMs: 60_000, intervalMs: 1000, what: `the topology Cluster ${cluster} to be admitted` },
      );
      const controlPlaneOf = async () => {
        const list = await suite.client.list<KCPObject>(KCP, { namespace, labelSelector: `cluster.x-k8s.io/cluster-name=${cluster}`, direct: true });
        const [only] = list;
        if (list.length !== 1 || !only) throw new Error(`${String(list.length)} KamajiControlPlanes of Cluster ${cluster}`);
        return only;
      };
      const runningAt = async (version: string) => {
        const k = await controlPlaneOf();
        const t = await get<TCPObject>(TCP, k.metadata.name ?? '');
        const state = `KCP spec ${k.spec.version} status ${k.status?.version ?? ''} Available=${getCondition(k, 'Available')?.status ?? ''}; TCP spec ${t?.spec.kubernetes.version ?? ''} running ${JSON.stringify(t?.status?.kubernetesResources?.version)}`;
        if (k.spec.version === version && k.status?.version === version && getCondition(k, 'Available')?.status === 'True' && t?.status?.kubernetesResources?.version?.status === 'Ready') return k;
        throw new Error(state);
      };
      const t0 = Date.now();
      const kcp = await waitFor(() => runningAt(WAYPOINT), { timeoutMs: 4 * 60_000, intervalMs: 1000, what: `the topology Cluster's control plane running ${WAYPOINT}` });
      console.log(`      topology Cluster ${cluster}: KamajiControlPlane ${kcp.metadata.name ?? ''} Available at ${WAYPOINT} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      const t1 = Date.now();
      // Cluster API's webhook judges the control plane from its manager's cache, which can still hold the
      // KamajiControlPlane from before its status said the version ("currently provisioning", ci8): retry as for the
      // create above.
      await waitFor(() => suite.client.mergePatch(CLUSTER, { namespace, name: cluster }, { spec: { topology: { version: TARGET } } }), {
        timeoutMs: 60_000,
        intervalMs: 1000,
        what: `Cluster API to admit the topology version ${TARGET}`,
      });
      await waitFor(() => runningAt(TARGET), { timeoutMs: 5 * 60_000, intervalMs: 1000, what: `the topology Cluster's control plane running ${TARGET}` });
      console.log(`      topology Cluster ${cluster}: ${WAYPOINT} -> ${TARGET} in ${((Date.now() - t1) / 1000).toFixed(1)} s`);
      const tcp = await get<TCPObject>(TCP, kcp.metadata.name ?? '');
      expect(tcp?.spec.kubernetes.version).to.equal(TARGET);
      await suite.client.delete(CLUSTER, { namespace, name: cluster });
      await waitFor(async () => ((await get(KCP, kcp.metadata.name ?? '')) || (await get(TCP, kcp.metadata.name ?? '')) ? undefined : true), {
        timeoutMs: 2 * 60_000,
        intervalMs: 1000,
        what: `Cluster ${cluster} deleted down to its control plane`,
      });
    });
  });
});
