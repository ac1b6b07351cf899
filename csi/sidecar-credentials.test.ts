import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { expect } from 'chai';
import { pino } from 'pino';
import { ApiError } from '../lib/kube/api-error.js';
import { Client } from '../lib/kube/client.js';
import type { RestRequest } from '../lib/kube/rest-transport.js';
import { RestMapper } from '../lib/kube/rest-mapper.js';
import { FakeApiServer } from '../lib/testing/fake-apiserver.js';
import { SidecarCredentials } from './sidecar-credentials.js';

const TOKEN_PATH = '/api/v1/namespaces/kubevirt-csi-driver/serviceaccounts/kubevirt-csi-controller-sa/token';

/** A tenant apiserver answering TokenRequests with token-1, token-2, ...; 404 while the ServiceAccount is "missing". */
class TokenServer extends FakeApiServer {
  issued = 0;
  missingFor = 0;
  readonly bodies: unknown[] = [];
  override request<T>(req: RestRequest): Promise<T> {
    if (req.method !== 'POST' || req.path !== TOKEN_PATH) return super.request(req);
    this.bodies.push(req.body);
    if (this.missingFor > 0) {
      this.missingFor--;
      return Promise.reject(new ApiError(404, req.method, req.path, undefined));
    }
    this.issued++;
    return Promise.resolve({ status: { token: `token-${String(this.issued)}`, expirationTimestamp: new Date(Date.now() + 3_600_000).toISOString() } } as T);
  }
}

// The tenant admin's kubeconfig: a client certificate the sidecars must never see.
const ADMIN = {
  apiVersion: 'v1',
  kind: 'Config',
  clusters: [{ name: 'acme', cluster: { server: 'https://acme-apiserver.acme-infra.svc:6443', 'certificate-authority-data': 'Q0EtREFUQQ==' } }],
  users: [{ name: 'acme-admin', user: { 'client-certificate-data': 'QURNSU4tQ0VSVA==', 'client-key-data': 'QURNSU4tS0VZ' } }],
  contexts: [{ name: 'acme-admin@acme', context: { cluster: 'acme', user: 'acme-admin' } }],
  'current-context': 'acme-admin@acme',
};

describe('csi/sidecar-credentials', () => {
  let dir: string;
  let api: TokenServer;
  const credentials = (opts: { lifetimeSeconds?: number; retryMs?: number } = {}) => {
    const tenantConfig = new KubeConfig();
    tenantConfig.loadFromString(JSON.stringify(ADMIN));
    api = new TokenServer();
    return new SidecarCredentials({ tenant: new Client({ transport: api, mapper: new RestMapper(api), fieldManager: 'kvcloud-csi' }), tenantConfig, dir, log: pino({ level: 'silent' }), ...opts });
  };
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sidecar-credentials-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("writes a kubeconfig of the sidecars' ServiceAccount token for the tenant's apiserver, with none of the admin's credentials", async () => {
    await credentials({ lifetimeSeconds: 1200 }).renew();
    expect(api.bodies).to.deep.equal([{ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 1200 } }]);
    const text = await readFile(join(dir, 'kubeconfig'), 'utf8');
    const kc = new KubeConfig();
    kc.loadFromString(text);
    expect(kc.getCurrentCluster()).to.deep.include({ server: 'https://acme-apiserver.acme-infra.svc:6443', caData: 'Q0EtREFUQQ==' });
    expect((JSON.parse(text) as { users: unknown }).users).to.deep.equal([{ name: 'kubevirt-csi-driver:kubevirt-csi-controller-sa', user: { tokenFile: join(dir, 'token') } }]);
    expect(text).to.not.match(/QURNSU4|client-/);
    expect(await readFile(join(dir, 'token'), 'utf8')).to.equal('token-1');
  });

  it('renews the token in place and leaves the kubeconfig as it was', async () => {
    const c = credentials();
    await c.renew();
    const before = await stat(join(dir, 'kubeconfig'));
    await c.renew();
    expect(await readFile(join(dir, 'token'), 'utf8')).to.equal('token-2');
    expect((await stat(join(dir, 'kubeconfig'))).mtimeMs).to.equal(before.mtimeMs);
  });

  it('retries until the ServiceAccount can be given a token, then reports the files written', async () => {
    const c = credentials({ retryMs: 20 });
    api.missingFor = 2;
    await c.start().firstRenewal;
    await c.stop();
    expect([api.bodies.length, api.issued]).to.deep.equal([3, 1]);
    expect(await readFile(join(dir, 'token'), 'utf8')).to.equal('token-1');
  });
});
