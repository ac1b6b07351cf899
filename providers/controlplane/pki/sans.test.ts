import { expect } from 'chai';
import type { TenantControlPlane } from '../api/index.js';
import { apiServerIdentityOf, apiServerSANs } from './sans.js';

function tcp(networkProfile: NonNullable<TenantControlPlane['spec']['networkProfile']>): TenantControlPlane {
  return {
    metadata: { name: 'acme', namespace: 'tenants' },
    spec: { controlPlane: { service: { serviceType: 'LoadBalancer' } }, kubernetes: { version: 'v1.37.2', kubelet: {} }, networkProfile },
  };
}

describe('controlplane/pki apiServerSANs', () => {
  const base = ['127.0.0.1', 'localhost', 'acme', 'acme.tenants', 'acme.tenants.svc', 'acme.tenants.svc.cluster.local', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc'];
  const cases: { name: string; np: NonNullable<TenantControlPlane['spec']['networkProfile']>; endpoints: string[]; want: string[] }[] = [
    {
      name: 'loopback, Service DNS names, in-tenant kubernetes names and the first Service IP by default',
      np: {},
      endpoints: [],
      want: [...base, 'kubernetes.default.svc.cluster.local', '10.95.0.1'],
    },
    {
      name: 'the cluster domain in the fully qualified names',
      np: { clusterDomain: 'tenant.example' },
      endpoints: [],
      want: ['127.0.0.1', 'localhost', 'acme', 'acme.tenants', 'acme.tenants.svc', 'acme.tenants.svc.tenant.example', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.tenant.example', '10.95.0.1'],
    },
    {
      name: 'one kubernetes Service IP per family in dual stack',
      np: { serviceCidrs: ['10.100.0.0/16', 'fd00::/120'] },
      endpoints: [],
      want: [...base, 'kubernetes.default.svc.cluster.local', '10.100.0.1', 'fd00::1'],
    },
    {
      name: 'the address, the advertise address, the observed endpoint and certSANs, without duplicates',
      np: { address: '203.0.113.10', advertiseAddress: '192.0.2.5', certSANs: ['api.acme.example', '203.0.113.10', 'API.acme.example'] },
      endpoints: ['203.0.113.10', '10.95.0.1'],
      want: [...base, 'kubernetes.default.svc.cluster.local', '10.95.0.1', '203.0.113.10', '192.0.2.5', 'api.acme.example'],
    },
    {
      // An empty serviceCidr means the default range, as the Deployment's --service-cluster-ip-range reads it.
      name: 'the default Service range when serviceCidr is empty',
      np: { serviceCidr: '' },
      endpoints: [],
      want: [...base, 'kubernetes.default.svc.cluster.local', '10.95.0.1'],
    },
    {
      name: 'IPv6 endpoints written canonically',
      np: { certSANs: ['2001:DB8:0:0:0:0:0:1'] },
      endpoints: ['2001:db8::1'],
      want: [...base, 'kubernetes.default.svc.cluster.local', '10.95.0.1', '2001:db8::1'],
    },
  ];
  for (const tc of cases) {
    it(tc.name, () => expect(apiServerSANs(apiServerIdentityOf(tcp(tc.np), tc.endpoints))).to.deep.equal(tc.want));
  }
  for (const route of ['ingress', 'gateway'] as const) {
    it(`the ${route} hostname, which TLS-passthrough clients verify`, () => {
      const t = tcp({ certSANs: ['api.acme.example'] });
      t.spec.controlPlane[route] = { hostname: 'acme.routes.example' };
      expect(apiServerSANs(apiServerIdentityOf(t, [])).slice(-2)).to.deep.equal(['api.acme.example', 'acme.routes.example']);
    });
  }
});
