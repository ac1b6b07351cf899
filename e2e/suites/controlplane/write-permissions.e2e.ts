// Kamaji's spec.writePermissions on a real tenant apiserver: a user of the tenant (a client certificate in group
// "developers", cluster-admin by RBAC) is refused creates, updates and deletes with a message naming the field,
// while reads keep working, the operator's own identity keeps writing, and a joined node keeps renewing its
// Lease and stays Ready; a policy the tenant's cluster-admin deletes is put back within seconds; clearing the field
// lets the user write again and removes the policy from the tenant.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { stringify } from 'yaml';
import { SECRET_TYPE } from '../../../lib/apis/core.js';
import { Client } from '../../../lib/kube/client.js';
import { kubeConfigFromString } from '../../../lib/kube/kubeconfig.js';
import type { KubeObject } from '../../../lib/kube/object.js';
import { RestMapper } from '../../../lib/kube/rest-mapper.js';
import { RestTransport } from '../../../lib/kube/rest-transport.js';
import { loadCertificateAuthority } from '../../../lib/pki/pem.js';
import { certificatePem, issueCertificate, privateKeyPem } from '../../../lib/pki/x509.js';
import type { TenantControlPlane } from '../../../providers/controlplane/api/index.js';
import { WRITE_PERMISSIONS_POLICY } from '../../../providers/controlplane/tenant/write-permissions.js';
import { caPublicKeyHash } from '../../../simulators/guest/discovery.js';
import { createBootstrapToken } from '../../../simulators/guest/bootstrap-token.js';
import { joinNode, type RunningNode } from '../../../simulators/guest/join.js';
import { kubectl } from '../../../localcloud/kubectl.js';
import { runDir } from '../../../localcloud/run-dir.js';
import { upstreamVersion } from '../../../localcloud/versions.js';
import { waitFor } from '../../../localcloud/wait.js';
import { clusterSuite, createNamespace } from '../cluster/support.js';
import { installControlPlaneProvider } from '../../../localcloud/install-controlplane.js';
import { dataStoreFor, startSharedEtcd, type SharedEtcd } from '../../../localcloud/etcd-datastore.js';
import { operatorPod, scrape, writesBetween } from './operator-metrics.js';

const DATASTORE = { apiVersion: 'kamaji.clastix.io/v1alpha1', kind: 'DataStore' };
const TCP = { apiVersion: 'kamaji.clastix.io/v1alpha1', kind: 'TenantControlPlane' };
const CONFIGMAP = { apiVersion: 'v1', kind: 'ConfigMap' };
const LEASE = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease' };
const NODE = { apiVersion: 'v1', kind: 'Node' };
const POLICY = { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicy' };
const BINDING = { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicyBinding' };
const VERSION = upstreamVersion('KUBERNETES_VERSION');
const NAME = 'frozen';
const NODE_NAME = 'frozen-worker-1';

interface Secret extends KubeObject {
  data?: Record<string, string>;
}
interface Lease extends KubeObject {
  spec?: { renewTime?: string };
}
interface NodeObject extends KubeObject {
  status?: { conditions?: { type: string; status: string; lastHeartbeatTime?: string }[] };
}

function describeTCP(t: TenantControlPlane | undefined): string {
  if (!t) return 'not found';
  const conditions = (t.status?.conditions ?? []).map((c) => `${c.type}=${c.status}(${c.reason}: ${c.message})`).join('; ');
  return `version=${JSON.stringify(t.status?.kubernetesResources?.version)} ${conditions}`;
}

/** The error text of a kubectl run that must fail; an empty string when it succeeded. */
async function refusal(run: Promise<string>): Promise<string> {
  return run.then(
    () => '',
    (err: unknown) => (err as Error).message,
  );
}

describe('TenantControlPlane spec.writePermissions', function () {
  this.timeout(10 * 60_000);
  const suite = clusterSuite();
  describe('on a tenant with a joined node', () => {
    let sharedEtcd: SharedEtcd | undefined;
    let namespace: string;
    let dir: string;
    let node: RunningNode | undefined;
    let admin: Client | undefined;
    let transport: RestTransport | undefined;
    /** Kubeconfig files: the developer's, the admin.conf users get, and the operator's super-admin.conf. */
    const paths = { developer: '', admin: '', superAdmin: '' };
    const suiteStart = Date.now();

    const get = () => suite.client.get<TenantControlPlane & KubeObject>(TCP, { namespace, name: NAME }, { direct: true });
    const tenant = (): Client => {
      if (!admin) throw new Error('the tenant did not come up (see the first test)');
      return admin;
    };
    const waitForStatus = (status: string) =>
      waitFor(
        async () => {
          const t = await get();
          if (t?.status?.kubernetesResources?.version?.status !== status) throw new Error(describeTCP(t));
          return t;
        },
        { timeoutMs: 4 * 60_000, intervalMs: 500, what: `TenantControlPlane ${NAME} to be ${status}` },
      );
    const renewTime = async () => (await tenant().get<Lease>(LEASE, { namespace: 'kube-node-lease', name: NODE_NAME }, { direct: true }))?.spec?.renewTime ?? '';

    before(async function () {
      this.timeout(5 * 60_000);
      dir = await mkdtemp(join(runDir(), 'write-permissions-e2e-'));
      sharedEtcd = await startSharedEtcd(suite.client, 'shared-etcd');
      await installControlPlaneProvider(suite.cluster, suite.client);
      await suite.client.create(dataStoreFor('shared-etcd', sharedEtcd));
      await waitFor(
        async () => {
          const ds = await suite.client.get<KubeObject & { status?: { ready?: boolean } }>(DATASTORE, { name: 'shared-etcd' }, { direct: true });
          if (ds?.status?.ready !== true) throw new Error(`DataStore status: ${JSON.stringify(ds?.status)}`);
          return true;
        },
        { timeoutMs: 60_000, what: 'DataStore shared-etcd to be ready' },
      );
      namespace = await createNamespace(suite.client, 'tenants');
    });

    after(async function () {
      this.timeout(120_000);
      await node?.stop();
      transport?.close();
      if (sharedEtcd) await sharedEtcd.stop();
      if (dir) await rm(dir, { recursive: true, force: true });
      console.log(`    suite took ${((Date.now() - suiteStart) / 1000).toFixed(1)} s`);
    });

    it('brings a tenant to Ready, joins a node and lets a "developers" user write, before anything is blocked', async () => {
      await suite.client.create({
        apiVersion: 'kamaji.clastix.io/v1alpha1',
        kind: 'TenantControlPlane',
        metadata: { name: NAME, namespace },
        spec: {
          dataStore: 'shared-etcd',
          controlPlane: { deployment: { replicas: 1 }, service: { serviceType: 'LoadBalancer' } },
          kubernetes: { version: VERSION, kubelet: {} },
          networkProfile: { port: 6443 },
        },
      } as KubeObject);
      const tcp = await waitForStatus('Ready');
      const secret = async (name: string) => (await suite.client.get<Secret>(SECRET_TYPE, { namespace, name }, { direct: true }))?.data ?? {};
      const text = (data: Record<string, string>, key: string) => Buffer.from(data[key] ?? '', 'base64').toString();
      const kubeconfigs = await secret(tcp.status?.kubeconfig?.admin?.secretName ?? '');
      paths.admin = join(dir, 'admin.conf');
      paths.superAdmin = join(dir, 'super-admin.conf');
      await writeFile(paths.admin, text(kubeconfigs, 'admin.conf'));
      await writeFile(paths.superAdmin, text(kubeconfigs, 'super-admin.conf'));
      transport = await RestTransport.fromKubeConfig(kubeConfigFromString(text(kubeconfigs, 'super-admin.conf'), 'super-admin.conf'));
      admin = new Client({ transport, mapper: new RestMapper(transport), fieldManager: 'kvcloud-e2e' });

      // A tenant user as an administrator would make one: a client certificate from the tenant CA, in a group that
      // RBAC makes cluster-admin, so only the admission policy stands between it and a write.
      const ca = await secret(`${NAME}-ca`);
      const issuer = await loadCertificateAuthority(text(ca, 'ca.crt'), text(ca, 'ca.key'));
      const { cert, key } = await issueCertificate(issuer, { commonName: 'dana', organizations: ['developers'], usage: 'client', validFor: 3600_000 });
      const adminConf = kubeConfigFromString(text(kubeconfigs, 'admin.conf'), 'admin.conf');
      const server = adminConf.getCurrentCluster()?.server ?? '';
      paths.developer = join(dir, 'developer.conf');
      await writeFile(
        paths.developer,
        stringify({
          apiVersion: 'v1',
          kind: 'Config',
          clusters: [{ name: NAME, cluster: { server, 'certificate-authority-data': Buffer.from(text(ca, 'ca.crt')).toString('base64') } }],
          users: [{ name: 'dana', user: { 'client-certificate-data': Buffer.from(certificatePem(cert)).toString('base64'), 'client-key-data': Buffer.from(await privateKeyPem(key)).toString('base64') } }],
          contexts: [{ name: 'dana', context: { cluster: NAME, user: 'dana' } }],
          'current-context': 'dana',
        }),
      );
      await tenant().create({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: 'developers-cluster-admin' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'developers' }],
      } as KubeObject);
      await waitFor(async () => ((await refusal(kubectl(paths.developer, ['create', 'configmap', 'kept', '-n', 'default', '--from-literal=a=1']))) === '' ? true : undefined), {
        timeoutMs: 30_000,
        what: 'the developer to create ConfigMap default/kept',
      });

      const token = await createBootstrapToken(tenant());
      node = await joinNode({
        apiServerEndpoint: tcp.status?.controlPlaneEndpoint ?? '',
        token,
        caCertHashes: [caPublicKeyHash(text(ca, 'ca.crt'))],
        nodeName: NODE_NAME,
        heartbeat: { leaseRenewMs: 2000, statusReportMs: 5000 },
        timeoutMs: 120_000,
      });
      await waitFor(async () => ((await renewTime()) ? true : undefined), { timeoutMs: 60_000, what: `the Lease of ${NODE_NAME}` });
    });

    it('refuses creating, updating and deleting for the developer, naming the field, once all three are blocked; reads still work', async () => {
      await suite.client.mergePatch(TCP, { namespace, name: NAME }, { spec: { writePermissions: { blockCreation: true, blockUpdate: true, blockDeletion: true } } });
      await waitForStatus('WriteLimited');
      await waitFor(
        async () => {
          if (await tenant().get(POLICY, { name: WRITE_PERMISSIONS_POLICY }, { direct: true })) return true;
          throw new Error(describeTCP(await get()));
        },
        { timeoutMs: 30_000, what: 'the write-permissions policy in the tenant' },
      );
      expect(await tenant().get(BINDING, { name: WRITE_PERMISSIONS_POLICY }, { direct: true }), 'the binding in the tenant').to.not.equal(undefined);
      // The apiserver loads a new policy a moment after it is written.
      const created = await waitFor(
        async () => {
          const err = await refusal(kubectl(paths.developer, ['create', 'configmap', 'new', '-n', 'default', '--from-literal=a=1']));
          if (err === '') await kubectl(paths.superAdmin, ['delete', 'configmap', 'new', '-n', 'default']);
          return err || undefined;
        },
        { timeoutMs: 30_000, intervalMs: 500, what: 'the developer to be refused a create' },
      );
      expect(created).to.include('spec.writePermissions.blockCreation').and.include(`TenantControlPlane ${namespace}/${NAME}`);
      const updated = await refusal(kubectl(paths.developer, ['label', 'configmap', 'kept', '-n', 'default', 'changed=yes']));
      expect(updated).to.include('spec.writePermissions.blockUpdate');
      const deleted = await refusal(kubectl(paths.developer, ['delete', 'configmap', 'kept', '-n', 'default']));
      expect(deleted).to.include('spec.writePermissions.blockDeletion');
      // A cluster-scoped object and a subresource are writes too.
      expect(await refusal(kubectl(paths.developer, ['create', 'namespace', 'sneaky']))).to.include('spec.writePermissions.blockCreation');
      expect(await refusal(kubectl(paths.developer, ['create', 'token', 'default', '-n', 'default']))).to.include('spec.writePermissions.blockCreation');
      // admin.conf (kubeadm:cluster-admins), the kubeconfig users and Cluster API are given, is blocked as well.
      expect(await refusal(kubectl(paths.admin, ['create', 'configmap', 'by-admin', '-n', 'default', '--from-literal=a=1']))).to.include('spec.writePermissions.blockCreation');

      expect(await kubectl(paths.developer, ['get', 'configmap', 'kept', '-n', 'default', '-o', 'jsonpath={.data.a}'])).to.equal('1');
      expect(await kubectl(paths.developer, ['get', 'nodes', '-o', 'name'])).to.include(NODE_NAME);
      expect((await kubectl(paths.developer, ['auth', 'can-i', 'create', 'configmaps'])).trim()).to.equal('yes');

      const events = await suite.client.list<KubeObject & { reason?: string; regarding?: { name?: string } }>({ apiVersion: 'events.k8s.io/v1', kind: 'Event' }, { namespace, direct: true });
      expect(events.some((e) => e.reason === 'WritesBlocked' && e.regarding?.name === NAME), 'a WritesBlocked Event').to.equal(true);
    });

    it("still lets the operator's identity (super-admin.conf) create, update and delete", async () => {
      await kubectl(paths.superAdmin, ['create', 'configmap', 'by-operator', '-n', 'kube-system', '--from-literal=a=1']);
      await kubectl(paths.superAdmin, ['label', 'configmap', 'by-operator', '-n', 'kube-system', 'changed=yes']);
      await kubectl(paths.superAdmin, ['delete', 'configmap', 'by-operator', '-n', 'kube-system']);
      expect(await tenant().get(CONFIGMAP, { namespace: 'kube-system', name: 'by-operator' }, { direct: true })).to.equal(undefined);
    });

    it('keeps the joined node renewing its Lease and Ready while writes are blocked', async () => {
      const before = await renewTime();
      const nodeReady = async () => (await tenant().get<NodeObject>(NODE, { name: NODE_NAME }, { direct: true }))?.status?.conditions?.find((c) => c.type === 'Ready');
      const heartbeat = (await nodeReady())?.lastHeartbeatTime ?? '';
      await waitFor(
        async () => {
          const now = await renewTime();
          const ready = await nodeReady();
          if (now <= before || (ready?.lastHeartbeatTime ?? '') <= heartbeat) throw new Error(`lease renewTime ${now} (was ${before}), Ready ${JSON.stringify(ready)}`);
          return ready?.status === 'True' ? true : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 1000, what: `${NODE_NAME} to renew its Lease and post a Ready status while blocked` },
      );
      expect((await get())?.status?.kubernetesResources?.version?.status).to.equal('WriteLimited');
    });

    it("puts the policy and its binding back within seconds when the tenant's cluster-admin deletes them, and writes nothing once restored", async () => {
      const present = async () =>
        (await tenant().get(POLICY, { name: WRITE_PERMISSIONS_POLICY }, { direct: true })) !== undefined &&
        (await tenant().get(BINDING, { name: WRITE_PERMISSIONS_POLICY }, { direct: true })) !== undefined;
      // Admission policies never apply to themselves: the developer, cluster-admin by RBAC, may delete both.
      await kubectl(paths.developer, ['delete', 'validatingadmissionpolicybinding', WRITE_PERMISSIONS_POLICY]);
      const deletedAt = Date.now();
      await kubectl(paths.developer, ['delete', 'validatingadmissionpolicy', WRITE_PERMISSIONS_POLICY]);
      await waitFor(async () => ((await present()) ? true : undefined), { timeoutMs: 30_000, intervalMs: 200, what: 'the policy and binding to be restored in the tenant' });
      const restoredMs = Date.now() - deletedAt;
      console.log(`      policy and binding restored ${String(restoredMs)} ms after the binding was deleted`);
      expect(restoredMs, 'time to restore the deleted policy and binding').to.be.lessThan(10_000);
      // Writes are refused again once the apiserver has loaded the policy.
      const refused = await waitFor(
        async () => {
          const err = await refusal(kubectl(paths.developer, ['create', 'configmap', 'while-restoring', '-n', 'default', '--from-literal=a=1']));
          if (err === '') await kubectl(paths.superAdmin, ['delete', 'configmap', 'while-restoring', '-n', 'default']);
          return err || undefined;
        },
        { timeoutMs: 30_000, intervalMs: 500, what: 'the developer to be refused a create again' },
      );
      expect(refused).to.include('spec.writePermissions.blockCreation');
      expect(await refusal(kubectl(paths.developer, ['delete', 'configmap', 'kept', '-n', 'default']))).to.include('spec.writePermissions.blockDeletion');
      await waitFor(
        async () => {
          const events = await suite.client.list<KubeObject & { reason?: string; regarding?: { name?: string } }>({ apiVersion: 'events.k8s.io/v1', kind: 'Event' }, { namespace, direct: true });
          return events.some((e) => e.reason === 'WritePermissionsRestored' && e.regarding?.name === NAME) ? true : undefined;
        },
        { timeoutMs: 30_000, what: 'the WritePermissionsRestored Event' },
      );

      // Steady again: a forced reconcile finds the restored objects intact and writes nothing, here or in the tenant.
      const policyVersion = async () => (await tenant().get(POLICY, { name: WRITE_PERMISSIONS_POLICY }, { direct: true }))?.metadata.resourceVersion;
      const pod = await operatorPod(suite.client);
      if (!pod) throw new Error('no Ready operator pod in kamaji-system');
      const rv = await policyVersion();
      const before = await scrape(pod);
      await suite.client.mergePatch(TCP, { namespace, name: NAME }, { metadata: { annotations: { 'e2e.kvcloud.io/touched': String(Date.now()) } } });
      await waitFor(async () => ((await scrape(pod)).tenantReconciles > before.tenantReconciles ? true : undefined), { timeoutMs: 30_000, what: 'a reconcile of the touched tenant' });
      await new Promise((r) => setTimeout(r, 2000)); // room for a write that would follow the reconcile
      const tenantHost = (await get())?.status?.controlPlaneEndpoint ?? NAME;
      // Management-cluster PUTs are the leader's Lease renewals; everything else would be a write of this pass.
      const writes = Object.fromEntries(Object.entries(writesBetween(before, await scrape(pod))).filter(([k]) => !k.startsWith('PUT ') || k.endsWith(tenantHost)));
      expect(writes, 'operator writes after a forced reconcile of the restored tenant').to.deep.equal({});
      expect(await policyVersion(), 'the restored policy untouched by the pass').to.equal(rv);
    });

    it('lets the developer write again and removes the policy once writePermissions is cleared', async () => {
      await suite.client.mergePatch(TCP, { namespace, name: NAME }, { spec: { writePermissions: null } });
      await waitForStatus('Ready');
      await waitFor(async () => ((await tenant().get(POLICY, { name: WRITE_PERMISSIONS_POLICY }, { direct: true })) ? undefined : true), {
        timeoutMs: 30_000,
        what: 'the policy to be removed from the tenant',
      });
      expect(await tenant().get(BINDING, { name: WRITE_PERMISSIONS_POLICY }, { direct: true })).to.equal(undefined);
      await waitFor(async () => ((await refusal(kubectl(paths.developer, ['create', 'configmap', 'after', '-n', 'default', '--from-literal=a=1']))) === '' ? true : undefined), {
        timeoutMs: 30_000,
        intervalMs: 500,
        what: 'the developer to create a ConfigMap again',
      });
      await kubectl(paths.developer, ['label', 'configmap', 'kept', '-n', 'default', 'changed=yes']);
      await kubectl(paths.developer, ['delete', 'configmap', 'kept', 'after', '-n', 'default']);
      await waitFor(
        async () => {
          const events = await suite.client.list<KubeObject & { reason?: string }>({ apiVersion: 'events.k8s.io/v1', kind: 'Event' }, { namespace, direct: true });
          return events.some((e) => e.reason === 'WritesAllowed') ? true : undefined;
        },
        { timeoutMs: 30_000, what: 'the WritesAllowed Event' },
      );
    });
  });
});
