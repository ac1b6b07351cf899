import { expect } from 'chai';
import type { Cluster } from '../../../lib/apis/cluster-api.js';
import type { KamajiControlPlane } from '../api/kamajicontrolplane.js';
import { buildTenantControlPlane, filterAdmissionControllers } from './tenantcontrolplane.js';

function kcp(spec: Partial<KamajiControlPlane['spec']> = {}, meta: Partial<KamajiControlPlane['metadata']> = {}): KamajiControlPlane {
  return {
    apiVersion: 'controlplane.cluster.x-k8s.io/v1alpha2',
    kind: 'KamajiControlPlane',
    metadata: { name: 'acme', namespace: 'tenants', uid: 'kcp-uid', ...meta },
    spec: { version: 'v1.37.1', replicas: 2, ...spec },
  };
}

const cluster = (clusterNetwork: NonNullable<Cluster['spec']>['clusterNetwork'] = {}): Cluster => ({
  apiVersion: 'cluster.x-k8s.io/v1beta2',
  kind: 'Cluster',
  metadata: { name: 'acme', namespace: 'tenants' },
  spec: { clusterNetwork },
});

describe('kamajicontrolplane/tenantcontrolplane', () => {
  it('names the TenantControlPlane after the KamajiControlPlane and makes the KamajiControlPlane its controller', () => {
    const { tcp } = buildTenantControlPlane(kcp(), cluster(), 'v1.37.1');
    expect(tcp.metadata).to.include({ name: 'acme', namespace: 'tenants' });
    expect(tcp.metadata.ownerReferences).to.deep.equal([
      { apiVersion: 'controlplane.cluster.x-k8s.io/v1alpha2', kind: 'KamajiControlPlane', name: 'acme', uid: 'kcp-uid', controller: true, blockOwnerDeletion: true },
    ]);
    expect(tcp.spec.kubernetes).to.deep.equal({ version: 'v1.37.1', kubelet: {} });
    expect(tcp.spec.controlPlane).to.deep.equal({ deployment: { replicas: 2 }, service: { serviceType: 'LoadBalancer' } });
    expect(tcp.spec).to.not.have.property('addons');
  });

  it('maps the Cluster networking: API server port, pod and Service CIDRs, service domain', () => {
    const { tcp } = buildTenantControlPlane(
      kcp(),
      cluster({ apiServerPort: 7443, pods: { cidrBlocks: ['10.240.0.0/16'] }, services: { cidrBlocks: ['10.100.0.0/16'] }, serviceDomain: 'acme.local' }),
      'v1.37.1',
    );
    expect(tcp.spec.networkProfile).to.deep.equal({ port: 7443, podCidr: '10.240.0.0/16', serviceCidr: '10.100.0.0/16', clusterDomain: 'acme.local' });
  });

  it('carries dual-stack CIDR blocks into podCidrs and serviceCidrs', () => {
    const { tcp } = buildTenantControlPlane(kcp(), cluster({ pods: { cidrBlocks: ['10.240.0.0/16', 'fd00:1::/56'] }, services: { cidrBlocks: ['10.100.0.0/16', 'fd00:2::/112'] } }), 'v1.37.1');
    expect(tcp.spec.networkProfile?.podCidrs).to.deep.equal(['10.240.0.0/16', 'fd00:1::/56']);
    expect(tcp.spec.networkProfile?.serviceCidrs).to.deep.equal(['10.100.0.0/16', 'fd00:2::/112']);
  });

  it('maps every KamajiControlPlane field to its TenantControlPlane equivalent', () => {
    const mount = { name: 'audit', mountPath: '/etc/audit' };
    const res = { requests: { cpu: '100m' } };
    const probe = { failureThreshold: 5 };
    const { tcp } = buildTenantControlPlane(
      kcp(
        {
          dataStoreName: 'shared',
          dataStoreSchema: 'acme_schema',
          dataStoreUsername: 'acme_user',
          registry: 'mirror.example.com',
          admissionControllers: ['NamespaceLifecycle', 'ResourceQuota'],
          addons: { coreDNS: { imageTag: 'v1.12.0', dnsServiceIPs: ['10.96.0.20'] }, kubeProxy: {}, konnectivity: { server: { port: 8132 } } },
          kubelet: { preferredAddressTypes: ['InternalIP'], cgroupfs: 'systemd' },
          apiServer: { extraArgs: ['--v=2'], resources: res, extraVolumeMounts: [mount], containerImageName: 'my-apiserver', probes: { liveness: probe } },
          controllerManager: { extraArgs: ['--v=3'], containerImageName: 'my-kcm' },
          scheduler: { extraArgs: ['--v=4'], resources: res, containerImageName: 'my-sched' },
          network: {
            serviceType: 'NodePort',
            serviceAddress: '192.0.2.10',
            advertiseAddress: '192.0.2.11',
            certSANs: ['api.acme.example'],
            dnsServiceIPs: ['10.96.0.10'],
            serviceLabels: { tier: 'cp' },
            serviceAnnotations: { note: 'x' },
            additionalServicePorts: [{ name: 'extra', port: 9000, targetPort: 9000 }],
          },
          deployment: { nodeSelector: { role: 'cp' }, runtimeClassName: 'gvisor', serviceAccountName: 'cp', tolerations: [{ key: 'k', operator: 'Exists' }], extraVolumes: [{ name: 'audit' }], probes: { readiness: probe } },
        },
        {
          labels: { team: 'a' },
          annotations: {
            'kamaji.clastix.io/kubeconfig-secret-key': 'super-admin.svc',
            'kubectl.kubernetes.io/last-applied-configuration': '{}',
            // The KamajiControlPlane's own hold on a clusterctl move: copied, it would block the move for good.
            'clusterctl.cluster.x-k8s.io/block-move': '',
          },
        },
      ),
      cluster(),
      'v1.37.1',
    );
    expect(tcp.metadata.labels).to.deep.equal({ team: 'a' });
    expect(tcp.metadata.annotations).to.deep.equal({ 'kamaji.clastix.io/kubeconfig-secret-key': 'super-admin.svc' });
    expect(tcp.spec).to.include({ dataStore: 'shared', dataStoreSchema: 'acme_schema', dataStoreUsername: 'acme_user' });
    expect(tcp.spec.kubernetes).to.deep.equal({
      version: 'v1.37.1',
      kubelet: { preferredAddressTypes: ['InternalIP'], cgroupfs: 'systemd' },
      admissionControllers: ['NamespaceLifecycle', 'ResourceQuota'],
    });
    expect(tcp.spec.addons).to.deep.equal({ coreDNS: { imageTag: 'v1.12.0' }, kubeProxy: {}, konnectivity: { server: { port: 8132 } } });
    expect(tcp.spec.controlPlane.deployment).to.deep.equal({
      replicas: 2,
      registrySettings: { registry: 'mirror.example.com', apiServerImage: 'my-apiserver', controllerManagerImage: 'my-kcm', schedulerImage: 'my-sched' },
      extraArgs: { apiServer: ['--v=2'], controllerManager: ['--v=3'], scheduler: ['--v=4'] },
      resources: { apiServer: res, scheduler: res },
      additionalVolumeMounts: { apiServer: [mount] },
      probes: { readiness: probe, apiServer: { liveness: probe } },
      nodeSelector: { role: 'cp' },
      runtimeClassName: 'gvisor',
      serviceAccountName: 'cp',
      tolerations: [{ key: 'k', operator: 'Exists' }],
      additionalVolumes: [{ name: 'audit' }],
    });
    expect(tcp.spec.controlPlane.service).to.deep.equal({
      serviceType: 'NodePort',
      additionalMetadata: { labels: { tier: 'cp' }, annotations: { note: 'x' } },
      additionalPorts: [{ name: 'extra', port: 9000, targetPort: 9000 }],
    });
    // addons.coreDNS.dnsServiceIPs wins over network.dnsServiceIPs.
    expect(tcp.spec.networkProfile).to.deep.equal({ dnsServiceIPs: ['10.96.0.20'], address: '192.0.2.10', advertiseAddress: '192.0.2.11', certSANs: ['api.acme.example'] });
  });

  it('carries the structured authentication and authorization and the pod hardening opt-outs', () => {
    const authentication = { jwt: [{ issuer: { url: 'https://issuer.example.com', audiences: ['acme'] }, claimMappings: { username: { claim: 'sub', prefix: '' } } }] };
    const authorization = { authorizers: [{ type: 'Node', name: 'node' }, { type: 'RBAC', name: 'rbac' }] };
    const hardening = { readOnlyRootFilesystem: false };
    const { tcp } = buildTenantControlPlane(
      kcp({ apiServer: { authentication, authorization }, deployment: { hardening } } as unknown as Partial<KamajiControlPlane['spec']>),
      cluster(),
      'v1.37.1',
    );
    expect(tcp.spec.kubernetes).to.deep.include({ authentication, authorization });
    expect(tcp.spec.controlPlane.deployment?.hardening).to.deep.equal(hardening);
  });

  it('exposes through an Ingress and puts its hostname (without a port) in the certificate SANs', () => {
    const { tcp } = buildTenantControlPlane(kcp({ network: { serviceType: 'ClusterIP', ingress: { className: 'nginx', hostname: 'acme.example.com', extraLabels: { a: 'b' } } } }), cluster(), 'v1.37.1');
    expect(tcp.spec.controlPlane.ingress).to.deep.equal({ ingressClassName: 'nginx', hostname: 'acme.example.com', additionalMetadata: { labels: { a: 'b' } } });
    expect(tcp.spec.networkProfile?.certSANs).to.deep.equal(['acme.example.com']);
  });

  it('exposes through a Gateway as a parentRef with section and port', () => {
    const { tcp } = buildTenantControlPlane(
      kcp({ network: { serviceType: 'ClusterIP', certSANs: ['x.example.com'], gateway: { name: 'gw', namespace: 'infra', hostname: 'acme.example.com', sectionName: 'tls', port: 443 } } }),
      cluster(),
      'v1.37.1',
    );
    expect(tcp.spec.controlPlane.gateway).to.deep.equal({ hostname: 'acme.example.com', parentRefs: [{ name: 'gw', namespace: 'infra', sectionName: 'tls', port: 443 }] });
    expect(tcp.spec.networkProfile?.certSANs).to.deep.equal(['x.example.com', 'acme.example.com']);
  });

  it('keeps replicas 0 (sleep) rather than dropping it as empty', () => {
    const { tcp } = buildTenantControlPlane(kcp({ replicas: 0 }), cluster(), 'v1.37.1');
    expect(tcp.spec.controlPlane.deployment?.replicas).to.equal(0);
  });

  it('drops the admission plugins kube-apiserver removed and reports them', () => {
    const { tcp, droppedAdmissionControllers } = buildTenantControlPlane(
      kcp({ admissionControllers: ['PodSecurityPolicy', 'NamespaceLifecycle', 'SecurityContextDeny', 'PersistentVolumeLabel', 'LimitRanger'] }),
      cluster(),
      'v1.37.1',
    );
    expect(tcp.spec.kubernetes.admissionControllers).to.deep.equal(['NamespaceLifecycle', 'LimitRanger']);
    expect(droppedAdmissionControllers).to.deep.equal(['PodSecurityPolicy', 'SecurityContextDeny', 'PersistentVolumeLabel']);
  });

  const filterCases: { name: string; in: string[] | undefined; kept: string[] | undefined; dropped: string[] }[] = [
    { name: 'leaves the default to the TenantControlPlane when unset', in: undefined, kept: undefined, dropped: [] },
    { name: 'keeps a list without removed plugins as is', in: ['ResourceQuota'], kept: ['ResourceQuota'], dropped: [] },
    { name: 'falls back to the default list when only removed plugins were listed', in: ['PodSecurityPolicy'], kept: undefined, dropped: ['PodSecurityPolicy'] },
  ];
  for (const tc of filterCases) {
    it(`admission filter ${tc.name}`, () => {
      const r = filterAdmissionControllers(tc.in);
      expect(r.kept).to.deep.equal(tc.kept);
      expect(r.dropped).to.deep.equal(tc.dropped);
    });
  }
});
