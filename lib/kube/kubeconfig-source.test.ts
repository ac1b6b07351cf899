import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { expect } from 'chai';
import { kubeConfigSourceFromString, loadKubeConfigSource, type KubeConfigSource } from './kubeconfig-source.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

function kubeconfig(cluster: string, user: string, contextUser = 'u'): string {
  return `apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { ${cluster} } }]
users: [{ name: u, user: { ${user} } }]
contexts: [{ name: ctx, context: { cluster: c, user: ${contextUser} } }]
current-context: ctx
`;
}

async function options(kc: KubeConfigSource): Promise<https.RequestOptions> {
  const opts: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(opts);
  return opts;
}

/** What a transport takes from the options, as RestTransport.fromKubeConfig copies it. */
function transportView(o: https.RequestOptions): object {
  const headers = Object.entries(o.headers ?? {}).filter(([, v]) => v !== undefined);
  return { ca: o.ca, cert: o.cert, key: o.key, servername: o.servername, rejectUnauthorized: o.rejectUnauthorized, auth: o.auth, headers: Object.fromEntries(headers) };
}

describe('kubeconfig-source: a kubeconfig read without client-node', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kubeconfig-source-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const cases = [
    { name: 'client certificate and CA as data', cluster: `server: "https://10.0.0.1:6443/", certificate-authority-data: ${b64('CA')}`, user: `client-certificate-data: ${b64('CERT')}, client-key-data: ${b64('KEY')}` },
    { name: 'a bearer token, TLS verification off', cluster: 'server: "https://h:6443", insecure-skip-tls-verify: true', user: 'token: abc' },
    { name: 'basic auth and a TLS server name', cluster: 'server: "https://h:6443", tls-server-name: api.example', user: 'username: me, password: pw' },
    { name: 'a context whose user does not exist', cluster: 'server: "https://h:6443"', user: 'token: abc', contextUser: 'nobody' },
  ];
  for (const tc of cases) {
    it(`gives a transport what client-node gives it: ${tc.name}`, async () => {
      const text = kubeconfig(tc.cluster, tc.user, tc.contextUser);
      const reference = new KubeConfig();
      reference.loadFromString(text);
      const ours = await kubeConfigSourceFromString(text, 'test');
      expect(ours.getCurrentCluster()?.server).to.equal(reference.getCurrentCluster()?.server);
      expect(ours.getCurrentUser() === null).to.equal(reference.getCurrentUser() === null);
      expect(transportView(await options(ours))).to.deep.equal(transportView(await options(reference)));
    });
  }

  it('reads certificate files relative to the kubeconfig file, as kubectl does', async () => {
    writeFileSync(join(dir, 'ca.crt'), 'CA');
    writeFileSync(join(dir, 'tls.crt'), 'CERT');
    writeFileSync(join(dir, 'tls.key'), 'KEY');
    writeFileSync(join(dir, 'config'), kubeconfig('server: "https://h:6443", certificate-authority: ca.crt', 'client-certificate: tls.crt, client-key: tls.key'));
    const o = await options(await loadKubeConfigSource(join(dir, 'config')));
    expect([o.ca, o.cert, o.key].map((b) => (b as Buffer).toString())).to.deep.equal(['CA', 'CERT', 'KEY']);
  });

  it('leaves exec plugins to client-node, whose user asks for fresh credentials per request', async () => {
    const kc = await kubeConfigSourceFromString(kubeconfig('server: "https://h:6443"', 'exec: { apiVersion: client.authentication.k8s.io/v1, command: /bin/true }'), 'test');
    expect(kc.constructor.name).to.equal('KubeConfig');
    expect(kc.getCurrentUser()?.exec).to.not.equal(undefined);
  });

  it('refuses a kubeconfig without a current cluster, naming where it came from', async () => {
    const text = 'apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n';
    let err: Error | undefined;
    await kubeConfigSourceFromString(text, 'Secret ns/x-kubeconfig').catch((e: unknown) => (err = e as Error));
    expect(err?.message).to.equal('kubeconfig from Secret ns/x-kubeconfig: no current cluster');
  });
});
