// The KamajiControlPlane controller against a real management cluster: real Cluster API (core and kubeadm
// bootstrap by `clusterctl init`), our operator as a pod from config/controlplane, a shared etcd DataStore. A
// Cluster with a KamajiControlPlane and an externally managed KubevirtCluster gets a TenantControlPlane whose real
// apiserver answers through `<cluster>-kubeconfig`; Cluster API reads the control plane as initialized; the
// tenant sleeps and wakes with its data; steady state writes nothing; deletion cleans the datastore.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { SECRET_TYPE } from '../../../lib/apis/core.js';
import { KUBEVIRT_CLUSTER_TYPE, type KubevirtClusterContract } from '../../../lib/apis/kubevirt-infrastructure.js';
import { parseKubeconfig } from '../../../lib/kube/client-cert-kubeconfig.js';
import type { KubeObject } from '../../../lib/kube/object.js';
import type { TenantControlPlane } from '../../../providers/controlplane/api/index.js';
import type { KamajiControlPlane } from '../../../providers/controlplane/api/kamajicontrolplane.js';
import { clusterctlInit } from '../../../localcloud/clusterctl/init.js';
import { createClusterctlRepository, type ClusterctlRepository } from '../../../localcloud/clusterctl/repository.js';
import { kubectl } from '../../../localcloud/kubectl.js';
import { runDir } from '../../../localcloud/run-dir.js';
import { parseVersionsEnv, toolsDir, upstreamVersion } from '../../../localcloud/versions.js';
import { waitFor } from '../../../localcloud/wait.js';
import { clusterSuite, createNamespace } from '../cluster/support.js';
import { installControlPlaneProvider } from '../../../localcloud/install-controlplane.js';
import { operatorPod, scrape, writesBetween } from './operator-metrics.js';
import { createReadyDataStore, startSharedEtcd, type SharedEtcd } from '../../../localcloud/etcd-datastore.js';
import { getCondition, type Condition } from '../../../lib/controller/conditions.js';
import { httpGetText } from '../../harness/http-get.js';

const VERSION = upstreamVersion('KUBERNETES_VERSION');
const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const KCP = { apiVersion: 'controlplane.cluster.x-k8s.io/v1alpha2', kind: 'KamajiControlPlane' };
const TCP = { apiVersion: 'kamaji.clastix.io/v1alpha1', kind: 'TenantControlPlane' };
const CLUSTER = { apiVersion: 'cluster.x-k8s.io/v1beta2', kind: 'Cluster' };
const POD = { apiVersion: 'v1', kind: 'Pod' };
const NAME = 'acme';

interface Secret extends KubeObject {
  type?: string;
  data?: Record<string, string>;
}
type KCPObject = KamajiControlPlane & KubeObject;
type TCPObject = TenantControlPlane & KubeObject;
interface CapiCluster extends KubeObject {
  spec?: { controlPlaneEndpoint?: { host?: string; port?: number } };
  status?: { initialization?: { controlPlaneInitialized?: boolean }; conditions?: Condition[] };
}

const decode = (s: Secret | undefined, key: string) => Buffer.from(s?.data?.[key] ?? '', 'base64').toString('utf8');

describe('KamajiControlPlane with Cluster API', function () {
  this.timeout(15 * 60_000);
  const suite = clusterSuite();
  // Nested so its after hook (stopping etcd through the apiserver) runs before the cluster stops.
  describe('with the operator running', () => {
    let repo: ClusterctlRepository | undefined;
    let etcd: SharedEtcd | undefined;
    let namespace = '';
    let dir = '';
    let kubeconfigPath = '';

    const get = <T extends KubeObject>(type: { apiVersion: string; kind: string }, name: string) => suite.client.get<T>(type, { namespace, name }, { direct: true });
    const started = <T>(v: T | undefined, what: string): T => {
      if (v === undefined) throw new Error(`${what} did not start (see the before hook)`);
      return v;
    };

    /** The operator's last log lines, for failure messages. */
    async function operatorLog(lines = 30): Promise<string> {
      const pod = await operatorPod(suite.client);
      if (!pod) return '(no Ready operator pod)';
      const logDir = join(suite.cluster.dir, 'logs', `kamaji-system_${pod.metadata.name ?? ''}_${pod.metadata.uid ?? ''}`);
      const out: string[] = [];
      for (const container of await readdir(logDir).catch(() => [])) {
        const runs = (await readdir(join(logDir, container)).catch(() => [])).sort();
        const last = runs[runs.length - 1];
        if (!last) continue;
        const text = await readFile(join(logDir, container, last), 'utf8').catch(() => '');
        out.push(...text.trim().split('\n').filter((l) => l.includes('kamajicontrolplane') || l.includes('"level":50')).slice(-lines));
      }
      return out.join('\n');
    }

    async function describeState(): Promise<string> {
      const kcp = await get<KCPObject>(KCP, NAME);
      const tcp = await get<TCPObject>(TCP, NAME);
      const conds = (o: { status?: { conditions?: Condition[] } } | undefined) => (o?.status?.conditions ?? []).map((c) => `${c.type}=${c.status}(${c.reason}: ${c.message})`).join('; ');
      return `KCP status ${JSON.stringify({ ...kcp?.status, conditions: undefined, deprecated: undefined })}\nKCP conditions ${conds(kcp)}\nTCP version ${JSON.stringify(tcp?.status?.kubernetesResources?.version)} endpoint ${tcp?.status?.controlPlaneEndpoint ?? ''} ${conds(tcp)}\n${await operatorLog()}`;
    }

    /** controller_runtime_reconcile_total of the kamajicontrolplane controller. */
    async function kcpReconciles(pod: KubeObject & { status?: { podIP?: string } }): Promise<number> {
      const { text } = await httpGetText(`http://${pod.status?.podIP ?? ''}:8080/metrics`);
      return text
        .split('\n')
        .filter((l) => l.startsWith('controller_runtime_reconcile_total{') && l.includes('controller="kamajicontrolplane"'))
        .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
    }

    before(async function () {
      this.timeout(12 * 60_000);
      dir = await mkdtemp(join(runDir(), 'kcp-e2e-'));
      const kubeconfig = suite.cluster.plane.kubeconfigPath;
      const t0 = Date.now();
      repo = await createClusterctlRepository();
      const init = await clusterctlInit(repo, kubeconfig);
      console.log(`    clusterctl init (core, kubeadm bootstrap and control plane) in ${init.seconds.toFixed(1)} s`);
      const kubevirtClusterCRD = join(REPO, 'config/infrastructure/crd/infrastructure.cluster.x-k8s.io_kubevirtclusters.yaml');
      await kubectl(kubeconfig, ['apply', '--server-side', '-f', kubevirtClusterCRD]);
      // Polled rather than `kubectl wait`, which fails on a CRD whose status has no conditions yet.
      await waitFor(
        async () => {
          const crd = await suite.client.get<KubeObject & { status?: { conditions?: Condition[] } }>(
            { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition' },
            { name: 'kubevirtclusters.infrastructure.cluster.x-k8s.io' },
            { direct: true },
          );
          return getCondition(crd, 'Established')?.status === 'True' ? true : undefined;
        },
        { timeoutMs: 60_000, what: 'the KubevirtCluster CRD to be Established' },
      );
      etcd = await startSharedEtcd(suite.client, 'shared-etcd');
      await installControlPlaneProvider(suite.cluster, suite.client);
      await createReadyDataStore(suite.client, 'shared-etcd', etcd);
      namespace = await createNamespace(suite.client, 'kcp');
      console.log(`    management plane with Cluster API and the operator ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    });

    after(async function () {
      this.timeout(120_000);
      if (etcd) await etcd.stop();
      await repo?.remove();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('creates the TenantControlPlane for a Cluster: same name, owned by the KamajiControlPlane, Cluster networking mapped, removed admission plugins dropped', async function () {
      this.timeout(4 * 60_000);
      await suite.client.create({
        ...KUBEVIRT_CLUSTER_TYPE,
        metadata: { name: NAME, namespace, annotations: { 'cluster.x-k8s.io/managed-by': 'kamaji' } },
        spec: {},
      });
      await suite.client.create({
        ...KCP,
        metadata: { name: NAME, namespace },
        spec: {
          version: VERSION.replace(/^v/, ''),
          replicas: 1,
          dataStoreName: 'shared-etcd',
          admissionControllers: ['NamespaceLifecycle', 'ServiceAccount', 'PodSecurityPolicy', 'ResourceQuota'],
          addons: { coreDNS: {} },
          network: { serviceType: 'LoadBalancer', certSANs: ['acme.example.com'] },
        },
      });
      await suite.client.create({
        ...CLUSTER,
        metadata: { name: NAME, namespace },
        spec: {
          clusterNetwork: { apiServerPort: 6443, pods: { cidrBlocks: ['10.200.0.0/16'] }, services: { cidrBlocks: ['10.110.0.0/16'] }, serviceDomain: 'acme.local' },
          controlPlaneRef: { apiGroup: 'controlplane.cluster.x-k8s.io', kind: 'KamajiControlPlane', name: NAME },
          infrastructureRef: { apiGroup: 'infrastructure.cluster.x-k8s.io', kind: 'KubevirtCluster', name: NAME },
        },
      });
      const tcp = await waitFor(
        async () => {
          const t = await get<TCPObject>(TCP, NAME);
          if (t) return t;
          throw new Error(await describeState());
        },
        {
        timeoutMs: 120_000,
        intervalMs: 500,
          what: 'the TenantControlPlane (Cluster API must first set itself as the KamajiControlPlane owner)',
        },
      );
      const kcp = await get<KCPObject>(KCP, NAME);
      expect(kcp?.metadata.ownerReferences?.some((r) => r.kind === 'Cluster' && r.name === NAME), 'Cluster API owns the KamajiControlPlane').to.equal(true);
      expect(tcp.metadata.ownerReferences).to.deep.equal([
        { apiVersion: 'controlplane.cluster.x-k8s.io/v1alpha2', kind: 'KamajiControlPlane', name: NAME, uid: kcp?.metadata.uid, controller: true, blockOwnerDeletion: true },
      ]);
      expect(tcp.spec.kubernetes.version).to.equal(VERSION);
      expect(tcp.spec.kubernetes.admissionControllers).to.deep.equal(['NamespaceLifecycle', 'ServiceAccount', 'ResourceQuota']);
      expect(tcp.spec.networkProfile).to.deep.include({ port: 6443, podCidr: '10.200.0.0/16', serviceCidr: '10.110.0.0/16', clusterDomain: 'acme.local', certSANs: ['acme.example.com'] });
      expect(tcp.spec.dataStore).to.equal('shared-etcd');
      expect(tcp.spec.controlPlane.deployment?.replicas).to.equal(1);
      await waitFor(
        async () => {
          const events = await suite.client.list<KubeObject & { reason?: string; note?: string; regarding?: { kind?: string } }>({ apiVersion: 'events.k8s.io/v1', kind: 'Event' }, { namespace, direct: true });
          return events.find((e) => e.reason === 'AdmissionControllersDropped' && e.regarding?.kind === 'KamajiControlPlane');
        },
        { timeoutMs: 30_000, what: 'the AdmissionControllersDropped Event naming PodSecurityPolicy' },
      ).then((e) => expect(e.note).to.include('PodSecurityPolicy'));
    });

    it('reports the control plane initialized and Available with the contract status, and writes spec.controlPlaneEndpoint', async function () {
      this.timeout(5 * 60_000);
      const t0 = Date.now();
      const kcp = await waitFor(
        async () => {
          const k = await get<KCPObject>(KCP, NAME);
          // Settled: the Deployment may surge a second pod while the operator's first Secrets roll the template.
          const settled = k?.status?.replicas === 1 && k.status.upToDateReplicas === 1 && k.status.readyReplicas === 1;
          if (k?.status?.initialization?.controlPlaneInitialized === true && getCondition(k, 'Available')?.status === 'True' && settled) return k;
          throw new Error(await describeState());
        },
        { timeoutMs: 4 * 60_000, intervalMs: 1000, what: 'the KamajiControlPlane to be initialized and Available' },
      );
      console.log(`    KamajiControlPlane Available ${((Date.now() - t0) / 1000).toFixed(1)} s after the TenantControlPlane was created`);
      const tcp = await get<TCPObject>(TCP, NAME);
      const [host, port] = (tcp?.status?.controlPlaneEndpoint ?? '').split(':');
      expect(kcp.spec.controlPlaneEndpoint).to.deep.equal({ host, port: Number(port) });
      expect(kcp.status).to.deep.include({
        initialized: true,
        ready: true,
        replicas: 1,
        readyReplicas: 1,
        availableReplicas: 1,
        upToDateReplicas: 1,
        updatedReplicas: 1,
        unavailableReplicas: 0,
        selector: `kamaji.clastix.io/name=${NAME}`,
        externalManagedControlPlane: true,
        version: VERSION,
      });
      expect(kcp.status?.versions).to.deep.equal([{ version: VERSION, replicas: 1 }]);
      expect(kcp.status?.deprecated?.v1beta1?.conditions?.some((c) => c.type === 'Available')).to.equal(true);
      expect(getCondition(kcp, 'Ready')?.status, 'the Ready summary').to.equal('True');
      expect(getCondition(kcp, 'Sleeping')?.status).to.equal('False');
      // The scale subresource reads the selector and replicas, as an autoscaler would.
      const scale = JSON.parse(await kubectl(suite.cluster.plane.kubeconfigPath, ['get', '--raw', `/apis/controlplane.cluster.x-k8s.io/v1alpha2/namespaces/${namespace}/kamajicontrolplanes/${NAME}/scale`])) as {
        spec: { replicas: number };
        status: { replicas: number; selector: string };
      };
      expect(scale).to.deep.include({ spec: { replicas: 1 }, status: { replicas: 1, selector: `kamaji.clastix.io/name=${NAME}` } });
      // Cluster API read it through the contract: the Cluster is control-plane initialized, with our endpoint.
      const cluster = await waitFor(
        async () => {
          const c = await get<CapiCluster>(CLUSTER, NAME);
          if (c?.status?.initialization?.controlPlaneInitialized === true && c.spec?.controlPlaneEndpoint?.host) return c;
          throw new Error(`Cluster ${JSON.stringify(c?.spec?.controlPlaneEndpoint)} ${JSON.stringify(c?.status?.initialization)} ${JSON.stringify(c?.status?.conditions)}`);
        },
        { timeoutMs: 90_000, intervalMs: 1000, what: 'Cluster API to see the control plane initialized' },
      );
      expect(cluster.spec?.controlPlaneEndpoint).to.deep.equal({ host, port: Number(port) });
    });

    it('fills in the externally managed KubevirtCluster: endpoint, ready and provisioned', async () => {
      const kcp = await get<KCPObject>(KCP, NAME);
      const kc = await waitFor(
        async () => {
          const k = await get<KubevirtClusterContract>(KUBEVIRT_CLUSTER_TYPE, NAME);
          return k?.status?.ready === true ? k : undefined;
        },
        { timeoutMs: 30_000, what: 'the KubevirtCluster to be ready' },
      );
      expect(kc.spec?.controlPlaneEndpoint).to.deep.equal(kcp?.spec.controlPlaneEndpoint);
      expect(kc.status?.initialization?.provisioned).to.equal(true);
    });

    it('writes <cluster>-kubeconfig with a short-lived client certificate from the tenant CA, and the tenant apiserver answers through it', async () => {
      const secret = started(await get<Secret>(SECRET_TYPE, `${NAME}-kubeconfig`), `Secret ${NAME}-kubeconfig`);
      expect(secret.type).to.equal('cluster.x-k8s.io/secret');
      expect(secret.metadata.labels?.['cluster.x-k8s.io/cluster-name']).to.equal(NAME);
      expect(secret.metadata.ownerReferences?.[0]).to.include({ kind: 'KamajiControlPlane', name: NAME, controller: true });
      const text = decode(secret, 'value');
      const parsed = parseKubeconfig(text);
      const cert = new X509Certificate(parsed.certPem);
      const tenantCA = new X509Certificate(decode(await get<Secret>(SECRET_TYPE, `${NAME}-ca`), 'ca.crt'));
      expect(cert.verify(tenantCA.publicKey), 'client certificate signed by the tenant CA').to.equal(true);
      const lifetime = cert.validToDate.getTime() - cert.validFromDate.getTime();
      expect(lifetime).to.be.at.most(24 * 3_600_000 + 120_000);
      kubeconfigPath = join(dir, 'acme.kubeconfig');
      await writeFile(kubeconfigPath, text);
      expect((await kubectl(kubeconfigPath, ['get', '--raw', '/readyz'])).trim()).to.equal('ok');
      const version = JSON.parse(await kubectl(kubeconfigPath, ['get', '--raw', '/version'])) as { gitVersion: string };
      expect(version.gitVersion).to.equal(VERSION);
    });

    it('provides the tenant CA as tls.crt / tls.key for kubeadm bootstrap', async () => {
      const tcpCA = await get<Secret>(SECRET_TYPE, `${NAME}-ca`);
      // The KamajiControlPlane is named like its Cluster, so <cluster>-ca is the tenant CA Secret itself, completed.
      expect(decode(tcpCA, 'tls.crt')).to.equal(decode(tcpCA, 'ca.crt'));
      expect(decode(tcpCA, 'tls.key')).to.equal(decode(tcpCA, 'ca.key'));
      expect(tcpCA?.metadata.labels?.['cluster.x-k8s.io/cluster-name']).to.equal(NAME);
    });

    it('writes a separate <cluster>-ca, owned by the KamajiControlPlane, when it is named unlike its Cluster (as ClusterClass names it)', async function () {
      this.timeout(4 * 60_000);
      const [cluster, cp] = ['beta', 'beta-cp'];
      await suite.client.create({ ...KCP, metadata: { name: cp, namespace }, spec: { version: VERSION, replicas: 1, dataStoreName: 'shared-etcd' } });
      await suite.client.create({
        ...CLUSTER,
        metadata: { name: cluster, namespace },
        spec: { controlPlaneRef: { apiGroup: 'controlplane.cluster.x-k8s.io', kind: 'KamajiControlPlane', name: cp } },
      });
      const kubeconfig = await waitFor(
        async () => {
          const k = await get<KCPObject>(KCP, cp);
          const secret = await get<Secret>(SECRET_TYPE, `${cluster}-kubeconfig`);
          if (getCondition(k, 'Available')?.status === 'True' && secret) return secret;
          throw new Error(`${cp}: ${JSON.stringify(k?.status?.conditions)}`);
        },
        { timeoutMs: 3 * 60_000, intervalMs: 1000, what: `KamajiControlPlane ${cp} Available with ${cluster}-kubeconfig` },
      );
      const ca = started(await get<Secret>(SECRET_TYPE, `${cluster}-ca`), `Secret ${cluster}-ca`);
      expect(ca.type).to.equal('cluster.x-k8s.io/secret');
      expect(ca.metadata.labels?.['cluster.x-k8s.io/cluster-name']).to.equal(cluster);
      expect(ca.metadata.ownerReferences?.[0]).to.include({ kind: 'KamajiControlPlane', name: cp, controller: true });
      const tenantCA = await get<Secret>(SECRET_TYPE, `${cp}-ca`);
      expect(decode(ca, 'tls.crt')).to.equal(decode(tenantCA, 'ca.crt'));
      expect(decode(ca, 'tls.key')).to.equal(decode(tenantCA, 'ca.key'));
      const path = join(dir, 'beta.kubeconfig');
      await writeFile(path, decode(kubeconfig, 'value'));
      expect((await kubectl(path, ['get', '--raw', '/readyz'])).trim()).to.equal('ok');
      await suite.client.delete(CLUSTER, { namespace, name: cluster });
      await waitFor(
        async () => {
          const left = [(await get(KCP, cp)) && 'KamajiControlPlane', (await get(TCP, cp)) && 'TenantControlPlane', (await get(SECRET_TYPE, `${cluster}-ca`)) && `Secret ${cluster}-ca`];
          const still = left.filter(Boolean);
          if (still.length > 0) throw new Error(`still there: ${still.join(', ')}`);
          return true;
        },
        { timeoutMs: 2 * 60_000, intervalMs: 1000, what: `Cluster ${cluster} deleted by Cluster API down to its control plane and Secrets` },
      );
    });

    it('writes nothing at steady state: a forced reconcile changes no object and sends no write', async function () {
      this.timeout(3 * 60_000);
      const snapshot = async () => {
        const out: Record<string, string> = {};
        for (const [type, name] of [[KCP, NAME], [TCP, NAME], [KUBEVIRT_CLUSTER_TYPE, NAME], [SECRET_TYPE, `${NAME}-kubeconfig`], [SECRET_TYPE, `${NAME}-ca`]] as const) {
          out[`${type.kind} ${name}`] = (await get(type, name))?.metadata.resourceVersion ?? 'absent';
        }
        return out;
      };
      let steady = await snapshot();
      await waitFor(
        async () => {
          const before = steady;
          await new Promise((r) => setTimeout(r, 3000));
          steady = await snapshot();
          return JSON.stringify(before) === JSON.stringify(steady) ? true : undefined;
        },
        { timeoutMs: 90_000, what: 'the KamajiControlPlane and its objects to settle' },
      );
      const pod = started(await operatorPod(suite.client), 'the operator pod');
      const before = await scrape(pod);
      const reconcilesBefore = await kcpReconciles(pod);
      // An annotation on the Secret it controls wakes the KamajiControlPlane and nothing else.
      const touched = await suite.client.mergePatch<KubeObject>(SECRET_TYPE, { namespace, name: `${NAME}-kubeconfig` }, { metadata: { annotations: { 'e2e.kvcloud.io/touched': String(Date.now()) } } });
      steady[`Secret ${NAME}-kubeconfig`] = touched.metadata.resourceVersion ?? '';
      await waitFor(async () => ((await kcpReconciles(pod)) > reconcilesBefore ? true : undefined), { timeoutMs: 30_000, what: 'a reconcile of the KamajiControlPlane' });
      await new Promise((r) => setTimeout(r, 3000)); // room for a write that would follow the reconcile
      const after = await scrape(pod);
      expect(await snapshot(), 'resourceVersions after a forced reconcile').to.deep.equal(steady);
      const writes = Object.fromEntries(Object.entries(writesBetween(before, after)).filter(([k]) => !k.startsWith('PUT ')));
      expect(writes, 'operator writes besides Lease renewals').to.deep.equal({});
      console.log(`    ${String((await kcpReconciles(pod)) - reconcilesBefore)} KamajiControlPlane reconciles, no write`);

      // A restarted operator remembers nothing: it compares with what the apiserver holds and finds nothing to do.
      await suite.client.delete(POD, { namespace: 'kamaji-system', name: pod.metadata.name ?? '' });
      const next = await waitFor(
        async () => {
          const p = await operatorPod(suite.client);
          if (!p || p.metadata.name === pod.metadata.name) return undefined;
          return (await kcpReconciles(p)) >= 1 ? p : undefined;
        },
        { timeoutMs: 120_000, intervalMs: 1000, what: 'a new operator pod, leading and having reconciled the KamajiControlPlane' },
      );
      let last = -1;
      await waitFor(
        async () => {
          const n = (await scrape(next)).tenantReconciles + (await kcpReconciles(next));
          const still = n === last;
          last = n;
          return still ? true : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 3000, what: 'the restarted operator to go quiet' },
      );
      const tenantHost = (await get<TCPObject>(TCP, NAME))?.status?.controlPlaneEndpoint ?? NAME;
      const restartWrites = Object.fromEntries(
        Object.entries(writesBetween({ tenantReconciles: 0, writes: new Map() }, await scrape(next))).filter(([k]) => !k.startsWith('PUT ') && !k.endsWith(tenantHost)),
      );
      expect(await snapshot(), 'resourceVersions after an operator restart').to.deep.equal(steady);
      expect(restartWrites, 'management-cluster writes by the restarted operator (Lease renewals aside)').to.deep.equal({});
    });

    it('puts the tenant to sleep with replicas 0 and wakes it with its objects', async function () {
      this.timeout(6 * 60_000);
      await kubectl(kubeconfigPath, ['create', 'namespace', 'before-sleep']);
      await kubectl(kubeconfigPath, ['-n', 'before-sleep', 'create', 'configmap', 'kept', '--from-literal=answer=42']);
      await suite.client.mergePatch(KCP, { namespace, name: NAME }, { spec: { replicas: 0 } });
      await waitFor(
        async () => {
          const k = await get<KCPObject>(KCP, NAME);
          const pods = await suite.client.list(POD, { namespace, labelSelector: `kamaji.clastix.io/name=${NAME}`, direct: true });
          if (getCondition(k, 'Sleeping')?.status === 'True' && pods.length === 0) return k;
          throw new Error(`${String(pods.length)} pods\n${await describeState()}`);
        },
        { timeoutMs: 2 * 60_000, intervalMs: 1000, what: 'the KamajiControlPlane to sleep with no control plane pod' },
      ).then((k) => {
        expect(getCondition(k, 'Available')).to.include({ status: 'False', reason: 'Sleeping' });
      expect(getCondition(k, 'Ready')).to.include({ status: 'False', reason: 'Sleeping' });
        expect(k.status?.replicas).to.equal(0);
        expect(k.status?.initialization?.controlPlaneInitialized, 'initialized stays true').to.equal(true);
      });
      await suite.client.mergePatch(KCP, { namespace, name: NAME }, { spec: { replicas: 1 } });
      await waitFor(
        async () => {
          const k = await get<KCPObject>(KCP, NAME);
          if (getCondition(k, 'Available')?.status === 'True' && getCondition(k, 'Sleeping')?.reason === 'Awake') return true;
          throw new Error(await describeState());
        },
        { timeoutMs: 4 * 60_000, intervalMs: 1000, what: 'the KamajiControlPlane to wake up Available' },
      );
      const answer = await waitFor(
        () => kubectl(kubeconfigPath, ['-n', 'before-sleep', 'get', 'configmap', 'kept', '-o', 'jsonpath={.data.answer}']).then((s) => s.trim()),
        { timeoutMs: 60_000, intervalMs: 1000, what: 'the ConfigMap made before sleeping' },
      );
      expect(answer).to.equal('42');
    });

    it('leaves the control plane of a paused Cluster alone and catches up once unpaused', async function () {
      this.timeout(2 * 60_000);
      await suite.client.mergePatch(CLUSTER, { namespace, name: NAME }, { spec: { paused: true } });
      await waitFor(async () => (getCondition(await get<KCPObject>(KCP, NAME), 'Paused')?.status === 'True' ? true : undefined), { timeoutMs: 30_000, what: 'the Paused condition' });
      const pod = started(await operatorPod(suite.client), 'the operator pod');
      const reconciles = await kcpReconciles(pod);
      await suite.client.mergePatch(KCP, { namespace, name: NAME }, { metadata: { labels: { 'e2e.kvcloud.io/while-paused': 'yes' } } });
      // The label change is a reconcile request like any other: it must find the control plane paused.
      await waitFor(async () => ((await kcpReconciles(pod)) > reconciles ? true : undefined), { timeoutMs: 30_000, what: 'a reconcile of the paused KamajiControlPlane' });
      await new Promise((r) => setTimeout(r, 3000)); // room for a write that must not happen
      expect((await get<TCPObject>(TCP, NAME))?.metadata.labels?.['e2e.kvcloud.io/while-paused'], 'TenantControlPlane label while paused').to.equal(undefined);
      await suite.client.mergePatch(CLUSTER, { namespace, name: NAME }, { spec: { paused: false } });
      await waitFor(async () => ((await get<TCPObject>(TCP, NAME))?.metadata.labels?.['e2e.kvcloud.io/while-paused'] === 'yes' ? true : undefined), {
        timeoutMs: 30_000,
        what: 'the TenantControlPlane to catch up with the label once unpaused',
      });
      // The TenantControlPlane is applied mid-reconcile and the KamajiControlPlane's status patched at its end: wait
      // for that patch rather than read it in between (a loaded run did).
      await waitFor(async () => (getCondition(await get<KCPObject>(KCP, NAME), 'Paused')?.status === 'False' ? true : undefined), {
        timeoutMs: 30_000,
        what: 'the Paused condition to turn False once unpaused',
      });
    });

    it('walks an upgrade across two minors one minor at a time, each step only once the previous one runs', async function () {
      this.timeout(8 * 60_000);
      // The older releases `make tools` builds for upgrade proofs: two minors back, and the next minor's .0.
      const older = parseVersionsEnv(readFileSync(join(toolsDir, 'versions.env'), 'utf8')).get('KUBERNETES_OLDER_VERSIONS') ?? '';
      const [from, waypoint] = older.split(',');
      if (!from || !waypoint) throw new Error(`versions.env KUBERNETES_OLDER_VERSIONS must list two releases, has "${older}"`);
      const [cluster, cp] = ['walk', 'walk-cp'];
      await suite.client.create({ ...KCP, metadata: { name: cp, namespace }, spec: { version: from, replicas: 1, dataStoreName: 'shared-etcd' } });
      await suite.client.create({ ...CLUSTER, metadata: { name: cluster, namespace }, spec: { controlPlaneRef: { apiGroup: 'controlplane.cluster.x-k8s.io', kind: 'KamajiControlPlane', name: cp } } });
      const availableAt = async (version: string) => {
        const k = await get<KCPObject>(KCP, cp);
        return getCondition(k, 'Available')?.status === 'True' && k?.status?.version === version && k.status.replicas === 1 && k.status.upToDateReplicas === 1;
      };
      await waitFor(async () => ((await availableAt(from)) ? true : undefined), { timeoutMs: 3 * 60_000, intervalMs: 1000, what: `KamajiControlPlane ${cp} Available at ${from}` });
      // What the TenantControlPlane is asked to run, and what it reports running, as seen every half second.
      const seen: string[] = [];
      const observe = async () => {
        const t = await get<TCPObject>(TCP, cp);
        const entry = `spec ${t?.spec.kubernetes.version ?? ''} / running ${t?.status?.kubernetesResources?.version?.version ?? ''} ${t?.status?.kubernetesResources?.version?.status ?? ''}`;
        if (seen[seen.length - 1] !== entry) seen.push(entry);
      };
      // The state before the upgrade is asked for: the first step can be written before the first poll below.
      await observe();
      const t0 = Date.now();
      await suite.client.mergePatch(KCP, { namespace, name: cp }, { spec: { version: VERSION } });
      await waitFor(
        async () => {
          await observe();
          return (await availableAt(VERSION)) ? true : undefined;
        },
        { timeoutMs: 6 * 60_000, intervalMs: 500, what: `KamajiControlPlane ${cp} Available at ${VERSION}` },
      );
      console.log(`    ${from} -> ${VERSION} in ${((Date.now() - t0) / 1000).toFixed(1)} s:\n      ${seen.join('\n      ')}`);
      const specs = [...new Set(seen.map((e) => e.split(' ')[1]))];
      expect(specs, 'TenantControlPlane spec versions in order').to.deep.equal([from, waypoint, VERSION]);
      // The last step was written only once the waypoint ran: from then on nothing older than it runs.
      const afterFinal = seen.filter((e) => e.startsWith(`spec ${VERSION} `));
      expect(afterFinal[0], seen.join('; ')).to.include(`running ${waypoint} `);
      expect(afterFinal.every((e) => !e.includes(`running ${from} `)), seen.join('; ')).to.equal(true);
      await suite.client.delete(CLUSTER, { namespace, name: cluster });
      await waitFor(async () => ((await get(KCP, cp)) || (await get(TCP, cp)) ? undefined : true), { timeoutMs: 2 * 60_000, intervalMs: 1000, what: `Cluster ${cluster} deleted down to its control plane` });
    });

    it('deletes the TenantControlPlane, the Secrets and the tenant data in the datastore with the KamajiControlPlane', async function () {
      this.timeout(4 * 60_000);
      const shared = started(etcd, 'the shared etcd');
      const tcp = await get<TCPObject>(TCP, NAME);
      const schema = tcp?.status?.storage?.setup?.schema ?? '';
      const user = tcp?.status?.storage?.setup?.user ?? '';
      expect(schema).to.not.equal('');
      expect((await shared.etcdctl(shared.root, 'get', `/${schema}/`, '--prefix', '--keys-only')).trim().length).to.be.greaterThan(0);
      await suite.client.delete(KCP, { namespace, name: NAME });
      await waitFor(
        async () => {
          const left: string[] = [];
          if (await get(KCP, NAME)) left.push('KamajiControlPlane');
          if (await get(TCP, NAME)) left.push('TenantControlPlane');
          for (const s of [`${NAME}-kubeconfig`, `${NAME}-ca`]) if (await get(SECRET_TYPE, s)) left.push(`Secret ${s}`);
          if (left.length > 0) throw new Error(`still there: ${left.join(', ')}\n${await describeState()}`);
          return true;
        },
        { timeoutMs: 3 * 60_000, intervalMs: 1000, what: 'the KamajiControlPlane, its TenantControlPlane and Secrets to be gone' },
      );
      expect((await shared.etcdctl(shared.root, 'get', `/${schema}/`, '--prefix', '--keys-only')).trim()).to.equal('');
      expect((await shared.etcdctl(shared.root, 'user', 'list')).split('\n')).to.not.include(user);
    });
  });
});
