import { expect } from 'chai';
import { CoreV1Api, type V1ConfigMap } from '@kubernetes/client-node';
import { Type } from '@sinclair/typebox';
import { buildCRD } from '../../../lib/crd/crd.js';
import { kubectl } from '../../../localcloud/kubectl.js';
import { sharedPlane, startPlane, type Plane } from '../../../localcloud/plane.js';
import { rejection } from '../../../lib/testing/rejection.js';
import { processesReferencing } from '../../../localcloud/run-dir.js';
import { upstreamVersion } from '../../../localcloud/versions.js';
import { waitFor } from '../../../localcloud/wait.js';
import { existsSync } from 'node:fs';

function isNotFound(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: number }).code === 404;
}

describe('management plane: real etcd, kube-apiserver and kube-controller-manager', () => {
  let plane: Plane;
  before(async function () {
    this.timeout(20 * 60_000); // the first run may build the upstream binaries
    plane = await sharedPlane();
  });

  it('reports the pinned Kubernetes release from /version', async () => {
    const out = JSON.parse(await kubectl(plane.kubeconfigPath, ['version', '-o', 'json'])) as {
      serverVersion: { gitVersion: string; major: string; minor: string };
    };
    const want = upstreamVersion('KUBERNETES_VERSION');
    expect(out.serverVersion.gitVersion).to.equal(want);
    expect(`v${out.serverVersion.major}.${out.serverVersion.minor}`).to.equal(want.split('.').slice(0, 2).join('.'));
  });

  it('lets kubectl act as cluster admin with the admin kubeconfig', async () => {
    expect((await kubectl(plane.kubeconfigPath, ['auth', 'can-i', '*', '*', '--all-namespaces'])).trim()).to.equal('yes');
    const namespaces = await kubectl(plane.kubeconfigPath, ['get', 'namespaces', '-o', 'name']);
    expect(namespaces.split('\n')).to.include.members(['namespace/default', 'namespace/kube-system']);
  });

  it('enforces RBAC: a user is denied until a RoleBinding grants access', async () => {
    const alice = await plane.kubeconfigFor('alice');
    const denied = await rejection(kubectl(alice, ['get', 'configmaps', '-n', 'default']), 'alice listing configmaps without a binding');
    expect(denied.message).to.match(/Forbidden|cannot list resource "configmaps"/);
    await kubectl(plane.kubeconfigPath, ['create', 'rolebinding', 'alice-view', '--clusterrole=view', '--user=alice', '-n', 'default']);
    await waitFor(async () => (await kubectl(alice, ['get', 'configmaps', '-n', 'default', '-o', 'name'])).includes('kube-root-ca.crt') || undefined, {
      timeoutMs: 30_000,
      what: 'alice to read configmaps once bound (kube-root-ca.crt is published by kube-controller-manager)',
    });
  });

  it('rejects an object that breaks a CRD CEL rule with the rule message', async () => {
    const crd = buildCRD({
      group: 'harness.kvcloud.io',
      kind: 'Autoscale',
      plural: 'autoscales',
      scope: 'Namespaced',
      versions: [
        {
          name: 'v1alpha1',
          schema: Type.Object({
            spec: Type.Object(
              { minReplicas: Type.Integer({ minimum: 0 }), maxReplicas: Type.Integer() },
              { 'x-kubernetes-validations': [{ rule: 'self.minReplicas <= self.maxReplicas', message: 'minReplicas must not exceed maxReplicas' }] },
            ),
          }),
        },
      ],
    });
    await plane.applyManifests([crd]);
    const object = (min: number, max: number, name: string) => ({
      apiVersion: 'harness.kvcloud.io/v1alpha1',
      kind: 'Autoscale',
      metadata: { name, namespace: 'default' },
      spec: { minReplicas: min, maxReplicas: max },
    });
    await plane.applyManifests([object(1, 3, 'good')]);
    const refused = await rejection(plane.applyManifests([object(5, 3, 'bad')]), 'minReplicas > maxReplicas');
    expect(refused.message).to.include('minReplicas must not exceed maxReplicas');
    const names = await kubectl(plane.kubeconfigPath, ['get', 'autoscales', '-n', 'default', '-o', 'name']);
    expect(names.trim()).to.equal('autoscale.harness.kvcloud.io/good');
  });

  it('garbage-collects a dependent after its owner is deleted', async () => {
    const core = plane.kubeConfig.makeApiClient(CoreV1Api);
    const owner = await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'gc-owner' } } });
    const dependent: V1ConfigMap = {
      metadata: {
        name: 'gc-dependent',
        ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'gc-owner', uid: owner.metadata?.uid ?? '' }],
      },
    };
    await core.createNamespacedConfigMap({ namespace: 'default', body: dependent });
    await core.deleteNamespacedConfigMap({ namespace: 'default', name: 'gc-owner' });
    await waitFor(
      async () => {
        try {
          await core.readNamespacedConfigMap({ namespace: 'default', name: 'gc-dependent' });
          return undefined;
        } catch (err) {
          if (isNotFound(err)) return true;
          throw err;
        }
      },
      { timeoutMs: 60_000, what: 'the garbage collector to delete gc-dependent' },
    );
  });
});

describe('management plane lifecycle', () => {
  it('starts a private plane in seconds and stopping it leaves no process and no file', async function () {
    this.timeout(5 * 60_000);
    const started = Date.now();
    const plane = await startPlane();
    const seconds = (Date.now() - started) / 1000;
    console.log(`      plane (etcd + kube-apiserver + kube-controller-manager) ready in ${seconds.toFixed(1)} s`);
    expect(seconds).to.be.below(60);
    const pids = [...plane.processes.values()].map((p) => p.pid);
    expect(pids).to.have.length(3);
    await plane.stop();
    for (const pid of pids) expect(() => process.kill(pid, 0)).to.throw(/ESRCH/);
    expect(processesReferencing(plane.dir)).to.deep.equal([]);
    expect(existsSync(plane.dir)).to.be.false;
  });

  it('restarts kube-apiserver on the same address with its data intact', async function () {
    this.timeout(5 * 60_000);
    const plane = await startPlane({ controllerManager: false });
    try {
      const core = plane.kubeConfig.makeApiClient(CoreV1Api);
      await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'survivor' }, data: { k: 'v' } } });
      const before = plane.processes.get('kube-apiserver')?.pid;
      await plane.restartApiServer();
      expect(plane.processes.get('kube-apiserver')?.pid).to.not.equal(before);
      const cm = await core.readNamespacedConfigMap({ namespace: 'default', name: 'survivor' });
      expect(cm.data).to.deep.equal({ k: 'v' });
      expect(await plane.etcdctl('endpoint', 'health')).to.match(/is healthy/);
    } finally {
      await plane.stop();
    }
  });
});
