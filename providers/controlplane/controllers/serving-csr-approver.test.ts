import { expect } from 'chai';
import pino from 'pino';
import { InformerCache } from '../../../lib/controller/informer-cache.js';
import type { RemoteCluster } from '../../../lib/controller/remote-cluster.js';
import { Client } from '../../../lib/kube/client.js';
import type { KubeObject } from '../../../lib/kube/object.js';
import { RestMapper } from '../../../lib/kube/rest-mapper.js';
import { createCertificateSigningRequest, generateKeyPair } from '../../../lib/pki/x509.js';
import { FakeApiServer } from '../../../lib/testing/fake-apiserver.js';
import { FakeListWatcher } from '../../../lib/testing/fake-list-watcher.js';
import {
  KUBELET_SERVING_SIGNER,
  ServingCertificateApprover,
  decideServingCSR,
  isDecided,
  type CertificateSigningRequest,
  type TenantNode,
} from './serving-csr-approver.js';

const NODE = 'acme-md-0-vm1';
const IP = '10.244.0.17';

function node(name = NODE, addresses = [{ type: 'InternalIP', address: IP }, { type: 'Hostname', address: name }]): TenantNode {
  return { apiVersion: 'v1', kind: 'Node', metadata: { name }, status: { addresses } };
}

interface RequestShape {
  commonName?: string;
  organizations?: string[];
  altNames?: string[];
  username?: string;
  groups?: string[];
  usages?: string[];
  signerName?: string;
  name?: string;
}

async function csr(shape: RequestShape = {}): Promise<CertificateSigningRequest> {
  const key = await generateKeyPair('ECDSA-P256');
  const pem = await createCertificateSigningRequest(key, {
    commonName: shape.commonName ?? `system:node:${NODE}`,
    organizations: shape.organizations ?? ['system:nodes'],
    altNames: shape.altNames ?? [NODE, IP],
  });
  return {
    apiVersion: 'certificates.k8s.io/v1',
    kind: 'CertificateSigningRequest',
    metadata: { name: shape.name ?? 'csr-serving', uid: `uid-${shape.name ?? 'csr-serving'}` },
    spec: {
      request: Buffer.from(pem).toString('base64'),
      signerName: shape.signerName ?? KUBELET_SERVING_SIGNER,
      usages: shape.usages ?? ['digital signature', 'server auth'],
      username: shape.username ?? `system:node:${NODE}`,
      groups: shape.groups ?? ['system:nodes', 'system:authenticated'],
    },
  };
}

describe('controllers/serving-csr-approver', () => {
  describe('decideServingCSR', () => {
    const cases: { name: string; shape: RequestShape; node?: TenantNode | null; approve: boolean; reason?: string }[] = [
      { name: 'approves what the guest kubelet sends: its name and InternalIP, ECDSA usages', shape: {}, approve: true },
      { name: 'approves an RSA-style request that adds key encipherment', shape: { usages: ['digital signature', 'key encipherment', 'server auth'] }, approve: true },
      { name: 'approves a request naming only the address', shape: { altNames: [IP] }, approve: true },
      { name: 'leaves a request from a non-node user pending', shape: { username: 'alice' }, approve: false, reason: 'requester alice is not a node' },
      { name: 'leaves a request from outside system:nodes pending', shape: { groups: ['system:authenticated'] }, approve: false, reason: 'not in group system:nodes' },
      { name: 'leaves a request for a Node that does not exist pending', shape: {}, node: null, approve: false, reason: `Node ${NODE} does not exist` },
      { name: 'refuses client auth among the usages', shape: { usages: ['digital signature', 'server auth', 'client auth'] }, approve: false, reason: 'usages' },
      { name: 'refuses a request without server auth', shape: { usages: ['digital signature'] }, approve: false, reason: 'usages' },
      { name: 'refuses a subject that names another node', shape: { commonName: 'system:node:other' }, approve: false, reason: 'subject CN' },
      { name: 'refuses a subject with another organization', shape: { organizations: ['system:masters'] }, approve: false, reason: 'subject O' },
      { name: 'refuses an IP the Node does not report', shape: { altNames: [NODE, IP, '10.96.0.1'] }, approve: false, reason: 'IP addresses 10.96.0.1' },
      { name: 'refuses a DNS name the Node does not report', shape: { altNames: [NODE, 'kubernetes.default.svc'] }, approve: false, reason: 'DNS names kubernetes.default.svc' },
      { name: 'refuses a request with no alternative names', shape: { altNames: [] }, approve: false, reason: 'names no DNS name or IP' },
      {
        name: 'refuses the host name when the Node reports only its address',
        shape: {},
        node: node(NODE, [{ type: 'InternalIP', address: IP }]),
        approve: false,
        reason: `DNS names ${NODE}`,
      },
    ];
    for (const tc of cases) {
      it(tc.name, async () => {
        const decision = decideServingCSR(await csr(tc.shape), tc.node === null ? undefined : (tc.node ?? node()));
        expect(decision.approve, JSON.stringify(decision)).to.equal(tc.approve);
        if (!decision.approve) expect(decision.reason).to.include(tc.reason);
      });
    }
  });

  describe('ServingCertificateApprover', () => {
    let api: FakeApiServer;
    let watchers: Map<string, FakeListWatcher<KubeObject>>;
    let cache: InformerCache;
    let tenant: RemoteCluster;
    let approver: ServingCertificateApprover;
    let approved: () => Promise<CertificateSigningRequest>;

    beforeEach(() => {
      api = new FakeApiServer()
        .serve({ apiVersion: 'certificates.k8s.io/v1', kind: 'CertificateSigningRequest', resource: 'certificatesigningrequests', namespaced: false })
        .serve({ apiVersion: 'v1', kind: 'Node', resource: 'nodes', namespaced: false });
      watchers = new Map(['CertificateSigningRequest', 'Node'].map((k) => [k, new FakeListWatcher<KubeObject>()]));
      let wake: (obj: CertificateSigningRequest) => void = () => undefined;
      approved = () => new Promise((resolve) => (wake = resolve));
      // What the fake apiserver stores reaches the informers, as a real watch would deliver it.
      api.afterWrite = (obj) => {
        watchers.get(obj.kind ?? '')?.observe(obj);
        if (obj.kind === 'CertificateSigningRequest' && isDecided(obj as CertificateSigningRequest)) wake(obj as CertificateSigningRequest);
      };
      const mapper = new RestMapper(api);
      cache = new InformerCache({ transport: api, mapper, listWatcherFactory: (type) => Promise.resolve(watchers.get(type.kind) ?? new FakeListWatcher<KubeObject>()) });
      cache.start();
      tenant = { client: new Client({ transport: api, mapper, fieldManager: 'test', cache }), cache, namespace: undefined, healthy: () => Promise.resolve(true), close: () => cache.stop() };
      approver = new ServingCertificateApprover(pino({ level: 'silent' }), { retryMs: 10 });
    });
    afterEach(async () => {
      await cache.stop();
    });

    function add<T extends KubeObject>(obj: T): T {
      const stored = api.seed(obj);
      watchers.get(obj.kind ?? '')?.observe(stored, 'ADDED');
      return stored;
    }

    async function watching(): Promise<void> {
      await cache.waitForSync();
      await Promise.all([...watchers.values()].map((w) => w.watchesOpened(1)));
    }

    it('approves a serving CSR of an existing Node through the approval subresource', async () => {
      add(node());
      await approver.ensure(tenant, 'tenants/acme');
      await watching();
      const done = approved();
      add(await csr());
      const csrAfter = await done;
      expect(csrAfter.status?.conditions?.map((c) => [c.type, c.status])).to.deep.equal([['Approved', 'True']]);
      expect(api.writes().map((w) => `${w.method} ${w.path}`)).to.deep.equal(['PUT /apis/certificates.k8s.io/v1/certificatesigningrequests/csr-serving/approval']);
    });

    it('approves a CSR sent before its Node registered once the Node appears', async () => {
      await approver.ensure(tenant, 'tenants/acme');
      await watching();
      add(await csr());
      const done = approved();
      add(node());
      expect((await done).metadata.name).to.equal('csr-serving');
    });

    it('leaves other CSRs pending and writes nothing for them, watching once however often ensure runs', async () => {
      add(node());
      await approver.ensure(tenant, 'tenants/acme');
      await approver.ensure(tenant, 'tenants/acme');
      await watching();
      add(await csr({ name: 'client-cert', signerName: 'kubernetes.io/kube-apiserver-client-kubelet', usages: ['digital signature', 'client auth'] }));
      add(await csr({ name: 'foreign-ip', altNames: [NODE, '10.96.0.1'] }));
      add(await csr({ name: 'from-alice', username: 'alice', groups: ['system:authenticated'] }));
      // Events of one informer arrive in order: once this one is approved, the three above were looked at.
      const done = approved();
      add(await csr({ name: 'good' }));
      expect((await done).metadata.name).to.equal('good');
      expect(api.writes().map((w) => w.path)).to.deep.equal(['/apis/certificates.k8s.io/v1/certificatesigningrequests/good/approval']);
      expect(api.peek('certificates.k8s.io/v1', 'CertificateSigningRequest', 'foreign-ip')?.status).to.equal(undefined);
    });

    it('tries again after a failed approval', async () => {
      add(node());
      await approver.ensure(tenant, 'tenants/acme');
      await watching();
      api.failNext((req) => req.path.endsWith('/approval'), 500);
      const done = approved();
      add(await csr());
      expect((await done).status?.conditions?.[0]?.type).to.equal('Approved');
      expect(api.writes().filter((w) => w.path.endsWith('/approval'))).to.have.length(2);
    });
  });
});
