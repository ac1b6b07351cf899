import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { connect, createServer } from 'node:tls';
import { expect } from 'chai';
import { certificatePem, privateKeyPem } from '../../../lib/pki/x509.js';
import { beginCARotation, caStateOf, chainFor, decideCAStep, retireOldCA, switchCASigner, type CAEvidence, type CARotationInput } from './ca-rotation.js';
import { buildClusterCA, buildLeaf, loadCA, type SecretData } from './issue.js';
import { DEFAULT_PKI_OPTIONS } from './options.js';
import { API_SERVER } from './profiles.js';
import { splitCertificates } from './rotation.js';
import { CA_SECRET } from './secrets.js';

const opts = DEFAULT_PKI_OPTIONS;

/** A TLS server presenting `certPem` (leaf and chain) answers a client that trusts only `caPem`. */
async function handshake(certPem: string, keyPem: string, caPem: string): Promise<string | undefined> {
  const server = createServer({ cert: certPem, key: keyPem }, (s) => s.end());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const socket = connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, ca: caPem, servername: 'localhost' });
    return await new Promise<string | undefined>((resolve) => {
      socket.once('secureConnect', () => {
        resolve(socket.authorized ? undefined : String(socket.authorizationError));
        socket.destroy();
      });
      socket.once('error', (err) => {
        resolve(err.message);
      });
    });
  } finally {
    server.close();
  }
}

async function servingCert(data: SecretData): Promise<{ cert: string; key: string }> {
  const ca = await loadCA(data, CA_SECRET);
  const leaf = await buildLeaf(API_SERVER, ca, opts, ['localhost', '127.0.0.1']);
  return { cert: (leaf['apiserver.crt'] ?? '') + chainFor(certificatePem(ca.cert), data['ca-bridges.crt']), key: leaf['apiserver.key'] ?? '' };
}

describe('controlplane/pki CA rotation steps', () => {
  let stable: SecretData;
  let trusting: SecretData;
  let switched: SecretData;
  let retired: SecretData;
  before(async () => {
    stable = await buildClusterCA(opts);
    trusting = await beginCARotation(stable, opts, new Date());
    switched = switchCASigner(trusting);
    retired = retireOldCA(switched);
  });

  it('walks Stable -> Trusting -> Switched -> Stable, ca.crt always starting with the CA that ca.key belongs to', async () => {
    expect([stable, trusting, switched, retired].map((d) => caStateOf(d).phase)).to.deep.equal(['Stable', 'Trusting', 'Switched', 'Stable']);
    for (const d of [stable, trusting, switched, retired]) await loadCA(d, CA_SECRET); // refuses a key of another certificate
    const [oldCA] = splitCertificates(stable['ca.crt'] ?? '');
    const [, newCA] = splitCertificates(trusting['ca.crt'] ?? '');
    expect(splitCertificates(trusting['ca.crt'] ?? '')).to.deep.equal([oldCA, newCA]);
    expect(trusting['ca.key']).to.equal(stable['ca.key']);
    expect(splitCertificates(switched['ca.crt'] ?? '')).to.deep.equal([newCA, oldCA]);
    expect(splitCertificates(retired['ca.crt'] ?? '')).to.deep.equal([newCA]);
    expect(switched['ca-signer.crt']).to.equal(newCA);
    expect(retired).to.not.have.any.keys('ca-next.key', 'ca-signer.crt');
    expect(new X509Certificate(newCA ?? '').subject).to.not.equal(new X509Certificate(oldCA ?? '').subject);
  });

  it('cross-signs the new CA with the old one: same name and key, issued by the old CA, no longer valid than it', () => {
    const [bridge = ''] = caStateOf(retired).bridges;
    const b = new X509Certificate(bridge);
    const [newCA = ''] = splitCertificates(retired['ca.crt'] ?? '');
    const oldCA = new X509Certificate(stable['ca.crt'] ?? '');
    expect(b.subject).to.equal(new X509Certificate(newCA).subject);
    expect(b.publicKey.equals(new X509Certificate(newCA).publicKey)).to.equal(true);
    expect(b.checkIssued(oldCA) && b.verify(oldCA.publicKey)).to.equal(true);
    expect(b.ca).to.equal(true);
    expect(b.validToDate.getTime()).to.be.at.most(oldCA.validToDate.getTime());
  });

  it('chains a certificate of the new CA through its bridge, and one of a never-rotated CA through nothing', () => {
    expect(chainFor(stable['ca.crt'] ?? '', undefined)).to.equal('');
    expect(chainFor(trusting['ca-signer.crt'] ?? '', trusting['ca-bridges.crt'])).to.equal('');
    expect(chainFor(switched['ca-signer.crt'] ?? '', switched['ca-bridges.crt'])).to.equal(switched['ca-bridges.crt']);
  });

  it('serves a certificate of the new CA that clients trusting the old CA, the new CA or the bundle all accept', async () => {
    const { cert, key } = await servingCert(switched);
    const [newCA = ''] = splitCertificates(retired['ca.crt'] ?? '');
    expect(await handshake(cert, key, stable['ca.crt'] ?? ''), 'trusting the old CA only (a node joined before)').to.equal(undefined);
    expect(await handshake(cert, key, newCA), 'trusting the new CA only').to.equal(undefined);
    expect(await handshake(cert, key, switched['ca.crt'] ?? ''), 'trusting the bundle').to.equal(undefined);
    const bare = splitCertificates(cert)[0] ?? '';
    expect(await handshake(bare, key, stable['ca.crt'] ?? ''), 'without the bridge, the old CA cannot verify it').to.match(/issuer|verify/i);
  });

  it('keeps a node that joined two rotations ago verifying the serving certificate through both bridges', async () => {
    const second = retireOldCA(switchCASigner(await beginCARotation(retired, opts, new Date(Date.now() + 1000))));
    expect(caStateOf(second).bridges).to.have.length(2);
    const { cert, key } = await servingCert(second);
    expect(splitCertificates(cert)).to.have.length(3);
    expect(await handshake(cert, key, stable['ca.crt'] ?? '')).to.equal(undefined);
    expect(await handshake(cert, key, retired['ca.crt'] ?? '')).to.equal(undefined);
    expect(await handshake(cert, key, second['ca.crt'] ?? '')).to.equal(undefined);
  });

  it('promotes the pending key to ca.key at the switch', async () => {
    const ca = await loadCA(switched, CA_SECRET);
    expect(await privateKeyPem(ca.key)).to.equal(trusting['ca-next.key']);
  });
});

describe('controlplane/pki decideCAStep', () => {
  const ok: CAEvidence = { rolledOut: true, trustPublished: true, nodesPending: [] };
  const now = new Date('2026-11-27T15:00:00Z');
  const base = (phase: 'Stable' | 'Trusting' | 'Switched', over: Partial<CARotationInput> = {}): CARotationInput => ({
    state: { phase, bundle: [], bridges: [] },
    request: '1',
    handled: '1',
    switchedAt: new Date(now.getTime() - 120_000),
    evidence: ok,
    now,
    soakMs: 60_000,
    ...over,
  });
  const cases: { name: string; input: CARotationInput; action: string; reason?: string; message?: RegExp }[] = [
    { name: 'nothing for a tenant that never asked', input: base('Stable', { request: undefined, handled: undefined }), action: 'none' },
    { name: 'begins for a new request value', input: base('Stable', { request: '2' }), action: 'begin', reason: 'NewCATrusted' },
    { name: 'begins for the first request', input: base('Stable', { handled: undefined }), action: 'begin', reason: 'NewCATrusted' },
    { name: 'is done for the handled value once the tenant trusts the new CA alone', input: base('Stable'), action: 'none', reason: 'OldCARetired' },
    { name: 'waits after the retirement for the pods', input: base('Stable', { evidence: { ...ok, rolledOut: false } }), action: 'none', reason: 'OldCARetiring' },
    { name: 'waits after the retirement for cluster-info and kube-root-ca.crt', input: base('Stable', { evidence: { ...ok, trustPublished: false } }), action: 'none', reason: 'OldCARetiring' },
    { name: 'waits for the pods to run with the bundle', input: base('Trusting', { evidence: { ...ok, rolledOut: false } }), action: 'none', reason: 'NewCATrusted', message: /control plane pods/ },
    { name: 'waits for cluster-info and kube-root-ca.crt', input: base('Trusting', { evidence: { ...ok, trustPublished: false } }), action: 'none', reason: 'NewCATrusted', message: /cluster-info/ },
    { name: 'switches the signer once the bundle is everywhere', input: base('Trusting'), action: 'switch', reason: 'LeavesReissued' },
    { name: 'waits for the pods to run with the reissued leaves', input: base('Switched', { evidence: { ...ok, rolledOut: false } }), action: 'none', reason: 'LeavesReissued' },
    { name: 'waits for nodes, naming them', input: base('Switched', { evidence: { ...ok, nodesPending: ['w1', 'w2'] } }), action: 'none', reason: 'WaitingForNodes', message: /2 node\(s\).*w1, w2/ },
    { name: 'soaks for the minimum time', input: base('Switched', { switchedAt: new Date(now.getTime() - 10_000) }), action: 'none', reason: 'Soaking', message: /retired at 2026-11-27T15:00:50/ },
    { name: 'retires the old CA after the soak with every node renewed', input: base('Switched'), action: 'retire', reason: 'OldCARetiring' },
  ];
  for (const tc of cases) {
    it(tc.name, () => {
      const step = decideCAStep(tc.input);
      expect(step.action).to.equal(tc.action);
      expect(step.condition?.reason).to.equal(tc.reason);
      if (tc.message) expect(step.condition?.message).to.match(tc.message);
    });
  }
});
