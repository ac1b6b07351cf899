// TenantControlPlanes on the local management cluster: the operator turns each into real kube-apiserver,
// kube-controller-manager and kube-scheduler processes (pods run by the pod runner) on a shared etcd, and the
// tests check what a user would: /readyz and /version through the generated admin kubeconfig, etcd isolation
// between two tenants with their own client certificates, a signed cluster-info and a node joining with a
// bootstrap token, the kubeadm addons, and a clean removal down to the etcd user and keys.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { DEPLOYMENT_TYPE } from '../../../lib/apis/apps.js';
import { SECRET_TYPE, SERVICE_TYPE } from '../../../lib/apis/core.js';
import { Client } from '../../../lib/kube/client.js';
import { kubeConfigFromString } from '../../../lib/kube/kubeconfig.js';
import type { KubeObject } from '../../../lib/kube/object.js';
import { RestMapper } from '../../../lib/kube/rest-mapper.js';
import { RestTransport } from '../../../lib/kube/rest-transport.js';
import type { TenantControlPlane } from '../../../providers/controlplane/api/index.js';
import { caPublicKeyHash, verifyDetachedJWS, parseBootstrapToken } from '../../../simulators/guest/discovery.js';
import { createBootstrapToken } from '../../../simulators/guest/bootstrap-token.js';
import { joinNode, type RunningNode } from '../../../simulators/guest/join.js';
import { kubectl } from '../../../localcloud/kubectl.js';
import { runDir } from '../../../localcloud/run-dir.js';
import { upstreamVersion } from '../../../localcloud/versions.js';
import { waitFor } from '../../../localcloud/wait.js';
import { clusterSuite, createNamespace } from '../cluster/support.js';
import { installControlPlaneProvider } from '../../../localcloud/install-controlplane.js';
import { operatorPod, scrape, writesBetween } from './operator-metrics.js';
import { managementVersions, tenantVersions } from './resource-versions.js';
import { createReadyDataStore, startSharedEtcd, type SharedEtcd } from '../../../localcloud/etcd-datastore.js';

const DATASTORE = { apiVersion: 'kamaji.clastix.io/v1alpha1', kind: 'DataStore' };
const TCP = { apiVersion: 'kamaji.clastix.io/v1alpha1', kind: 'TenantControlPlane' };
const RUNTIME_CLASS = { apiVersion: 'node.k8s.io/v1', kind: 'RuntimeClass' };
const VERSION = upstreamVersion('KUBERNETES_VERSION');

interface Secret extends KubeObject {
  data?: Record<string, string>;
}
interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}
/** What the removal test reads of the control plane Deployment. */
interface WorkloadDeployment extends KubeObject {
  spec?: {
    template?: {
      metadata?: { labels?: Record<string, string> };
      spec?: { nodeSelector?: Record<string, string>; runtimeClassName?: string; tolerations?: { key?: string }[]; containers: { name: string; args?: string[] }[] };
    };
  };
  status?: { observedGeneration?: number; replicas?: number; updatedReplicas?: number; availableReplicas?: number };
}

function tenantControlPlane(namespace: string, name: string, dataStore: string): TenantControlPlane {
  return {
    apiVersion: 'kamaji.clastix.io/v1alpha1',
    kind: 'TenantControlPlane',
    metadata: { name, namespace },
    spec: {
      dataStore,
      controlPlane: { deployment: { replicas: 1 }, service: { serviceType: 'LoadBalancer' } },
      kubernetes: { version: VERSION, kubelet: {} },
      networkProfile: { port: 6443 },
      addons: { coreDNS: {}, kubeProxy: {} },
    },
  } as unknown as TenantControlPlane;
}

function describeTCP(t: TenantControlPlane | undefined): string {
  if (!t) return 'not found';
  const conditions = (t.status?.conditions ?? []).map((c) => `${c.type}=${c.status}(${c.reason}: ${c.message})`).join('; ');
  return `version=${JSON.stringify(t.status?.kubernetesResources?.version)} endpoint=${t.status?.controlPlaneEndpoint ?? ''} ${conditions}`;
}

/** Pods of a namespace with their container states and the tail of each container's last log. */
async function describePods(client: Client, clusterDir: string, namespace: string): Promise<string> {
  const pods = await client.list<KubeObject & { status?: { phase?: string; containerStatuses?: { name: string; ready: boolean; restartCount: number; state?: object; lastState?: object }[] } }>(
    { apiVersion: 'v1', kind: 'Pod' },
    { namespace, direct: true },
  );
  const out: string[] = [];
  const sets = await client.list<KubeObject & { spec?: { template?: unknown } }>({ apiVersion: 'apps/v1', kind: 'ReplicaSet' }, { namespace, direct: true });
  for (const rs of sets) out.push(`replicaset ${rs.metadata.name ?? ''} ${JSON.stringify(rs.spec?.template).slice(0, 3000)}`);
  const events = await client.list<KubeObject & { reason?: string; note?: string; regarding?: { name?: string } }>({ apiVersion: 'events.k8s.io/v1', kind: 'Event' }, { namespace, direct: true });
  for (const e of events) out.push(`event ${e.regarding?.name ?? ''} ${e.reason ?? ''}: ${e.note ?? ''}`);
  for (const pod of pods) {
    out.push(`pod ${pod.metadata.name ?? ''} ${pod.status?.phase ?? ''}`);
    for (const c of pod.status?.containerStatuses ?? []) out.push(`  ${c.name} ready=${String(c.ready)} restarts=${c.restartCount} ${JSON.stringify(c.state)} last=${JSON.stringify(c.lastState)}`);
    const logDir = join(clusterDir, 'logs', `${namespace}_${pod.metadata.name ?? ''}_${pod.metadata.uid ?? ''}`);
    for (const container of await readdir(logDir).catch(() => [])) {
      const runs = (await readdir(join(logDir, container)).catch(() => [])).sort();
      const last = runs[runs.length - 1];
      if (!last) continue;
      const text = await readFile(join(logDir, container, last), 'utf8').catch(() => '');
      out.push(`  --- ${container}/${last}:`, ...text.trim().split('\n').slice(-8).map((l) => `    ${l.slice(0, 400)}`));
    }
  }
  return out.join('\n');
}

describe('TenantControlPlane on a shared etcd', function () {
  this.timeout(10 * 60_000);
  const suite = clusterSuite();
  describe('with the operator running', () => {
    let sharedEtcd: SharedEtcd | undefined;
    let namespace: string;
    let dir: string;
    const tenants = ['acme', 'beta'];
    const kubeconfigs = new Map<string, string>();
    const tenantClients: RestTransport[] = [];
    let node: RunningNode | undefined;

    const started = <T>(value: T | undefined, what: string): T => {
      if (value === undefined) throw new Error(`${what} did not start (see the before hook)`);
      return value;
    };
    const get = (name: string) => suite.client.get<TenantControlPlane & KubeObject>(TCP, { namespace, name }, { direct: true });
    const secret = (name: string) => suite.client.get<Secret>(SECRET_TYPE, { namespace, name }, { direct: true });

    async function tenantClient(name: string): Promise<Client> {
      const kc = kubeConfigFromString(kubeconfigs.get(name) ?? '', `${name} admin kubeconfig`);
      const transport = await RestTransport.fromKubeConfig(kc);
      tenantClients.push(transport);
      return new Client({ transport, mapper: new RestMapper(transport), fieldManager: 'kvcloud-e2e' });
    }

    before(async function () {
      this.timeout(5 * 60_000);
      dir = await mkdtemp(join(runDir(), 'tcp-e2e-'));
      const etcd = await startSharedEtcd(suite.client, 'shared-etcd');
      sharedEtcd = etcd;
      await installControlPlaneProvider(suite.cluster, suite.client);
      // The admission policy accepts a TenantControlPlane naming a DataStore once the operator has registered it.
      await createReadyDataStore(suite.client, 'shared-etcd', etcd);
      namespace = await createNamespace(suite.client, 'tenants');
    });

    after(async function () {
      this.timeout(120_000);
      await node?.stop();
      for (const t of tenantClients) t.close();
      if (sharedEtcd) await sharedEtcd.stop();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('brings two TenantControlPlanes on one etcd DataStore to Ready, each answering /readyz and /version through its admin kubeconfig', async () => {
      const started = Date.now();
      await Promise.all(tenants.map((name) => suite.client.create(tenantControlPlane(namespace, name, 'shared-etcd'))));
      for (const name of tenants) {
        const tcp = await waitFor(
          async () => {
            const t = await get(name);
            if (t?.status?.kubernetesResources?.version?.status !== 'Ready') {
              throw new Error(`${describeTCP(t)}\n${await describePods(suite.client, suite.cluster.dir, namespace)}`);
            }
            return t;
          },
          { timeoutMs: 4 * 60_000, intervalMs: 500, what: `TenantControlPlane ${name} to be Ready` },
        );
        expect(tcp.status?.kubernetesResources?.version?.version).to.equal(VERSION);
        expect(tcp.status?.controlPlaneEndpoint).to.match(/^10\.255\.\d+\.\d+:6443$/);
        const adminSecret = tcp.status?.kubeconfig?.admin?.secretName ?? '';
        const admin = await secret(adminSecret);
        const conf = Buffer.from(admin?.data?.['admin.conf'] ?? '', 'base64').toString();
        const superConf = Buffer.from(admin?.data?.['super-admin.conf'] ?? '', 'base64').toString();
        expect(conf).to.include(`https://${tcp.status?.controlPlaneEndpoint ?? ''}`);
        const path = join(dir, `${name}.kubeconfig`);
        await writeFile(path, conf);
        kubeconfigs.set(name, superConf);
        // The admin (kubeadm:cluster-admins) kubeconfig, exactly as the user gets it from the Secret.
        expect((await kubectl(path, ['get', '--raw', '/readyz'])).trim()).to.equal('ok');
        const version = JSON.parse(await kubectl(path, ['get', '--raw', '/version'])) as { gitVersion: string };
        expect(version.gitVersion).to.equal(tcp.spec.kubernetes.version);
        await kubectl(path, ['get', 'namespaces']);
      }
      console.log(`    ${tenants.length} TenantControlPlanes Ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      const ds = await suite.client.get<KubeObject & { status?: { usedBy?: string[]; ready?: boolean } }>(
        { apiVersion: 'kamaji.clastix.io/v1alpha1', kind: 'DataStore' },
        { name: 'shared-etcd' },
        { direct: true },
      );
      expect(ds?.status?.usedBy).to.deep.equal(tenants.map((t) => `${namespace}/${t}`).sort());
      expect(ds?.status?.ready).to.equal(true);
    });

    it('confines each tenant to its etcd prefix: its client certificate reads its own keys and nothing else', async () => {
      const etcd = started(sharedEtcd, 'the shared etcd');
      const certOf = async (name: string) => {
        const t = await get(name);
        const s = await secret(t?.status?.storage?.certificate?.secretName ?? '');
        const d = (k: string) => Buffer.from(s?.data?.[k] ?? '', 'base64').toString();
        return { certPem: d('server.crt'), keyPem: d('server.key'), prefix: `/${t?.status?.storage?.setup?.schema ?? ''}/` };
      };
      const acme = await certOf('acme');
      const beta = await certOf('beta');
      expect(acme.prefix).to.equal(`/${namespace.replaceAll('-', '_')}_acme/`);
      const own = await etcd.etcdctl(acme, 'get', acme.prefix, '--prefix', '--keys-only', '--limit=5');
      expect(own).to.include(acme.prefix);
      for (const [who, other] of [[acme, beta.prefix], [beta, acme.prefix]] as const) {
        let denied = '';
        await etcd.etcdctl(who, 'get', other, '--prefix', '--keys-only').catch((err: unknown) => (denied = (err as Error).message));
        expect(denied).to.match(/permission denied/);
      }
      let rootRange = '';
      await etcd.etcdctl(acme, 'get', '/', '--prefix', '--keys-only').catch((err: unknown) => (rootRange = (err as Error).message));
      expect(rootRange).to.match(/permission denied/);
      const roles = await etcd.etcdctl(etcd.root, 'role', 'get', acme.prefix.slice(1, -1));
      expect(roles).to.include(`prefix ${acme.prefix}`);
    });

    it('publishes cluster-info signed for a bootstrap token and lets a node join with it', async () => {
      const client = await tenantClient('acme');
      const token = await createBootstrapToken(client);
      const { id } = parseBootstrapToken(token);
      const info = await waitFor(
        async () => {
          const cm = await client.get<ConfigMap>({ apiVersion: 'v1', kind: 'ConfigMap' }, { namespace: 'kube-public', name: 'cluster-info' }, { direct: true });
          return cm?.data?.[`jws-kubeconfig-${id}`] ? cm : undefined;
        },
        { timeoutMs: 60_000, what: `cluster-info to be signed for token ${id} by the tenant's bootstrapsigner` },
      );
      expect(verifyDetachedJWS(info.data?.[`jws-kubeconfig-${id}`] ?? '', info.data?.kubeconfig ?? '', parseBootstrapToken(token))).to.equal(true);

      const tcp = await get('acme');
      const caPem = Buffer.from((await secret(`acme-ca`))?.data?.['ca.crt'] ?? '', 'base64').toString();
      node = await joinNode({
        apiServerEndpoint: tcp?.status?.controlPlaneEndpoint ?? '',
        token,
        caCertHashes: [caPublicKeyHash(caPem)],
        nodeName: 'acme-worker-1',
        timeoutMs: 120_000,
      });
      await waitFor(async () => ((await client.get({ apiVersion: 'v1', kind: 'Node' }, { name: 'acme-worker-1' }, { direct: true })) ? true : undefined), {
        timeoutMs: 60_000,
        what: 'Node acme-worker-1 in the tenant',
      });
      expect(node.csrName).to.be.a('string');
    });

    it('installs the kubeadm ConfigMaps, CoreDNS and kube-proxy inside the tenant', async () => {
      const client = await tenantClient('acme');
      const expectObject = async (type: { apiVersion: string; kind: string }, ref: { namespace?: string; name: string }) => {
        const obj = await client.get(type, ref, { direct: true });
        expect(obj, `${type.kind} ${ref.namespace ?? ''}/${ref.name}`).to.not.equal(undefined);
      };
      const cm = { apiVersion: 'v1', kind: 'ConfigMap' };
      await expectObject(cm, { namespace: 'kube-system', name: 'kubeadm-config' });
      await expectObject(cm, { namespace: 'kube-system', name: 'kubelet-config' });
      await expectObject(cm, { namespace: 'kube-system', name: 'coredns' });
      await expectObject(DEPLOYMENT_TYPE, { namespace: 'kube-system', name: 'coredns' });
      await expectObject(SERVICE_TYPE, { namespace: 'kube-system', name: 'kube-dns' });
      await expectObject(cm, { namespace: 'kube-system', name: 'kube-proxy' });
      await expectObject({ apiVersion: 'apps/v1', kind: 'DaemonSet' }, { namespace: 'kube-system', name: 'kube-proxy' });
      const dns = await client.get<KubeObject & { spec?: { clusterIP?: string } }>(SERVICE_TYPE, { namespace: 'kube-system', name: 'kube-dns' }, { direct: true });
      expect(dns?.spec?.clusterIP).to.equal('10.95.0.10');
    });

    it('runs the Konnectivity server beside the apiserver and deploys its agent in the tenant when the addon is on', async () => {
      const tcp = tenantControlPlane(namespace, 'gamma', 'shared-etcd');
      tcp.spec.addons = { konnectivity: { server: { port: 8132 }, agent: {} } };
      await suite.client.create(tcp);
      const ready = await waitFor(
        async () => {
          const t = await get('gamma');
          if (t?.status?.kubernetesResources?.version?.status !== 'Ready') {
            throw new Error(`${describeTCP(t)}\n${await describePods(suite.client, suite.cluster.dir, namespace)}`);
          }
          return t;
        },
        { timeoutMs: 4 * 60_000, intervalMs: 500, what: 'TenantControlPlane gamma (with Konnectivity) to be Ready' },
      );
      const pods = await suite.client.list<KubeObject & { status?: { containerStatuses?: { name: string; ready: boolean; restartCount: number }[] } }>(
        { apiVersion: 'v1', kind: 'Pod' },
        { namespace, labelSelector: 'kamaji.clastix.io/name=gamma', direct: true },
      );
      const server = pods.flatMap((p) => p.status?.containerStatuses ?? []).find((c) => c.name === 'konnectivity-server');
      expect(server, 'konnectivity-server container').to.not.equal(undefined);
      expect(server?.ready).to.equal(true);
      const svc = await suite.client.get<KubeObject & { spec?: { ports?: { name: string; port: number }[] } }>(SERVICE_TYPE, { namespace, name: 'gamma' }, { direct: true });
      expect(svc?.spec?.ports?.map((p) => p.name)).to.include('konnectivity-server');
      const admin = await secret(ready.status?.kubeconfig?.admin?.secretName ?? '');
      kubeconfigs.set('gamma', Buffer.from(admin?.data?.['super-admin.conf'] ?? '', 'base64').toString());
      const client = await tenantClient('gamma');
      await waitFor(async () => ((await client.get({ apiVersion: 'apps/v1', kind: 'DaemonSet' }, { namespace: 'kube-system', name: 'konnectivity-agent' }, { direct: true })) ? true : undefined), {
        timeoutMs: 60_000,
        what: 'the konnectivity-agent DaemonSet in tenant gamma',
      });
      expect(await client.get({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding' }, { name: 'system:konnectivity-server' }, { direct: true })).to.not.equal(undefined);
    });

    it('writes nothing at steady state: forced reconciles and an operator restart leave every object as it was', async () => {
      const ready = ['acme', 'beta', 'gamma'];
      const tenantApis = await Promise.all(ready.map((t) => tenantClient(t)));
      const snapshot = async () => {
        const all: Record<string, string> = {};
        for (const [i, t] of ready.entries()) {
          Object.assign(all, await managementVersions(suite.client, namespace, t));
          for (const [k, v] of Object.entries(await tenantVersions(started(tenantApis[i], `${t} client`)))) all[`${t}: ${k}`] = v;
        }
        // What else the operator could write: the DataStore (status), the registry and Events.
        all['DataStore shared-etcd'] = (await suite.client.get(DATASTORE, { name: 'shared-etcd' }, { direct: true }))?.metadata.resourceVersion ?? 'absent';
        all['ConfigMap kvcloud-datastores'] = (await suite.client.get({ apiVersion: 'v1', kind: 'ConfigMap' }, { namespace: 'kamaji-system', name: 'kvcloud-datastores' }, { direct: true }))?.metadata.resourceVersion ?? 'absent';
        const events = await suite.client.list<KubeObject & { reason?: string; reportingController?: string }>({ apiVersion: 'events.k8s.io/v1', kind: 'Event' }, { namespace, direct: true });
        for (const e of events.filter((ev) => ev.reportingController?.includes('controlplane'))) all[`Event ${e.reason ?? ''} ${e.metadata.name ?? ''}`] = e.metadata.resourceVersion ?? '';
        return all;
      };
      // Settled: every tenant Ready and nothing moving for a few seconds (gamma has only just become Ready).
      let steady = await snapshot();
      await waitFor(
        async () => {
          for (const t of ready) if ((await get(t))?.status?.kubernetesResources?.version?.status !== 'Ready') throw new Error(`${t}: ${describeTCP(await get(t))}`);
          const before = steady;
          await new Promise((r) => setTimeout(r, 3000));
          steady = await snapshot();
          return JSON.stringify(before) === JSON.stringify(steady) ? true : undefined;
        },
        { timeoutMs: 90_000, what: 'every tenant to settle' },
      );
      // Management-cluster PUTs are the leader's Lease renewals: the operator updates nothing else (it patches).
      const tenantHosts = await Promise.all(ready.map(async (t) => (await get(t))?.status?.controlPlaneEndpoint ?? t));
      const nonLeaseWrites = (w: Record<string, number>) => Object.fromEntries(Object.entries(w).filter(([k]) => !k.startsWith('PUT ') || tenantHosts.some((h) => k.endsWith(h))));

      // 1. Forced reconciles: an annotation the operator ignores changes the TenantControlPlane (and only it).
      const pod = started(await operatorPod(suite.client), 'the operator pod');
      const before = await scrape(pod);
      for (const t of ready) {
        const touched = await suite.client.mergePatch<KubeObject>(TCP, { namespace, name: t }, { metadata: { annotations: { 'e2e.kvcloud.io/touched': String(Date.now()) } } });
        steady[`TenantControlPlane ${t}`] = touched.metadata.resourceVersion ?? '';
      }
      await waitFor(async () => ((await scrape(pod)).tenantReconciles >= before.tenantReconciles + ready.length ? true : undefined), { timeoutMs: 30_000, what: 'a reconcile of every touched tenant' });
      await new Promise((r) => setTimeout(r, 2000)); // room for a write that would follow a reconcile
      const afterTouch = await scrape(pod);
      expect(await snapshot(), 'resourceVersions after forced reconciles').to.deep.equal(steady);
      expect(nonLeaseWrites(writesBetween(before, afterTouch)), 'operator write requests after forced reconciles').to.deep.equal({});

      // 2. A restart: the new process has no memory of what it applied, reconciles every tenant and re-applies
      // the tenant phases (server-side apply of identical content, which changes no resourceVersion).
      await suite.client.delete({ apiVersion: 'v1', kind: 'Pod' }, { namespace: 'kamaji-system', name: pod.metadata.name ?? '' });
      const next = await waitFor(
        async () => {
          const p = await operatorPod(suite.client);
          if (!p || p.metadata.name === pod.metadata.name) return undefined;
          return (await scrape(p)).tenantReconciles >= ready.length ? p : undefined;
        },
        { timeoutMs: 120_000, intervalMs: 1000, what: 'a new operator pod, leading and having reconciled every tenant' },
      );
      // Quiet: the reconcile count holds still for a few seconds, so every pass is counted below.
      let last = -1;
      await waitFor(
        async () => {
          const n = (await scrape(next)).tenantReconciles;
          const still = n === last;
          last = n;
          return still ? true : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 3000, what: 'the restarted operator to go quiet' },
      );
      const afterRestart = await scrape(next);
      const managementWrites = Object.fromEntries(Object.entries(nonLeaseWrites(writesBetween({ tenantReconciles: 0, writes: new Map() }, afterRestart))).filter(([k]) => !tenantHosts.some((h) => k.endsWith(h))));
      expect(await snapshot(), 'resourceVersions after the restart').to.deep.equal(steady);
      expect(managementWrites, 'management-cluster writes by the restarted operator (Lease renewals aside)').to.deep.equal({});
      const tenantWrites = Object.fromEntries(Object.entries(writesBetween({ tenantReconciles: 0, writes: new Map() }, afterRestart)).filter(([k]) => tenantHosts.some((h) => k.endsWith(h))));
      // Inside the tenants only the phases' server-side applies (identical content, so no change, as checked above).
      expect(Object.keys(tenantWrites).filter((k) => !k.startsWith('PATCH ')), 'tenant-side writes other than apply').to.deep.equal([]);
      console.log(`    after the restart: ${String(afterRestart.tenantReconciles)} tenant reconciles, tenant-side applies ${JSON.stringify(tenantWrites)}`);
    });

    it('takes every field removed from the spec off the Deployment and Service, then writes nothing at steady state', async () => {
      // gamma: no later test uses it, so the rollouts this causes delay nothing else.
      const name = 'gamma';
      const runtimeClassRef = { name: 'e2e-removal' };
      // A RuntimeClass must exist for the pods to be admitted; the pod runner ignores its handler.
      await suite.client.create({ ...RUNTIME_CLASS, metadata: runtimeClassRef, handler: 'runc' });
      try {
        const toleration = { key: 'e2e.kvcloud.io/removal', operator: 'Exists', effect: 'NoSchedule' };
        const set = {
          deployment: {
            nodeSelector: { 'kubernetes.io/os': 'linux' },
            runtimeClassName: runtimeClassRef.name,
            tolerations: [toleration],
            additionalMetadata: { labels: { 'e2e.kvcloud.io/deployment-label': 'set' } },
            podAdditionalMetadata: { labels: { 'e2e.kvcloud.io/pod-label': 'set' } },
            extraArgs: { apiServer: ['--v=2'] },
          },
          service: { additionalPorts: [{ name: 'e2e-extra', port: 9443, targetPort: 6443 }] },
        };
        const removed = Object.fromEntries(Object.entries(set).map(([part, fields]) => [part, Object.fromEntries(Object.keys(fields).map((k) => [k, null]))]));
        // Which of the fields above the live children carry.
        const carried = async (): Promise<Record<string, boolean>> => {
          const d = await suite.client.get<WorkloadDeployment>(DEPLOYMENT_TYPE, { namespace, name }, { direct: true });
          const svc = await suite.client.get<KubeObject & { spec?: { ports?: { name?: string }[] } }>(SERVICE_TYPE, { namespace, name }, { direct: true });
          const pod = d?.spec?.template?.spec;
          return {
            nodeSelector: pod?.nodeSelector?.['kubernetes.io/os'] !== undefined,
            runtimeClassName: pod?.runtimeClassName !== undefined,
            toleration: (pod?.tolerations ?? []).some((t) => t.key === toleration.key),
            'Deployment label': d?.metadata.labels?.['e2e.kvcloud.io/deployment-label'] !== undefined,
            'pod label': d?.spec?.template?.metadata?.labels?.['e2e.kvcloud.io/pod-label'] !== undefined,
            'apiserver extraArg': (pod?.containers.find((c) => c.name === 'kube-apiserver')?.args ?? []).includes('--v=2'),
            'Service additionalPort': (svc?.spec?.ports ?? []).some((p) => p.name === 'e2e-extra'),
          };
        };
        const allAre = (want: boolean) => async () => {
          const seen = await carried();
          if (Object.values(seen).some((v) => v !== want)) throw new Error(JSON.stringify(seen));
          return seen;
        };
        await suite.client.mergePatch(TCP, { namespace, name }, { spec: { controlPlane: set } });
        await waitFor(allAre(true), { timeoutMs: 60_000, what: `every field set on ${name} to reach its Deployment and Service` });
        await suite.client.mergePatch(TCP, { namespace, name }, { spec: { controlPlane: removed } });
        await waitFor(allAre(false), { timeoutMs: 60_000, what: `every field removed from ${name} to leave its Deployment and Service` });

        // Settled: Ready, the rollout back to the original template done, and nothing of the tenant moving.
        let steady = await managementVersions(suite.client, namespace, name);
        await waitFor(
          async () => {
            const t = await get(name);
            if (t?.status?.kubernetesResources?.version?.status !== 'Ready') throw new Error(describeTCP(t));
            const d = await suite.client.get<WorkloadDeployment>(DEPLOYMENT_TYPE, { namespace, name }, { direct: true });
            const st = d?.status;
            if (st?.observedGeneration !== d?.metadata.generation || st?.updatedReplicas !== st?.replicas || st?.replicas !== st?.availableReplicas) {
              throw new Error(`Deployment rollout: ${JSON.stringify({ generation: d?.metadata.generation, ...st })}`);
            }
            const before = steady;
            await new Promise((r) => setTimeout(r, 3000));
            steady = await managementVersions(suite.client, namespace, name);
            return JSON.stringify(before) === JSON.stringify(steady) ? true : undefined;
          },
          { timeoutMs: 180_000, what: `${name} to settle after the removals` },
        );
        // A forced reconcile of the settled tenant: no write besides the leader's Lease renewals (PUTs).
        const host = (await get(name))?.status?.controlPlaneEndpoint ?? name;
        const pod = started(await operatorPod(suite.client), 'the operator pod');
        const before = await scrape(pod);
        const touched = await suite.client.mergePatch<KubeObject>(TCP, { namespace, name }, { metadata: { annotations: { 'e2e.kvcloud.io/touched': `removal-${String(Date.now())}` } } });
        steady[`TenantControlPlane ${name}`] = touched.metadata.resourceVersion ?? '';
        await waitFor(async () => ((await scrape(pod)).tenantReconciles > before.tenantReconciles ? true : undefined), { timeoutMs: 30_000, what: `a reconcile of ${name}` });
        await new Promise((r) => setTimeout(r, 2000)); // room for a write that would follow the reconcile
        const writes = Object.entries(writesBetween(before, await scrape(pod))).filter(([k]) => !k.startsWith('PUT ') || k.endsWith(host));
        expect(await managementVersions(suite.client, namespace, name), 'resourceVersions after a forced reconcile').to.deep.equal(steady);
        expect(Object.fromEntries(writes), 'operator write requests after a forced reconcile').to.deep.equal({});
      } finally {
        await suite.client.delete(RUNTIME_CLASS, runtimeClassRef);
      }
    });

    it('recreates an etcd user deleted by hand on the next reconcile', async () => {
      const etcd = started(sharedEtcd, 'the shared etcd');
      const setup = (await get('acme'))?.status?.storage?.setup;
      const user = setup?.user ?? '';
      await etcd.etcdctl(etcd.root, 'user', 'delete', user);
      expect((await etcd.etcdctl(etcd.root, 'user', 'list')).split('\n')).to.not.include(user);
      // Any reconcile repairs it (a Ready tenant is also looked at every few minutes without one): force one.
      await suite.client.mergePatch(TCP, { namespace, name: 'acme' }, { metadata: { annotations: { 'e2e.kvcloud.io/touched': `repair-${String(Date.now())}` } } });
      await waitFor(async () => ((await etcd.etcdctl(etcd.root, 'user', 'list')).split('\n').includes(user) ? true : undefined), {
        timeoutMs: 30_000,
        what: `etcd user ${user} to be recreated`,
      });
      expect(await etcd.etcdctl(etcd.root, 'user', 'get', user)).to.include(setup?.schema ?? '');
      // The operator's recorder flushes Events periodically.
      await waitFor(
        async () => {
          const events = await suite.client.list<KubeObject & { reason?: string }>({ apiVersion: 'events.k8s.io/v1', kind: 'Event' }, { namespace, direct: true });
          return events.some((e) => e.reason === 'DataStoreSetupRepaired') ? true : undefined;
        },
        { timeoutMs: 30_000, what: 'the DataStoreSetupRepaired Event' },
      );
      // The tenant apiserver works again with its recreated user, once its periodic etcd health check has rerun.
      const readyz = () => kubectl(join(dir, 'acme.kubeconfig'), ['get', '--raw', '/readyz']).then((out) => out.trim(), (err: unknown) => (err as Error).message);
      await waitFor(async () => ((await readyz()) === 'ok' ? true : undefined), { timeoutMs: 60_000, what: "acme's apiserver /readyz to answer ok again" });
      await kubectl(join(dir, 'acme.kubeconfig'), ['get', 'namespaces']);
    });

    it('leaves a paused TenantControlPlane alone and catches up once the pause annotation is removed', async () => {
      const replicasOf = async () =>
        (await suite.client.get<KubeObject & { spec?: { replicas?: number } }>(DEPLOYMENT_TYPE, { namespace, name: 'acme' }, { direct: true }))?.spec?.replicas;
      await suite.client.mergePatch(TCP, { namespace, name: 'acme' }, { metadata: { annotations: { 'kamaji.clastix.io/paused': 'true' } } });
      const patched = await suite.client.mergePatch<TenantControlPlane & KubeObject>(TCP, { namespace, name: 'acme' }, { spec: { controlPlane: { deployment: { replicas: 2 } } } });
      await waitFor(
        async () => {
          const paused = (await get('acme'))?.status?.conditions?.find((c) => c.type === 'Paused');
          return paused?.status === 'True' && paused.observedGeneration === patched.metadata.generation ? true : undefined;
        },
        { timeoutMs: 30_000, what: 'the Paused condition for the new generation' },
      );
      expect(await replicasOf()).to.equal(1);
      await suite.client.mergePatch(TCP, { namespace, name: 'acme' }, { metadata: { annotations: { 'kamaji.clastix.io/paused': null } } });
      await waitFor(async () => ((await replicasOf()) === 2 ? true : undefined), { timeoutMs: 30_000, what: 'the Deployment to follow spec.controlPlane.deployment.replicas once unpaused' });
      await suite.client.mergePatch(TCP, { namespace, name: 'acme' }, { spec: { controlPlane: { deployment: { replicas: 1 } } } });
      await waitFor(async () => ((await replicasOf()) === 1 ? true : undefined), { timeoutMs: 30_000, what: 'the Deployment back at one replica' });
    });

    it('removes the Secrets, Deployment, Service and the etcd user and keys when the TenantControlPlane is deleted', async () => {
      const etcd = started(sharedEtcd, 'the shared etcd');
      const tcp = await get('beta');
      const schema = tcp?.status?.storage?.setup?.schema ?? '';
      const user = tcp?.status?.storage?.setup?.user ?? '';
      expect((await etcd.etcdctl(etcd.root, 'get', `/${schema}/`, '--prefix', '--keys-only')).trim().length).to.be.greaterThan(0);
      await suite.client.delete(TCP, { namespace, name: 'beta' });
      await waitFor(async () => ((await get('beta')) ? undefined : true), { timeoutMs: 60_000, what: 'TenantControlPlane beta to be gone' });
      await waitFor(
        async () => {
          const left: string[] = [];
          if (await suite.client.get(DEPLOYMENT_TYPE, { namespace, name: 'beta' }, { direct: true })) left.push('Deployment');
          if (await suite.client.get(SERVICE_TYPE, { namespace, name: 'beta' }, { direct: true })) left.push('Service');
          const secrets = await suite.client.list<Secret>(SECRET_TYPE, { namespace, labelSelector: 'kamaji.clastix.io/name=beta', direct: true });
          left.push(...secrets.map((s) => `Secret ${s.metadata.name ?? ''}`));
          if (left.length > 0) throw new Error(`still there: ${left.join(', ')}`);
          return true;
        },
        { timeoutMs: 60_000, what: "beta's children to be garbage collected" },
      );
      const users = await etcd.etcdctl(etcd.root, 'user', 'list');
      expect(users.split('\n')).to.not.include(user);
      const roles = await etcd.etcdctl(etcd.root, 'role', 'list');
      expect(roles.split('\n')).to.not.include(schema);
      expect((await etcd.etcdctl(etcd.root, 'get', `/${schema}/`, '--prefix', '--keys-only')).trim()).to.equal('');
      // The other tenant is untouched.
      expect((await get('acme'))?.status?.kubernetesResources?.version?.status).to.equal('Ready');
    });
  });
});
