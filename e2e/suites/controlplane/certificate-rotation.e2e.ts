// Certificate rotation of a TenantControlPlane with a worker joined, as a user would drive it: the
// certs.kamaji.clastix.io/rotate annotation reissues every leaf certificate and kubeconfig (new serial numbers,
// pods rolled), the admin kubeconfig read again from its Secret works, and the joined node keeps renewing its
// Lease throughout; one rotation per annotation value, nothing written afterwards. Then kvcloud.io/rotate-ca
// replaces the cluster CA while the node, which keeps trusting only the CA it joined with (as a real kubelet's
// kubelet.conf does), stays Ready: it renews its client certificate through CSRs like a kubelet with
// rotateCertificates (the tenant's controller-manager signs 2-minute certificates here, so that happens within
// the test), and the old CA is retired once it has. First, the joined node's kubelet-serving CSR is approved by
// the operator (serving-csr-approver.ts), while one naming an address the Node does not report stays pending.
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { DEPLOYMENT_TYPE } from '../../../lib/apis/apps.js';
import { SECRET_TYPE } from '../../../lib/apis/core.js';
import { Client } from '../../../lib/kube/client.js';
import { parseKubeconfig } from '../../../lib/kube/client-cert-kubeconfig.js';
import { kubeConfigFromString } from '../../../lib/kube/kubeconfig.js';
import type { KubeObject } from '../../../lib/kube/object.js';
import { RestMapper } from '../../../lib/kube/rest-mapper.js';
import { RestTransport } from '../../../lib/kube/rest-transport.js';
import { ROTATE_ANNOTATION, ROTATE_CA_ANNOTATION, type TenantControlPlane } from '../../../providers/controlplane/api/index.js';
import { splitCertificates } from '../../../providers/controlplane/pki/index.js';
import { caPublicKeyHash } from '../../../simulators/guest/discovery.js';
import { createBootstrapToken } from '../../../simulators/guest/bootstrap-token.js';
import { CSR, joinNode, type RunningNode } from '../../../simulators/guest/join.js';
import { requestServingCertificate, servingCSR } from '../../../simulators/guest/serving-certificate.js';
import { createCertificateSigningRequest, generateKeyPair } from '../../../lib/pki/x509.js';
import pino from 'pino';
import { kubectl } from '../../../localcloud/kubectl.js';
import { runDir } from '../../../localcloud/run-dir.js';
import { upstreamVersion } from '../../../localcloud/versions.js';
import { waitFor } from '../../../localcloud/wait.js';
import { clusterSuite, createNamespace } from '../cluster/support.js';
import { controlPlaneProviderObjects } from '../../../localcloud/install-controlplane.js';
import { managementVersions } from './resource-versions.js';
import { createReadyDataStore, startSharedEtcd, type SharedEtcd } from '../../../localcloud/etcd-datastore.js';

const TCP = { apiVersion: 'kamaji.clastix.io/v1alpha1', kind: 'TenantControlPlane' };
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
  'konnectivity-certificate': ['tls.crt'],
  'konnectivity-kubeconfig': ['konnectivity-server.conf'],
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
  status?: { conditions?: { type: string; status: string }[]; addresses?: { type: string; address: string }[] };
}

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

/** The operator as config/controlplane installs it, with a short CA rotation soak so the suite need not wait an hour. */
async function installOperator(suite: { cluster: { plane: { applyManifests(objects: object[]): Promise<unknown> } }; client: Client }): Promise<void> {
  const objects = (await controlPlaneProviderObjects()) as (KubeObject & { spec?: { template?: { spec?: { containers?: { args?: string[] }[] } } } })[];
  const manager = objects.find((o) => o.kind === 'Deployment' && o.metadata.namespace === 'kamaji-system');
  manager?.spec?.template?.spec?.containers?.[0]?.args?.push('--ca-rotation-soak=5s');
  await suite.cluster.plane.applyManifests(objects);
  await waitFor(
    async () => {
      const pods = await suite.client.list<KubeObject & { status?: { conditions?: { type: string; status: string }[] } }>(
        { apiVersion: 'v1', kind: 'Pod' },
        { namespace: 'kamaji-system', labelSelector: 'app.kubernetes.io/name=kvcloud-controlplane', direct: true },
      );
      return pods.some((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) ? true : undefined;
    },
    { timeoutMs: 120_000, what: 'the control plane operator pod to be Ready' },
  );
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
    const secret = (suffix: string) => suite.client.get<Secret>(SECRET_TYPE, { namespace, name: `${TENANT}-${suffix}` }, { direct: true });

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

    const deployment = () => suite.client.get<Deployment>(DEPLOYMENT_TYPE, { namespace, name: TENANT }, { direct: true });

    /**
     * The Deployment has rolled out its current template, every replica ready, and the tenant is Ready. After a
     * rotation, pass the Deployment's generation from before it: the operator writes the new Secrets first and the
     * pod template that mounts them after, and until then the old rollout looks settled.
     */
    async function settled(sinceGeneration = 0): Promise<TenantControlPlane> {
      return waitFor(
        async () => {
          const t = await get();
          const d = await deployment();
          const st = d?.status ?? {};
          const want = d?.spec?.replicas ?? 1;
          const generation = d?.metadata.generation ?? 0;
          const rolled = generation > sinceGeneration && st.observedGeneration === generation && st.updatedReplicas === want && st.replicas === want && st.readyReplicas === want;
          if (!rolled || t?.status?.kubernetesResources?.version?.status !== 'Ready') throw new Error(`deployment generation ${String(generation)} (after ${String(sinceGeneration)}) ${JSON.stringify(st)}; ${describeTCP(t)}`);
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
      await installOperator(suite);
      await createReadyDataStore(suite.client, 'shared-etcd', etcd);
      namespace = await createNamespace(suite.client, 'tenants');
      await suite.client.create({
        apiVersion: 'kamaji.clastix.io/v1alpha1',
        kind: 'TenantControlPlane',
        metadata: { name: TENANT, namespace },
        spec: {
          dataStore: 'shared-etcd',
          controlPlane: {
            // Kubelet client certificates of 2 minutes, which the signer backdates by 5: a node renews its own at
            // 70-90 % of those 7, 0-78 s after it got it (see the header); the CA rotation waits for that renewal.
            // Each rollout replaces kube-controller-manager, the signer of those certificates and the publisher of
            // kube-root-ca.crt; its replacement waits for the leader Lease, which a stopped one leaves to expire
            // (15 s) unless it releases it on exit, an alpha gate since v1.36. Released, the rotation's three
            // rollouts do not wait for expiries, and no node CSR is signed by the outgoing CA after the switch.
            deployment: {
              replicas: 1,
              extraArgs: { controllerManager: ['--cluster-signing-duration=2m', '--feature-gates=ControllerManagerReleaseLeaderElectionLockOnExit=true'] },
            },
            service: { serviceType: 'LoadBalancer' },
          },
          kubernetes: { version: VERSION, kubelet: {} },
          networkProfile: { port: 6443 },
          // With the Konnectivity server, whose certificate and kubeconfig rotate with the rest.
          addons: { konnectivity: { server: { port: 8132 }, agent: {} } },
        },
      } as KubeObject);
      const tcp = await settled();

      // A worker joins through the bootstrap-token flow and heartbeats every second.
      const client = await tenantClient();
      const token = await createBootstrapToken(client);
      node = await joinNode({
        apiServerEndpoint: tcp.status?.controlPlaneEndpoint ?? '',
        token,
        caCertHashes: [caPublicKeyHash(text(await secret('ca'), 'ca.crt'))],
        nodeName: NODE_NAME,
        heartbeat: { leaseRenewMs: 1000 },
        rotateCertificates: true,
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

    it("approves the node's kubelet-serving CSR naming its own addresses, and leaves one naming a foreign address pending", async () => {
      if (!node) throw new Error('the node did not join (see the before hook)');
      const admin = await tenantClient();
      const reported = (await admin.get<NodeObject>(NODE, { name: NODE_NAME }, { direct: true }))?.status?.addresses ?? [];
      const transport = await RestTransport.fromKubeConfig(kubeConfigFromString(node.kubeconfig(), 'node kubeconfig'));
      transports.push(transport);
      const asNode = new Client({ transport, mapper: new RestMapper(transport), fieldManager: 'kvcloud-e2e' });
      // Sent first: the operator sees CSRs in order, so once the good one is issued this one has been judged.
      const foreign = await createCertificateSigningRequest(await generateKeyPair(), {
        commonName: `system:node:${NODE_NAME}`,
        organizations: ['system:nodes'],
        altNames: [NODE_NAME, '192.0.2.99'],
      });
      await asNode.create(servingCSR(`${NODE_NAME}-serving-foreign`, foreign));
      const started = Date.now();
      const altNames = [...new Set(reported.map((a) => a.address))];
      const issued = await requestServingCertificate(asNode, NODE_NAME, altNames, AbortSignal.timeout(60_000), pino({ level: 'silent' }));
      console.log(`    serving certificate for ${altNames.join(', ')} issued ${((Date.now() - started) / 1000).toFixed(1)} s after the CSR`);
      const cert = new X509Certificate(issued.certPem);
      expect(cert.subject).to.include(`CN=system:node:${NODE_NAME}`);
      expect(cert.verify(new X509Certificate(text(await secret('ca'), 'ca.crt')).publicKey)).to.be.true;
      const left = await admin.get<KubeObject & { status?: { conditions?: { type: string }[] } }>(CSR, { name: `${NODE_NAME}-serving-foreign` }, { direct: true });
      expect(left?.status?.conditions ?? [], 'the CSR naming 192.0.2.99').to.deep.equal([]);
    });

    it('reissues every leaf certificate and kubeconfig for the rotate annotation, once per value, while the joined node keeps heartbeating', async () => {
      const before = await serials();
      const caBefore = text(await secret('ca'), 'ca.crt');
      const generationBefore = (await deployment())?.metadata.generation ?? 0;
      const started = Date.now();
      const seconds = () => ((Date.now() - started) / 1000).toFixed(1);
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
      const reissued = seconds();
      // The pass that wrote the Secrets records the rotation in status when it ends, after it patched the Deployment.
      const rotated = await waitFor(
        async () => {
          const t = await get();
          const c = t?.status?.conditions?.find((x) => x.type === 'CertificatesRotated');
          if (c?.status !== 'True' || !c.message.includes('e2e-1')) throw new Error(`CertificatesRotated ${JSON.stringify(c)}; ${describeTCP(t)}`);
          return c;
        },
        { timeoutMs: 60_000, intervalMs: 500, what: 'the CertificatesRotated condition for e2e-1' },
      );
      const recorded = seconds();
      await settled(generationBefore);
      console.log(`    leaves reissued in ${reissued} s, the rotation recorded in ${recorded} s, pods rolled in ${seconds()} s`);
      expect(Object.keys(after)).to.have.length(Object.keys(before).length);
      expect(text(await secret('ca'), 'ca.crt'), 'the CA is not a leaf').to.equal(caBefore);
      for (const suffix of Object.keys(LEAVES)) {
        const s = await secret(suffix);
        expect(s?.metadata.annotations?.['kvcloud.io/rotated-for'], suffix).to.equal('e2e-1');
        expect(Date.parse(s?.metadata.annotations?.[ROTATE_ANNOTATION] ?? ''), `${suffix} rotation time`).to.be.greaterThan(started - 60_000);
      }
      expect(rotated.reason).to.equal('RotatedOnRequest');
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
      const generationBefore = (await deployment())?.metadata.generation ?? 0;
      await suite.client.mergePatch(SECRET_TYPE, { namespace, name: `${TENANT}-scheduler-kubeconfig` }, { metadata: { annotations: { [ROTATE_ANNOTATION]: '' } } });
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
      await settled(generationBefore);
      await nodeHeartbeats(Date.now());
    });

    it('rotates the cluster CA for kvcloud.io/rotate-ca: bundle first, then the new CA signs, the old one retired once the node renewed its certificate, the node Ready throughout', async () => {
      const running = node;
      if (!running) throw new Error('the node did not join (see the before hook)');
      // Its client certificate comes from the old CA: refreshed from the Secret whenever a call is refused.
      let client = await tenantClient();
      const oldCA = text(await secret('ca'), 'ca.crt');
      expect(splitCertificates(oldCA)).to.have.length(1);
      const joinedWith = running.identity.caPem;
      const oldAdmin = join(dir, 'admin-before-ca-rotation.kubeconfig');
      await writeFile(oldAdmin, text(await secret('admin-kubeconfig'), 'admin.conf'));
      const clusterInfoCA = async () => {
        const cm = await client.get<ConfigMap>({ apiVersion: 'v1', kind: 'ConfigMap' }, { namespace: 'kube-public', name: 'cluster-info' }, { direct: true });
        const kc = /certificate-authority-data:\s*(\S+)/.exec(cm?.data?.kubeconfig ?? '')?.[1] ?? '';
        return Buffer.from(kc, 'base64').toString();
      };

      const started = Date.now();
      await suite.client.mergePatch(TCP, { namespace, name: TENANT }, { metadata: { annotations: { [ROTATE_CA_ANNOTATION]: 'e2e-ca-1' } } });
      const reasons: string[] = [];
      const reasonSeenAt: string[] = [];
      let bundlePublished = false;
      let heartbeatGap = 0;
      let lastRenew = Date.now();
      await waitFor(
        async () => {
          const t = await get();
          const c = t?.status?.conditions?.find((x) => x.type === 'CARotation');
          if (c && reasons[reasons.length - 1] !== c.reason) {
            reasons.push(c.reason);
            reasonSeenAt.push(`${c.reason} at ${((Date.now() - started) / 1000).toFixed(1)} s`);
          }
          // The bundle reaches join discovery: both CAs in cluster-info at some point.
          if (splitCertificates(await clusterInfoCA().catch(() => '')).length === 2) bundlePublished = true;
          const lease = await client.get<Lease>(LEASE, { namespace: 'kube-node-lease', name: NODE_NAME }, { direct: true }).catch(async () => {
            client = await tenantClient();
            return undefined;
          });
          const renewed = Date.parse(lease?.spec?.renewTime ?? '');
          if (renewed > lastRenew) lastRenew = renewed;
          heartbeatGap = Math.max(heartbeatGap, Date.now() - lastRenew);
          if (c?.status !== 'True') throw new Error(`CARotation ${c?.reason ?? 'absent'}: ${c?.message ?? ''}; node rotations ${running.rotations}`);
          return true;
        },
        { timeoutMs: 8 * 60_000, intervalMs: 1000, what: 'the CA rotation to complete' },
      );
      console.log(`    CA rotated in ${((Date.now() - started) / 1000).toFixed(1)} s through ${reasonSeenAt.join(' -> ')}; longest node Lease gap ${(heartbeatGap / 1000).toFixed(1)} s`);
      expect(reasons).to.include.members(['LeavesReissued', 'OldCARetired']);
      expect(reasons[reasons.length - 1]).to.equal('OldCARetired');
      expect(bundlePublished, 'cluster-info carried old and new CA during the rotation').to.equal(true);
      await settled();
      client = await tenantClient();

      // The new CA is the only one trusted, everywhere trust is read.
      const newCA = text(await secret('ca'), 'ca.crt');
      expect(splitCertificates(newCA)).to.have.length(1);
      expect(newCA).to.not.equal(oldCA);
      const norm = (p: string) => p.replace(/\s+/g, '');
      expect(norm(await clusterInfoCA()), 'cluster-info').to.equal(norm(newCA));
      const root = await client.get<ConfigMap>({ apiVersion: 'v1', kind: 'ConfigMap' }, { namespace: 'kube-system', name: 'kube-root-ca.crt' }, { direct: true });
      expect(norm(root?.data?.['ca.crt'] ?? ''), 'kube-root-ca.crt').to.equal(norm(newCA));
      const admin = text(await secret('admin-kubeconfig'), 'admin.conf');
      expect(norm(parseKubeconfig(admin).caPem), 'admin kubeconfig certificate-authority-data').to.equal(norm(newCA));
      const issuer = new X509Certificate(newCA);
      const serving = new X509Certificate(splitCertificates(text(await secret('api-server-certificate'), 'apiserver.crt'))[0] ?? '');
      expect(serving.verify(issuer.publicKey), 'the serving certificate is issued by the new CA').to.equal(true);
      await adminWorks();

      // The node never changed what it trusts, renewed its own certificate from the new CA, and heartbeats.
      expect(running.identity.caPem).to.equal(joinedWith);
      expect(running.rotations).to.be.greaterThan(0);
      expect(new X509Certificate(running.identity.certPem).verify(issuer.publicKey), 'node client certificate from the new CA').to.equal(true);
      await nodeHeartbeats(Date.now());
      expect(heartbeatGap, 'longest gap between Lease renewals').to.be.lessThan(40_000);

      // Retired: a client certificate of the old CA is refused now.
      let refused = '';
      await kubectl(oldAdmin, ['get', '--raw', '/readyz']).catch((err: unknown) => (refused = (err as Error).message));
      expect(refused).to.match(/Unauthorized|must be logged in|401/i);

      // Settled: nothing is written for the handled value.
      const steady = await managementVersions(suite.client, namespace, TENANT);
      const touched = await suite.client.mergePatch<KubeObject>(TCP, { namespace, name: TENANT }, { metadata: { annotations: { 'e2e.kvcloud.io/touched': String(Date.now()) } } });
      steady[`TenantControlPlane ${TENANT}`] = touched.metadata.resourceVersion ?? '';
      await new Promise((r) => setTimeout(r, 5000)); // room for a write that would follow the reconcile
      expect(await managementVersions(suite.client, namespace, TENANT), 'resourceVersions after a reconcile of the handled value').to.deep.equal(steady);
    });
  });
});
