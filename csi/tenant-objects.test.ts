import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { pino } from 'pino';
import { parse } from 'yaml';
import { Client } from '../lib/kube/client.js';
import { RestMapper } from '../lib/kube/rest-mapper.js';
import type { RestRequest } from '../lib/kube/rest-transport.js';
import { FakeApiServer } from '../lib/testing/fake-apiserver.js';
import { applyTenantObjects, installTenantObjects, parseTenantManifests } from './tenant-objects.js';

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
async function tenantBase(): Promise<string> {
  const { resources } = parse(await readFile(join(TENANT_BASE, 'kustomization.yaml'), 'utf8')) as { resources: string[] };
  return (await Promise.all(resources.map((r) => readFile(join(TENANT_BASE, r), 'utf8')))).join('\n---\n');
}

describe('csi/tenant-objects', () => {
  it('applies config/csi/tenant into a tenant, the Namespace before what lives in it, with no write forced', async () => {
    const { api, client } = tenant();
    const forced: unknown[] = [];
    const request = api.request.bind(api);
    api.request = <T>(req: RestRequest): Promise<T> => {
      if (req.method === 'PATCH') forced.push(req.query?.force);
      return request<T>(req);
    };
    const objects = parseTenantManifests(await tenantBase(), 'config/csi/tenant');
    expect(objects[0]?.kind).to.equal('Namespace');
    expect(await applyTenantObjects(client, objects, log)).to.deep.equal([]);
    expect(api.peek('storage.k8s.io/v1', 'CSIDriver', 'csi.kubevirt.io')).to.not.equal(undefined);
    expect(api.peek('apps/v1', 'DaemonSet', 'kubevirt-csi-driver/kubevirt-csi-node')).to.not.equal(undefined);
    expect(forced).to.deep.equal(objects.map(() => false));
  });

  it('leaves an object alone when another manager owns a field it would set, and applies the rest', async () => {
    const { api, client } = tenant();
    const objects = parseTenantManifests(await tenantBase(), 'config/csi/tenant');
    api.failNext((r) => r.method === 'PATCH' && r.path.endsWith('/storageclasses/kubevirt'), 409, 'Conflict');
    expect(await applyTenantObjects(client, objects, log)).to.deep.equal(['StorageClass kubevirt']);
    expect(api.peek('storage.k8s.io/v1', 'StorageClass', 'kubevirt')).to.equal(undefined);
    expect(api.peek('apps/v1', 'DaemonSet', 'kubevirt-csi-driver/kubevirt-csi-node')).to.not.equal(undefined);
  });

  it('retries while the tenant cannot take the objects yet, then stops', async () => {
    const { api, client } = tenant();
    const objects = parseTenantManifests(await tenantBase(), 'config/csi/tenant');
    api.failNext((r) => r.method === 'PATCH', 503, 'ServiceUnavailable');
    api.failNext((r) => r.method === 'PATCH', 503, 'ServiceUnavailable');
    await installTenantObjects({ tenant: client, objects, log, signal: new AbortController().signal, delayMs: 1 });
    expect(api.peek('storage.k8s.io/v1', 'StorageClass', 'kubevirt')).to.not.equal(undefined);
    expect(api.writes().filter((w) => w.method === 'PATCH')).to.have.length(objects.length + 2);
  });

  const malformed = [
    { name: 'a document without a name', text: 'apiVersion: v1\nkind: Namespace\nmetadata: {}\n', want: /document 1 needs apiVersion, kind and metadata.name/ },
    { name: 'YAML that does not parse', text: 'apiVersion: v1\nkind: Namespace\nmetadata: { name: a }\n---\nkind: [\n', want: /m.yaml: document 2: / },
  ];
  for (const tc of malformed) it(`refuses ${tc.name}, naming the file and document`, () => expect(() => parseTenantManifests(tc.text, 'm.yaml')).to.throw(tc.want));
});
