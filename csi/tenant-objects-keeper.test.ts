import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { pino } from 'pino';
import { parse } from 'yaml';
import { APPLIED_HASH_ANNOTATION } from '../lib/kube/applied-hash.js';
import { Client } from '../lib/kube/client.js';
import type { KubeObject } from '../lib/kube/object.js';
import { RestMapper } from '../lib/kube/rest-mapper.js';
import type { RestRequest } from '../lib/kube/rest-transport.js';
import { FakeApiServer } from '../lib/testing/fake-apiserver.js';
import { parseTenantManifests } from './tenant-objects.js';
import { TenantObjectsKeeper } from './tenant-objects-keeper.js';

const TENANT_BASE = join(import.meta.dirname, '..', 'config', 'csi', 'tenant');
const MAPPINGS = [
  { apiVersion: 'v1', kind: 'Namespace', resource: 'namespaces', namespaced: false },
  { apiVersion: 'v1', kind: 'ServiceAccount', resource: 'serviceaccounts', namespaced: true },
  { apiVersion: 'storage.k8s.io/v1', kind: 'CSIDriver', resource: 'csidrivers', namespaced: false },
  { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', resource: 'storageclasses', namespaced: false },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', resource: 'clusterroles', namespaced: false },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', resource: 'clusterrolebindings', namespaced: false },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', resource: 'roles', namespaced: true },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', resource: 'rolebindings', namespaced: true },
  { apiVersion: 'apps/v1', kind: 'DaemonSet', resource: 'daemonsets', namespaced: true },
];
const STORAGE_CLASS = { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass' };
const log = pino({ level: 'silent' });

function tenant(): { api: FakeApiServer; client: Client } {
  const api = new FakeApiServer();
  const mapper = new RestMapper(api);
  for (const m of MAPPINGS) {
    api.serve(m);
    mapper.register(m);
  }
  return { api, client: new Client({ transport: api, mapper, fieldManager: 'kvcloud-csi' }) };
}

/** config/csi/tenant as `kubectl apply -k` reads it: the files its kustomization lists, in order. */
async function tenantObjects(): Promise<KubeObject[]> {
  const { resources } = parse(await readFile(join(TENANT_BASE, 'kustomization.yaml'), 'utf8')) as { resources: string[] };
  return parseTenantManifests((await Promise.all(resources.map((r) => readFile(join(TENANT_BASE, r), 'utf8')))).join('\n---\n'), 'config/csi/tenant');
}

async function until(cond: () => boolean, what: string, ms = 3_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The apply requests the fake received, as "path force=<force>", by recording the queries it does not keep. */
function recordApplies(api: FakeApiServer): string[] {
  const applies: string[] = [];
  const request = api.request.bind(api);
  api.request = <T>(req: RestRequest): Promise<T> => {
    if (req.contentType?.startsWith('application/apply-patch')) applies.push(`${req.path} force=${String(req.query?.force)}`);
    return request<T>(req);
  };
  return applies;
}

describe('csi/tenant-objects-keeper', () => {
  const keepers: TenantObjectsKeeper[] = [];
  const keeper = (client: Client, objects: readonly KubeObject[]) => {
    const k = new TenantObjectsKeeper({ tenant: client, objects, log, delayMs: 1, maxDelayMs: 5 });
    keepers.push(k);
    return k;
  };
  afterEach(async () => {
    await Promise.all(keepers.splice(0).map((k) => k.stop()));
  });

  it('applies config/csi/tenant in order, the Namespace first, never forced, watching each object by its name only', async () => {
    const { api, client } = tenant();
    const applies = recordApplies(api);
    const watches = new Set<string>();
    const stream = api.stream.bind(api);
    api.stream = (req: RestRequest) => {
      const kind = MAPPINGS.find((m) => req.path.endsWith(`/${m.resource}`))?.kind ?? req.path;
      watches.add(`${kind} ${String(req.query?.fieldSelector)}`);
      return stream(req);
    };
    const objects = await tenantObjects();
    await keeper(client, objects).start().firstPass;
    expect(applies).to.have.length(objects.length);
    expect(applies[0]).to.equal('/api/v1/namespaces/kubevirt-csi-driver force=false');
    expect(applies.every((a) => a.endsWith('force=false'))).to.equal(true);
    expect(api.peek('apps/v1', 'DaemonSet', 'kubevirt-csi-driver/kubevirt-csi-node')?.metadata.annotations).to.have.property(APPLIED_HASH_ANNOTATION);
    // One watch per object, selecting its name in its own collection: nothing else of the tenant is watched.
    expect([...watches].sort()).to.deep.equal(objects.map((o) => `${o.kind ?? ''} metadata.name=${o.metadata.name ?? ''}`).sort());
  });

  it('writes nothing when every object is already as it applies it: a restarted controller included', async () => {
    const { api, client } = tenant();
    const objects = await tenantObjects();
    await keeper(client, objects).start().firstPass;
    const before = api.writes().length;
    await keeper(client, objects).start().firstPass;
    expect(api.writes().length - before, 'writes of a second keeper over applied objects').to.equal(0);
  });

  it('applies a deleted StorageClass again as soon as its watch reports the deletion, then writes nothing more', async () => {
    const { api, client } = tenant();
    const objects = await tenantObjects();
    await keeper(client, objects).start().firstPass;
    const uid = api.peek('storage.k8s.io/v1', 'StorageClass', 'kubevirt')?.metadata.uid;
    await new Client({ transport: api, mapper: client.mapper, fieldManager: 'tenant-admin' }).delete(STORAGE_CLASS, { name: 'kubevirt' });
    await until(() => (api.peek('storage.k8s.io/v1', 'StorageClass', 'kubevirt')?.metadata.uid ?? uid) !== uid, 'the StorageClass applied again');
    const settled = api.writes().length;
    await new Promise((r) => setTimeout(r, 50));
    expect(api.writes().length, 'writes once the StorageClass is back').to.equal(settled);
    expect(api.writes().slice(-1)[0]?.path).to.equal('/apis/storage.k8s.io/v1/storageclasses/kubevirt');
  });

  it('puts back a field it applies that another writer removed, and leaves alone what the apiserver or others add', async () => {
    const { api, client } = tenant();
    const objects = await tenantObjects();
    await keeper(client, objects).start().firstPass;
    const admin = new Client({ transport: api, mapper: client.mapper, fieldManager: 'tenant-admin' });
    await admin.mergePatch(STORAGE_CLASS, { name: 'kubevirt' }, { metadata: { labels: { team: 'storage' } } });
    await new Promise((r) => setTimeout(r, 50));
    const afterAddition = api.writes().length;
    expect(api.writes().slice(-1)[0]?.contentType, 'the last write is the admin\'s, not a re-apply').to.equal('application/merge-patch+json');
    await admin.mergePatch(STORAGE_CLASS, { name: 'kubevirt' }, { parameters: { bus: null } });
    await until(() => (api.peek('storage.k8s.io/v1', 'StorageClass', 'kubevirt') as { parameters?: { bus?: string } } | undefined)?.parameters?.bus === 'scsi', 'bus: scsi applied again');
    expect(api.writes().length - afterAddition, "the admin's patch and one re-apply").to.equal(2);
    expect(api.peek('storage.k8s.io/v1', 'StorageClass', 'kubevirt')?.metadata.labels).to.include({ team: 'storage' });
  });

  it('leaves an object whose fields another manager owns (409), applies the rest, and does not retry it in a loop', async () => {
    const { api, client } = tenant();
    const objects = await tenantObjects();
    api.failNext((r) => r.method === 'PATCH' && r.path.endsWith('/storageclasses/kubevirt'), 409, 'Conflict');
    await keeper(client, objects).start().firstPass;
    expect(api.peek('storage.k8s.io/v1', 'StorageClass', 'kubevirt')).to.equal(undefined);
    expect(api.peek('apps/v1', 'DaemonSet', 'kubevirt-csi-driver/kubevirt-csi-node')).to.not.equal(undefined);
    const settled = api.writes().length;
    await new Promise((r) => setTimeout(r, 50));
    expect(api.writes().length, 'writes after the conflict').to.equal(settled);
  });

  it('retries while the tenant cannot take the objects yet, then has applied each once', async () => {
    const { api, client } = tenant();
    const objects = await tenantObjects();
    api.failNext((r) => r.method === 'PATCH', 503, 'ServiceUnavailable');
    api.failNext((r) => r.method === 'PATCH', 503, 'ServiceUnavailable');
    await keeper(client, objects).start().firstPass;
    expect(api.peek('storage.k8s.io/v1', 'StorageClass', 'kubevirt')).to.not.equal(undefined);
    expect(api.writes().filter((w) => w.method === 'PATCH')).to.have.length(objects.length + 2);
  });
});
