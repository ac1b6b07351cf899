// Structured authentication and authorization of a tenant apiserver, end to end: a test OIDC issuer (HTTPS on the
// node address, its own CA) and a SubjectAccessReview webhook run in this process; a TenantControlPlane trusts the
// issuer through spec.kubernetes.authentication and asks the webhook through spec.kubernetes.authorization. The
// real kube-apiserver in the tenant pod then decides on real JWTs; admission refuses contradicting legacy flags.
import { createSign, generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { createServer, request, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import type { KubeObject } from '../../../lib/kube/object.js';
import { certificatePem, createCertificateAuthority, issueCertificate, privateKeyPem } from '../../../lib/pki/x509.js';
import type { TenantControlPlane } from '../../../providers/controlplane/api/index.js';
import { buildDeployment } from '../../../providers/controlplane/management/deployment.js';
import { NODE_IP } from '../../../localcloud/cluster/topology.js';
import { rejection } from '../../../lib/testing/rejection.js';
import { upstreamVersion } from '../../../localcloud/versions.js';
import { waitFor } from '../../../localcloud/wait.js';
import { clusterSuite, createNamespace } from '../cluster/support.js';
import { installControlPlaneProvider } from '../../../localcloud/install-controlplane.js';
import { createReadyDataStore, startSharedEtcd, type SharedEtcd } from '../../../localcloud/etcd-datastore.js';

const TCP = { apiVersion: 'kamaji.clastix.io/v1alpha1', kind: 'TenantControlPlane' };
const VERSION = upstreamVersion('KUBERNETES_VERSION');
const AUDIENCE = 'kvcloud-e2e';
const HOUR = 3_600_000;

interface Secret extends KubeObject {
  data?: Record<string, string>;
}

/** An HTTPS server on the node address, which the pod runner's pods reach through the cluster bridge. */
async function serveTLS(certPem: string, keyPem: string, handle: (path: string, body: string) => { status: number; json: unknown }): Promise<{ server: Server; url: string }> {
  const server = createServer({ cert: certPem, key: keyPem }, (req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const out = handle(req.url ?? '/', body);
      res.writeHead(out.status, { 'content-type': 'application/json' }).end(JSON.stringify(out.json));
    });
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, NODE_IP, resolve));
  return { server, url: `https://${NODE_IP}:${String((server.address() as AddressInfo).port)}` };
}

const b64url = (v: object | Buffer) => (Buffer.isBuffer(v) ? v : Buffer.from(JSON.stringify(v))).toString('base64url');

function signJWT(key: KeyObject, kid: string, claims: Record<string, unknown>): string {
  const input = `${b64url({ alg: 'RS256', typ: 'JWT', kid })}.${b64url(claims)}`;
  return `${input}.${b64url(createSign('RSA-SHA256').update(input).sign(key))}`;
}

/** A request to the tenant apiserver as the bearer of `token`, trusting the tenant CA. */
function tenantRequest(endpoint: string, caPem: string, method: string, path: string, token: string, body?: object): Promise<{ status: number; json: Record<string, unknown> }> {
  const [host, port] = [endpoint.slice(0, endpoint.lastIndexOf(':')), Number(endpoint.slice(endpoint.lastIndexOf(':') + 1))];
  return new Promise((resolve, reject) => {
    const req = request({ host, port, method, path, ca: caPem, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, json: (text.startsWith('{') ? JSON.parse(text) : { text }) as Record<string, unknown> }); });
    });
    req.on('error', reject);
    req.end(body ? JSON.stringify(body) : undefined);
  });
}

describe('TenantControlPlane with structured authentication and authorization', function () {
  this.timeout(10 * 60_000);
  const suite = clusterSuite();
  // Nested, so its after hook runs before the suite's cluster teardown and can still reach the cluster.
  describe('with the operator running', () => {
    let sharedEtcd: SharedEtcd | undefined;
    let namespace: string;
    const servers: Server[] = [];
    const signer = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const kid = randomUUID();
    let issuerURL = '';
    let issuerCA = '';
    /** The user of every SubjectAccessReview the webhook received. */
    const webhookUsers: string[] = [];

    const get = (name: string) => suite.client.get<TenantControlPlane & KubeObject>(TCP, { namespace, name }, { direct: true });

    function token(claims: Record<string, unknown>, key: KeyObject = signer.privateKey): string {
      const now = Math.floor(Date.now() / 1000);
      return signJWT(key, kid, { iss: issuerURL, aud: AUDIENCE, sub: 'alice', groups: ['dev', 'ops'], tenant: 'acme', iat: now, nbf: now - 60, exp: now + 600, ...claims });
    }

    function tenant(name: string, mutate: (spec: Record<string, unknown>) => void = () => undefined): TenantControlPlane {
      const spec: Record<string, unknown> = {
        dataStore: 'shared-etcd',
        controlPlane: { deployment: { replicas: 1 }, service: { serviceType: 'LoadBalancer' } },
        kubernetes: { version: VERSION, kubelet: {} },
        networkProfile: { port: 6443 },
      };
      mutate(spec);
      return { ...TCP, metadata: { name, namespace }, spec } as unknown as TenantControlPlane;
    }

    before(async function () {
      this.timeout(5 * 60_000);
      const ca = await createCertificateAuthority('kvcloud-e2e-oidc-ca', HOUR);
      issuerCA = certificatePem(ca.cert);
      const serving = await issueCertificate(ca, { commonName: 'oidc-issuer', altNames: [NODE_IP], usage: 'server', validFor: HOUR });
      const [certPem, keyPem] = [certificatePem(serving.cert), await privateKeyPem(serving.key)];
      const jwk = { ...signer.publicKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' };
      const issuer = await serveTLS(certPem, keyPem, (path) => {
        if (path === '/.well-known/openid-configuration') return { status: 200, json: { issuer: issuerURL, jwks_uri: `${issuerURL}/jwks`, id_token_signing_alg_values_supported: ['RS256'] } };
        if (path === '/jwks') return { status: 200, json: { keys: [jwk] } };
        return { status: 404, json: {} };
      });
      servers.push(issuer.server);
      issuerURL = issuer.url;
      // The authorization webhook: allows reading ConfigMaps in default, has no opinion on anything else.
      const webhook = await serveTLS(certPem, keyPem, (_path, body) => {
        const sar = JSON.parse(body) as { apiVersion: string; spec: { user?: string; resourceAttributes?: { verb?: string; resource?: string; namespace?: string } } };
        webhookUsers.push(sar.spec.user ?? '');
        const r = sar.spec.resourceAttributes;
        const allowed = r?.resource === 'configmaps' && r.namespace === 'default' && ['get', 'list'].includes(r.verb ?? '');
        return { status: 200, json: { apiVersion: sar.apiVersion, kind: 'SubjectAccessReview', status: { allowed } } };
      });
      servers.push(webhook.server);

      sharedEtcd = await startSharedEtcd(suite.client, 'shared-etcd');
      await installControlPlaneProvider(suite.cluster, suite.client);
      await createReadyDataStore(suite.client, 'shared-etcd', sharedEtcd);
      namespace = await createNamespace(suite.client, 'authn');
      const kubeconfig = [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        '- name: policy',
        '  cluster:',
        `    server: ${webhook.url}/authorize`,
        `    certificate-authority-data: ${Buffer.from(issuerCA).toString('base64')}`,
        'users:',
        '- name: apiserver',
        '  user: {}',
        'contexts:',
        '- name: policy',
        '  context: { cluster: policy, user: apiserver }',
        'current-context: policy',
        '',
      ].join('\n');
      await suite.client.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'policy-webhook', namespace }, stringData: { kubeconfig } } as KubeObject);
    });

    after(async function () {
      this.timeout(120_000);
      // The tenant apiserver keeps its connections to the issuer and the webhook alive: close them with the servers,
      // or they outlive the suite.
      await Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((resolve) => {
              s.close(() => { resolve(); });
              s.closeAllConnections();
            }),
        ),
      );
      if (sharedEtcd) await sharedEtcd.stop();
    });

    const authentication = (url = issuerURL) => ({
      jwt: [
        {
          issuer: { url, certificateAuthority: issuerCA, audiences: [AUDIENCE] },
          claimValidationRules: [{ expression: "claims.tenant == 'acme'", message: 'the token is for another tenant' }],
          claimMappings: { username: { claim: 'sub', prefix: 'oidc:' }, groups: { claim: 'groups', prefix: 'oidc:' } },
        },
      ],
    });
    const authorization = {
      authorizers: [
        { type: 'Node', name: 'node' },
        {
          type: 'Webhook',
          name: 'policy',
          webhook: {
            timeout: '3s',
            subjectAccessReviewVersion: 'v1',
            matchConditionSubjectAccessReviewVersion: 'v1',
            failurePolicy: 'NoOpinion',
            connectionInfo: { type: 'KubeConfigFile', kubeConfigSecretRef: { name: 'policy-webhook' } },
            // Only OIDC users are sent to the webhook: the operator's and kubeadm's own requests never are.
            matchConditions: [{ expression: "request.user.startsWith('oidc:')" }],
          },
        },
        { type: 'RBAC', name: 'rbac' },
      ],
    };

    describe('a tenant trusting the test issuer and asking the webhook', () => {
      let endpoint = '';
      let tenantCA = '';
      const call = (method: string, path: string, bearer: string, body?: object) => tenantRequest(endpoint, tenantCA, method, path, bearer, body);
      const review = (bearer: string) =>
        call('POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', bearer, { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' });

      before(async function () {
        this.timeout(5 * 60_000);
        const started = Date.now();
        await suite.client.create(
          tenant('oidc', (spec) => Object.assign(spec.kubernetes as object, { authentication: authentication(), authorization })),
        );
        const ready = await waitFor(
          async () => {
            const t = await get('oidc');
            if (t?.status?.kubernetesResources?.version?.status !== 'Ready') throw new Error(JSON.stringify(t?.status?.conditions ?? []));
            return t;
          },
          { timeoutMs: 4 * 60_000, intervalMs: 500, what: 'TenantControlPlane oidc to be Ready' },
        );
        console.log(`    TenantControlPlane with structured auth Ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
        endpoint = ready.status?.controlPlaneEndpoint ?? '';
        const ca = await suite.client.get<Secret>({ apiVersion: 'v1', kind: 'Secret' }, { namespace, name: 'oidc-ca' }, { direct: true });
        tenantCA = Buffer.from(ca?.data?.['ca.crt'] ?? '', 'base64').toString();
      });

      it('starts the apiserver with --authentication-config and --authorization-config instead of --authorization-mode', async () => {
        const d = await suite.client.get<KubeObject & { spec?: { template?: { spec?: { containers?: { name: string; args?: string[] }[] } } } }>(
          { apiVersion: 'apps/v1', kind: 'Deployment' },
          { namespace, name: 'oidc' },
          { direct: true },
        );
        const args = d?.spec?.template?.spec?.containers?.find((c) => c.name === 'kube-apiserver')?.args ?? [];
        expect(args).to.include('--authentication-config=/etc/kubernetes/apiserver-auth/authentication-configuration.json');
        expect(args).to.include('--authorization-config=/etc/kubernetes/apiserver-auth/authorization-configuration.json');
        expect(args.some((a) => a.startsWith('--authorization-mode'))).to.equal(false);
      });

      it('runs a hardened pod the management apiserver admitted: non-root, read-only root, no capabilities, RuntimeDefault seccomp', async () => {
        type Pod = KubeObject & {
          spec?: {
            hostUsers?: boolean;
            securityContext?: { fsGroup?: number };
            containers?: { name: string; securityContext?: Record<string, unknown>; volumeMounts?: { name: string; readOnly?: boolean; recursiveReadOnly?: string }[] }[];
          };
        };
        const pods = await suite.client.list<Pod>({ apiVersion: 'v1', kind: 'Pod' }, { namespace, labelSelector: 'kamaji.clastix.io/name=oidc', direct: true });
        const api = pods[0]?.spec?.containers?.find((c) => c.name === 'kube-apiserver');
        expect(api?.securityContext).to.deep.include({ runAsNonRoot: true, runAsUser: 65532, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
        expect(api?.securityContext?.capabilities).to.deep.equal({ drop: ['ALL'] });
        expect(api?.securityContext?.seccompProfile).to.deep.equal({ type: 'RuntimeDefault' });
        expect(api?.volumeMounts?.find((m) => m.name === 'pki')?.recursiveReadOnly).to.equal('IfPossible');
        expect(pods[0]?.spec?.securityContext?.fsGroup).to.equal(65532);
        // The operator is not told whether the nodes support user namespaces yet, so it leaves hostUsers alone.
        expect(pods[0]?.spec?.hostUsers).to.equal(undefined);
      });

      it('builds a pod with hostUsers: false, when told the nodes support it, that the management apiserver admits', async () => {
        const tcp = await get('oidc');
        if (!tcp) throw new Error('TenantControlPlane oidc is gone');
        const names = ['ca', 'apiServer', 'apiServerKubeletClient', 'frontProxyCA', 'frontProxyClient', 'serviceAccount', 'dataStoreCertificate', 'controllerManagerKubeconfig', 'schedulerKubeconfig'];
        const d = buildDeployment(tcp, {
          secrets: Object.fromEntries(names.map((n) => [n, `oidc-${n.toLowerCase()}`])) as unknown as Parameters<typeof buildDeployment>[1]['secrets'],
          secretsChecksum: 'x',
          etcdServers: ['https://127.0.0.1:2379'],
          etcdPrefix: '/x/',
          advertiseAddress: undefined,
          userNamespaces: true,
        });
        const template = d.spec?.template;
        expect(template?.spec?.hostUsers).to.equal(false);
        // Dry run: validated and admitted by the real apiserver, never run (the local pod runner has no user namespaces).
        const admitted = await suite.client.create<KubeObject & { spec?: { hostUsers?: boolean } }>(
          { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'userns-probe', namespace }, spec: template?.spec },
          { dryRun: true },
        );
        // Kept, not dropped: the apiserver's UserNamespacesSupport gate is on, so the field reaches the kubelet.
        expect(admitted.spec?.hostUsers).to.equal(false);
      });

      it('accepts a JWT signed by the issuer and maps its claims to the prefixed username and groups', async () => {
        const res = await review(token({}));
        expect(res.status, JSON.stringify(res.json)).to.equal(201);
        const user = (res.json.status as { userInfo: { username: string; groups: string[] } }).userInfo;
        expect(user.username).to.equal('oidc:alice');
        expect(user.groups).to.include.members(['oidc:dev', 'oidc:ops', 'system:authenticated']);
      });

      it('rejects a JWT signed by another key with 401', async () => {
        const res = await review(token({}, stranger.privateKey));
        expect(res.status, JSON.stringify(res.json)).to.equal(401);
      });

      it('rejects a JWT that fails the claim validation rule with 401', async () => {
        const res = await review(token({ tenant: 'other' }));
        expect(res.status, JSON.stringify(res.json)).to.equal(401);
      });

      it('lets the webhook decide for OIDC users only: it allows their ConfigMap reads, RBAC still forbids the rest', async () => {
        webhookUsers.length = 0;
        const bearer = token({ sub: 'bob' });
        const allowed = await call('GET', '/api/v1/namespaces/default/configmaps', bearer);
        expect(allowed.status, JSON.stringify(allowed.json)).to.equal(200);
        const forbidden = await call('GET', '/api/v1/namespaces/default/secrets', bearer);
        expect(forbidden.status, JSON.stringify(forbidden.json)).to.equal(403);
        expect(webhookUsers).to.include('oidc:bob');
        // The tenant's controllers and kubelet-less system traffic ran meanwhile; none of it matched the condition.
        expect(webhookUsers.filter((u) => !u.startsWith('oidc:'))).to.deep.equal([]);
      });
    });

    describe('admission', () => {
      const cases = [
        {
          name: '--oidc-* flags next to the structured authentication',
          mutate: (spec: Record<string, unknown>) => {
            Object.assign(spec.kubernetes as object, { authentication: authentication() });
            (spec.controlPlane as { deployment: Record<string, unknown> }).deployment.extraArgs = { apiServer: ['--oidc-issuer-url=https://legacy.example'] };
          },
          message: /spec\.controlPlane\.deployment\.extraArgs\.apiServer cannot set --oidc-\* or --authentication-config together with the structured authentication/,
        },
        {
          name: '--authorization-mode next to the structured authorization',
          mutate: (spec: Record<string, unknown>) => {
            Object.assign(spec.kubernetes as object, { authorization });
            (spec.controlPlane as { deployment: Record<string, unknown> }).deployment.extraArgs = { apiServer: ['--authorization-mode=RBAC'] };
          },
          message: /spec\.controlPlane\.deployment\.extraArgs\.apiServer cannot set --authorization-mode/,
        },
        {
          name: 'authorizers without Node',
          mutate: (spec: Record<string, unknown>) => Object.assign(spec.kubernetes as object, { authorization: { authorizers: [{ type: 'RBAC', name: 'rbac' }] } }),
          message: /spec\.kubernetes\.authorization\.authorizers must list Node and RBAC exactly once each/,
        },
        {
          name: 'an http issuer',
          mutate: (spec: Record<string, unknown>) => Object.assign(spec.kubernetes as object, { authentication: authentication('http://issuer.example') }),
          message: /spec\.kubernetes\.authentication\.jwt\[\]\.issuer\.url must be an https:\/\/ URL/,
        },
      ];
      for (const tc of cases) {
        it(`refuses ${tc.name}, naming the field`, async () => {
          const err = await rejection(suite.client.create(tenant('refused', tc.mutate), { dryRun: true }), tc.name);
          expect(err.message).to.match(tc.message);
        });
      }

      it('refuses the same contradiction on a KamajiControlPlane apiServer', async () => {
        const kcp = {
          apiVersion: 'controlplane.cluster.x-k8s.io/v1alpha2',
          kind: 'KamajiControlPlane',
          metadata: { name: 'refused', namespace },
          spec: {
            dataStoreName: 'shared-etcd',
            version: VERSION,
            replicas: 1,
            network: { serviceType: 'LoadBalancer' },
            apiServer: { authorization, extraArgs: ['--authorization-webhook-config-file=/etc/webhook.conf'] },
          },
        } as KubeObject;
        const err = await rejection(suite.client.create(kcp, { dryRun: true }), 'a KamajiControlPlane with --authorization-webhook-*');
        expect(err.message).to.match(/spec\.apiServer\.extraArgs cannot set --authorization-mode, --authorization-webhook-\*/);
      });
    });
  });
});
