// controlPlane.ingress and controlPlane.gateway on the local management cluster: with the operator running as
// its release manifests install it and tenants on the shared etcd, a TenantControlPlane asking for an Ingress
// gets one shaped like Kamaji's (the hostname routed to the <tcp> Service's apiserver port, the user's class
// and metadata) and a serving certificate naming that hostname, and loses it when the spec drops it; one asking
// for a Gateway API TLSRoute is told by a condition and an Event that the kind is missing, then gets the route
// once the upstream Gateway API CRDs (sigs.k8s.io/gateway-api, experimental channel) are installed.
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { expect } from 'chai';
import type { KubeObject } from '../../../lib/kube/object.js';
import type { TenantControlPlane } from '../../../providers/controlplane/api/index.js';
import { toolArtifact } from '../../../localcloud/binaries.js';
import { upstreamVersion } from '../../../localcloud/versions.js';
import { waitFor } from '../../../localcloud/wait.js';
import { clusterSuite, createNamespace } from '../cluster/support.js';
import { installControlPlaneProvider } from '../../../localcloud/install-controlplane.js';
import { createReadyDataStore, startSharedEtcd, type SharedEtcd } from '../../../localcloud/etcd-datastore.js';

const TCP = { apiVersion: 'kamaji.clastix.io/v1alpha1', kind: 'TenantControlPlane' };
const INGRESS = { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress' };
const TLS_ROUTE = { apiVersion: 'gateway.networking.k8s.io/v1alpha2', kind: 'TLSRoute' };
const VERSION = upstreamVersion('KUBERNETES_VERSION');
const EXPOSED = 'ExposedByRoute';

type TCPObject = TenantControlPlane & KubeObject;

interface Ingress extends KubeObject {
  spec?: {
    ingressClassName?: string;
    rules?: { host?: string; http?: { paths?: { path?: string; pathType?: string; backend?: { service?: { name?: string; port?: { number?: number } } } }[] } }[];
  };
}

interface TLSRoute extends KubeObject {
  spec?: {
    parentRefs?: { group?: string; kind?: string; name?: string; namespace?: string; sectionName?: string }[];
    hostnames?: string[];
    rules?: { backendRefs?: { group?: string; kind?: string; name?: string; port?: number }[] }[];
  };
}

function tenantControlPlane(namespace: string, name: string, controlPlane: Record<string, unknown>): TCPObject {
  return {
    apiVersion: 'kamaji.clastix.io/v1alpha1',
    kind: 'TenantControlPlane',
    metadata: { name, namespace },
    spec: {
      dataStore: 'shared-etcd',
      controlPlane: { deployment: { replicas: 1 }, service: { serviceType: 'ClusterIP' }, ...controlPlane },
      kubernetes: { version: VERSION, kubelet: {} },
      networkProfile: { port: 6443 },
    },
  } as unknown as TCPObject;
}

function describeTCP(t: TCPObject | undefined): string {
  if (!t) return 'not found';
  const conditions = (t.status?.conditions ?? []).map((c) => `${c.type}=${c.status}(${c.reason}: ${c.message})`).join('; ');
  return `version=${JSON.stringify(t.status?.kubernetesResources?.version)} ${conditions}`;
}

const exposedCondition = (t: TCPObject | undefined) => t?.status?.conditions?.find((c) => c.type === EXPOSED);

describe('TenantControlPlane exposure through an Ingress or a Gateway API TLSRoute', function () {
  this.timeout(10 * 60_000);
  const suite = clusterSuite();
  // Nested, so this after hook (the etcd pod's teardown) runs while the cluster is still up.
  describe('with the operator and a shared etcd', () => {
    let sharedEtcd: SharedEtcd | undefined;
    let namespace: string;

    const get = (name: string) => suite.client.get<TCPObject>(TCP, { namespace, name }, { direct: true });
    const waitForTCP = (name: string, what: string, check: (t: TCPObject | undefined) => boolean) =>
      waitFor(
        async () => {
          const t = await get(name);
          if (!t || !check(t)) throw new Error(describeTCP(t));
          return t;
        },
        { timeoutMs: 4 * 60_000, intervalMs: 500, what: `TenantControlPlane ${name} ${what}` },
      );
    const ready = (t: TCPObject | undefined) => t?.status?.kubernetesResources?.version?.status === 'Ready';

    /** The DNS names of the serving certificate the tenant apiserver presents. */
    async function servingCertDNSNames(t: TCPObject): Promise<string[]> {
      const name = t.status?.certificates?.apiServer?.secretName ?? '';
      const secret = await suite.client.get<KubeObject & { data?: Record<string, string> }>({ apiVersion: 'v1', kind: 'Secret' }, { namespace, name }, { direct: true });
      const pem = Buffer.from(secret?.data?.['apiserver.crt'] ?? '', 'base64').toString();
      const san = new X509Certificate(pem).subjectAltName ?? '';
      return san
        .split(', ')
        .filter((s) => s.startsWith('DNS:'))
        .map((s) => s.slice('DNS:'.length));
    }

    before(async function () {
      this.timeout(5 * 60_000);
      const etcd = await startSharedEtcd(suite.client, 'shared-etcd');
      sharedEtcd = etcd;
      await installControlPlaneProvider(suite.cluster, suite.client);
      await createReadyDataStore(suite.client, 'shared-etcd', etcd);
      namespace = await createNamespace(suite.client, 'exposed');
      // Both tenants start together: bringing up their apiservers is most of this suite's time.
      await suite.client.create(
        tenantControlPlane(namespace, 'web', {
          ingress: {
            hostname: 'web.tenants.example',
            ingressClassName: 'haproxy',
            additionalMetadata: { labels: { team: 'web' }, annotations: { 'haproxy.org/ssl-passthrough': 'true' } },
          },
        }),
      );
      await suite.client.create(
        tenantControlPlane(namespace, 'gw', {
          gateway: {
            hostname: 'gw.tenants.example',
            parentRefs: [{ name: 'tenants', namespace: 'gateway-system', sectionName: 'kube-apiserver' }],
            additionalMetadata: { labels: { team: 'gw' } },
          },
        }),
      );
    });

    after(async function () {
      this.timeout(120_000);
      if (sharedEtcd) await sharedEtcd.stop();
    });

    it('creates an Ingress shaped like Kamaji\'s for controlPlane.ingress, names its hostname in the serving certificate, and deletes it when the spec drops it', async () => {
      const tcp = await waitForTCP('web', 'Ready and exposed through its Ingress', (t) => ready(t) && exposedCondition(t)?.status === 'True');
      expect(exposedCondition(tcp)?.reason).to.equal('IngressCreated');
      const ingress = await suite.client.get<Ingress>(INGRESS, { namespace, name: 'web' }, { direct: true });
      expect(ingress, 'Ingress web').to.not.equal(undefined);
      expect(ingress?.spec?.ingressClassName).to.equal('haproxy');
      expect(ingress?.spec?.rules).to.deep.equal([
        { host: 'web.tenants.example', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 6443 } } } }] } },
      ]);
      expect(ingress?.metadata.labels).to.include({ team: 'web' });
      expect(ingress?.metadata.annotations).to.include({ 'haproxy.org/ssl-passthrough': 'true' });
      const owner = ingress?.metadata.ownerReferences?.find((r) => r.controller === true);
      expect(owner).to.include({ kind: 'TenantControlPlane', name: 'web', uid: tcp.metadata.uid });
      // The backend is the Service the operator made, on the port the apiserver serves.
      const service = await suite.client.get<KubeObject & { spec?: { ports?: { port: number }[] } }>({ apiVersion: 'v1', kind: 'Service' }, { namespace, name: 'web' }, { direct: true });
      expect(service?.spec?.ports?.map((p) => p.port)).to.include(6443);
      // TLS is passed through to the apiserver, so a client through the Ingress verifies this hostname.
      expect(await servingCertDNSNames(tcp)).to.include('web.tenants.example');

      await suite.client.mergePatch(TCP, { namespace, name: 'web' }, { spec: { controlPlane: { ingress: null } } });
      await waitFor(
        async () => ((await suite.client.get(INGRESS, { namespace, name: 'web' }, { direct: true })) === undefined ? true : undefined),
        { timeoutMs: 60_000, what: 'Ingress web to be deleted after controlPlane.ingress was removed' },
      );
      const after = await waitForTCP('web', `without the ${EXPOSED} condition`, (t) => exposedCondition(t) === undefined);
      expect(ready(after)).to.equal(true);
    });

    it('reports a missing TLSRoute kind on the TenantControlPlane, then creates the TLSRoute once the Gateway API CRDs are installed', async () => {
      const tcp = await waitForTCP('gw', 'Ready and told the TLSRoute kind is missing', (t) => ready(t) && exposedCondition(t) !== undefined);
      expect(exposedCondition(tcp)).to.include({ status: 'False', reason: 'RouteKindNotInstalled' });
      expect(exposedCondition(tcp)?.message).to.match(/TLSRoute .*not served.*install its CRDs/);
      const events = await suite.client.list<KubeObject & { reason?: string; type?: string; regarding?: { name?: string } }>({ apiVersion: 'events.k8s.io/v1', kind: 'Event' }, { namespace, direct: true });
      expect(events.some((e) => e.regarding?.name === 'gw' && e.reason === 'RouteKindNotInstalled' && e.type === 'Warning'), 'a Warning Event RouteKindNotInstalled').to.equal(true);
      expect(await servingCertDNSNames(tcp)).to.include('gw.tenants.example');

      // No touch of the TenantControlPlane: the operator sees the kind become served and reconciles it again.
      await suite.cluster.plane.applyManifests(await readFile(toolArtifact('gateway-api-crds', 'GATEWAY_API_VERSION', 'crds.yaml'), 'utf8'));
      const exposed = await waitForTCP('gw', 'exposed through its TLSRoute', (t) => exposedCondition(t)?.status === 'True');
      expect(exposedCondition(exposed)?.reason).to.equal('TLSRouteCreated');
      const route = await suite.client.get<TLSRoute>(TLS_ROUTE, { namespace, name: 'gw' }, { direct: true });
      expect(route, 'TLSRoute gw').to.not.equal(undefined);
      // The API server defaults group and kind of each reference; ours are the spec's values otherwise.
      expect(route?.spec?.parentRefs).to.deep.equal([{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'tenants', namespace: 'gateway-system', sectionName: 'kube-apiserver' }]);
      expect(route?.spec?.hostnames).to.deep.equal(['gw.tenants.example']);
      const backends = route?.spec?.rules?.flatMap((r) => r.backendRefs ?? []) ?? [];
      expect(backends.map((b) => ({ kind: b.kind ?? 'Service', name: b.name, port: b.port }))).to.deep.equal([{ kind: 'Service', name: 'gw', port: 6443 }]);
      expect(route?.metadata.labels).to.include({ team: 'gw' });
      expect(route?.metadata.ownerReferences?.find((r) => r.controller === true)).to.include({ kind: 'TenantControlPlane', name: 'gw', uid: tcp.metadata.uid });
    });
  });
});
