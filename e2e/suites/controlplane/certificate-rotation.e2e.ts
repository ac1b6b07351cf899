// Certificate rotation of a TenantControlPlane with a worker joined, as a user would drive it: the
// certs.kamaji.clastix.io/rotate annotation reissues every leaf certificate and kubeconfig (new serial numbers,
// pods rolled), the admin kubeconfig read again from its Secret works, and the joined node keeps renewing its
// Lease throughout; one rotation per annotation value, nothing written afterwards.
import { randomBytes, X509Certificate } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { Client } from '../../../lib/kube/client.js';
import { parseKubeconfig } from '../../../lib/kube/client-cert-kubeconfig.js';
import { kubeConfigFromString } from '../../../lib/kube/kubeconfig.js';
import type { KubeObject } from '../../../lib/kube/object.js';
import { RestMapper } from '../../../lib/kube/rest-mapper.js';
import { RestTransport } from '../../../lib/kube/rest-transport.js';
import { ROTATE_ANNOTATION, type TenantControlPlane } from '../../../providers/controlplane/api/index.js';
import { caPublicKeyHash } from '../../harness/guest/discovery.js';
import { joinNode, type RunningNode } from '../../harness/guest/join.js';
import { kubectl } from '../../harness/kubectl.js';
import { runDir } from '../../harness/run-dir.js';
import { upstreamVersion } from '../../harness/versions.js';
import { waitFor } from '../../harness/wait.js';
import { clusterSuite, createNamespace } from '../cluster/support.js';
import { installControlPlaneProvider } from './install.js';
import { managementVersions } from './resource-versions.js';
import { dataStoreFor, startSharedEtcd, type SharedEtcd } from './shared-etcd.js';

const DATASTORE = { apiVersion: 'kamaji.clastix.io/v1alpha1', kind: 'DataStore' };
const TCP = { apiVersion: 'kamaji.clastix.io/v1alpha1', kind: 'TenantControlPlane' };
const SECRET = { apiVersion: 'v1', kind: 'Secret' };
const DEPLOYMENT = { apiVersion: 'apps/v1', kind: 'Deployment' };
const LEASE = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease' };
const NODE = { apiVersion: 'v1', kind: 'Node' };
const VERSION = upstreamVersion('KUBERNETES_VERSION');
const TENANT = 'rot';
const NODE_NAME = 'rot-worker-1';

/** Leaf Secret suffix -> the data keys holding a certificate or a kubeconfig. */
const LEAVES: Record<string, string[]> = {
  'api-server-certificate': ['apiserver.crt'],
  'api-server-kubelet-client-certificate': ['apiserver-kubelet-client.crt'],
  'front-proxy-client-certificate': ['front-proxy-client.crt'],
  'datastore-certificate': ['server.crt'],
  'admin-kubeconfig': ['admin.conf', 'admin.svc', 'super-admin.conf', 'super-admin.svc'],
  'controller-manager-kubeconfig': ['controller-manager.conf'],
  'scheduler-kubeconfig': ['scheduler.conf'],
};

interface Secret extends KubeObject {
  data?: Record<string, string>;
}
interface Deployment extends KubeObject {
  spec?: { replicas?: number };
  status?: { observedGeneration?: number; replicas?: number; updatedReplicas?: number; readyReplicas?: number };
}
interface Lease extends KubeObject {
  spec?: { renewTime?: string };
}
interface NodeObject extends KubeObject {
  status?: { conditions?: { type: string; status: string }[] };
}

const text = (s: Secret | undefined, key: string) => Buffer.from(s?.data?.[key] ?? '', 'base64').toString();
const certOf = (value: string) => new X509Certificate(value.includes('apiVersion') ? parseKubeconfig(value).certPem : value);

function describeTCP(t: TenantControlPlane | undefined): string {
  if (!t) return 'not found';
  const conditions = (t.status?.conditions ?? []).map((c) => `${c.type}=${c.status}(${c.reason}: ${c.message})`).join('; ');
  return `version=${JSON.stringify(t.status?.kubernetesResources?.version)} ${conditions}`;
}

describe('TenantControlPlane certificate rotation', function () {
  this.timeout(10 * 60_000);
  const suite = clusterSuite();
  // Nested, so its after hook (node, etcd) runs before the cluster's own stops the cluster.
  describe('with a node joined', () => {
    let sharedEtcd: SharedEtcd | undefined;
    let namespace: string;
    let dir: string;
    let node: RunningNode | undefined;
    const transports: RestTransport[] = [];

    const get = () => suite.client.get<TenantControlPlane & KubeObject>(TCP, { namespace, name: TENANT }, { direct: true });
    const secret = (suffix: string) => suite.client.get<Secret>(SECRET, { namespace, name: `${TENANT}-${suffix}` }, { direct: true });

    /** A client with the super-admin kubeconfig as its Secret holds it now. */
    async function tenantClient(): Promise<Client> {
      const kc = kubeConfigFromString(text(await secret('admin-kubeconfig'), 'super-admin.conf'), 'tenant super-admin kubeconfig');
      const transport = await RestTransport.fromKubeConfig(kc);
      transports.push(transport);
      return new Client({ transport, mapper: new RestMapper(transport), fieldManager: 'kvcloud-e2e' });
    }

    /** "suffix/key" -> serial number of each leaf certificate, kubeconfig client certificates included. */
    async function serials(): Promise<Record<string, string>> {
      const out: Record<string, string> = {};
      for (const [suffix, keys] of Object.entries(LEAVES)) {
        const s = await secret(suffix);
        for (const key of keys) out[`${suffix}/${key}`] = certOf(text(s, key)).serialNumber;
      }
      return out;
    }

    /** The Deployment has rolled out its current template, every replica ready, and the tenant is Ready. */
    async function settled(): Promise<TenantControlPlane> {
      return waitFor(
        async () => {
          const t = await get();
          const d = await suite.client.get<Deployment>(DEPLOYMENT, { namespace, name: TENANT }, { direct: true });
          const st = d?.status ?? {};
          const want = d?.spec?.replicas ?? 1;
          const rolled = st.observedGeneration === d?.metadata.generation && st.updatedReplicas === want && st.replicas === want && st.readyReplicas === want;
          if (!rolled || t?.status?.kubernetesResources?.version?.status !== 'Ready') throw new Error(`deployment ${JSON.stringify(st)}; ${describeTCP(t)}`);
          return t;
        },
        { timeoutMs: 4 * 60_000, intervalMs: 500, what: `TenantControlPlane ${TENANT} rolled out and Ready` },
      );
    }

    /** The admin kubeconfig exactly as the user reads it from its Secret now answers /readyz. */
    async function adminWorks(): Promise<void> {
      const path = join(dir, `admin-${Date.now()}.kubeconfig`);
      await writeFile(path, text(await secret('admin-kubeconfig'), 'admin.conf'));
      await waitFor(async () => ((await kubectl(path, ['get', '--raw', '/readyz'])).trim() === 'ok' ? true : undefined), {
        timeoutMs: 60_000,
        intervalMs: 1000,
        what: 'the admin kubeconfig from its Secret to reach /readyz',
      });
    }

    /** The node renews its Lease after `since` and is Ready. */
    async function nodeHeartbeats(since: number): Promise<void> {
      const client = await tenantClient();
      await waitFor(
        async () => {
          const lease = await client.get<Lease>(LEASE, { namespace: 'kube-node-lease', name: NODE_NAME }, { direct: true });
          const renewed = Date.parse(lease?.spec?.renewTime ?? '');
          const ready = (await client.get<NodeObject>(NODE, { name: NODE_NAME }, { direct: true }))?.status?.conditions?.find((c) => c.type === 'Ready');
          if (!(renewed > since) || ready?.status !== 'True') throw new Error(`lease renewed ${lease?.spec?.renewTime ?? 'never'}, Ready=${ready?.status ?? 'unknown'}`);
          return true;
        },
        { timeoutMs: 60_000, intervalMs: 1000, what: `node ${NODE_NAME} to renew its Lease after ${new Date(since).toISOString()} and stay Ready` },
      );
    }

    before(async function () {
      this.timeout(6 * 60_000);
      dir = await mkdtemp(join(runDir(), 'rotation-e2e-'));
      const etcd = await startSharedEtcd(suite.client, 'shared-etcd');
      sharedEtcd = etcd;
      await installControlPlaneProvider(suite.cluster, suite.client);
      await suite.client.create(dataStoreFor('shared-etcd', etcd));
      await waitFor(
        async () => {
          const ds = await suite.client.get<KubeObject & { status?: { ready?: boolean } }>(DATASTORE, { name: 'shared-etcd' }, { direct: true });
          if (ds?.status?.ready !== true) throw new Error(`DataStore status: ${JSON.stringify(ds?.status)}`);
          return true;
        },
        { timeoutMs: 60_000, what: 'DataStore shared-etcd to be ready' },
      );
      namespace = await createNamespace(suite.client, 'tenants');
      await suite.client.create({
        apiVersion: 'kamaji.clastix.io/v1alpha1',
        kind: 'TenantControlPlane',
        metadata: { name: TENANT, namespace },
        spec: {
          dataStore: 'shared-etcd',
          controlPlane: { deployment: { replicas: 1 }, service: { serviceType: 'LoadBalancer' } },
          kubernetes: { version: VERSION, kubelet: {} },
          networkProfile: { port: 6443 },
          addons: {},
        },
      } as KubeObject);
      const tcp = await settled();

      // A worker joins through the bootstrap-token flow and heartbeats every second.
      const client = await tenantClient();
      const id = randomBytes(3).toString('hex');
      const token = `${id}.${randomBytes(8).toString('hex')}`;
      await client.create({
        apiVersion: 'v1',
        kind: 'Secret',
        type: 'bootstrap.kubernetes.io/token',
        metadata: { name: `bootstrap-token-${id}`, namespace: 'kube-system' },
        stringData: {
          'token-id': id,
          'token-secret': token.split('.')[1] ?? '',
          'usage-bootstrap-authentication': 'true',
          'usage-bootstrap-signing': 'true',
          'auth-extra-groups': 'system:bootstrappers:kubeadm:default-node-token',
        },
      } as KubeObject);
      node = await joinNode({
        apiServerEndpoint: tcp.status?.controlPlaneEndpoint ?? '',
        token,
        caCertHashes: [caPublicKeyHash(text(await secret('ca'), 'ca.crt'))],
        nodeName: NODE_NAME,
        heartbeat: { leaseRenewMs: 1000 },
        timeoutMs: 120_000,
      });
      await nodeHeartbeats(Date.now());
    });

    after(async function () {
      this.timeout(120_000);
      await node?.stop();
      for (const t of transports) t.close();
      if (sharedEtcd) await sharedEtcd.stop();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('reissues every leaf certificate and kubeconfig for the rotate annotation, once per value, while the joined node keeps heartbeating', async () => {
      const before = await serials();
      const caBefore = text(await secret('ca'), 'ca.crt');
      const started = Date.now();
      await suite.client.mergePatch(TCP, { namespace, name: TENANT }, { metadata: { annotations: { [ROTATE_ANNOTATION]: 'e2e-1' } } });
      const after = await waitFor(
        async () => {
          const now = await serials();
          const same = Object.keys(now).filter((k) => now[k] === before[k]);
          if (same.length > 0) throw new Error(`not reissued yet: ${same.join(', ')}`);
          return now;
        },
        { timeoutMs: 60_000, intervalMs: 500, what: 'every leaf certificate to get a new serial number' },
      );
      const tcp = await settled();
      console.log(`    leaves reissued and pods rolled in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      expect(Object.keys(after)).to.have.length(Object.keys(before).length);
      expect(text(await secret('ca'), 'ca.crt'), 'the CA is not a leaf').to.equal(caBefore);
      for (const suffix of Object.keys(LEAVES)) {
        const s = await secret(suffix);
        expect(s?.metadata.annotations?.['kvcloud.io/rotated-for'], suffix).to.equal('e2e-1');
        expect(Date.parse(s?.metadata.annotations?.[ROTATE_ANNOTATION] ?? ''), `${suffix} rotation time`).to.be.greaterThan(started - 60_000);
      }
      const rotated = tcp.status?.conditions?.find((c) => c.type === 'CertificatesRotated');
      expect(rotated?.status).to.equal('True');
      expect(rotated?.message).to.include('e2e-1');
      await adminWorks();
      await nodeHeartbeats(Date.now());

      // Settled: forced reconciles of the same annotation value write nothing.
      const steady = await managementVersions(suite.client, namespace, TENANT);
      const touched = await suite.client.mergePatch<KubeObject>(TCP, { namespace, name: TENANT }, { metadata: { annotations: { 'e2e.kvcloud.io/touched': String(Date.now()) } } });
      steady[`TenantControlPlane ${TENANT}`] = touched.metadata.resourceVersion ?? '';
      await new Promise((r) => setTimeout(r, 5000)); // room for a write that would follow the reconcile
      expect(await managementVersions(suite.client, namespace, TENANT), 'resourceVersions after a reconcile of the handled value').to.deep.equal(steady);
      expect(await serials()).to.deep.equal(after);
    });

    it("reissues one Secret annotated with an empty rotate value (Kamaji's way) and records the rotation time on it", async () => {
      const before = await serials();
      await suite.client.mergePatch(SECRET, { namespace, name: `${TENANT}-scheduler-kubeconfig` }, { metadata: { annotations: { [ROTATE_ANNOTATION]: '' } } });
      const after = await waitFor(
        async () => {
          const now = await serials();
          return now['scheduler-kubeconfig/scheduler.conf'] !== before['scheduler-kubeconfig/scheduler.conf'] ? now : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 500, what: 'the scheduler kubeconfig to be reissued' },
      );
      const changed = Object.keys(after).filter((k) => after[k] !== before[k]);
      expect(changed).to.deep.equal(['scheduler-kubeconfig/scheduler.conf']);
      const s = await secret('scheduler-kubeconfig');
      expect(s?.metadata.annotations?.[ROTATE_ANNOTATION]).to.match(/^\d{4}-\d\d-\d\dT/);
      await settled();
      await nodeHeartbeats(Date.now());
    });
  });
});
