import { expect } from 'chai';
import { FakeApiServer } from '../testing/fake-apiserver.js';
import { rejection } from '../testing/rejection.js';
import { RestMapper } from './rest-mapper.js';

const ROUTE = { apiVersion: 'gateway.networking.k8s.io/v1alpha2', kind: 'TLSRoute' };
const ROUTES = { ...ROUTE, resource: 'tlsroutes', namespaced: true };

describe('lib/kube/rest-mapper', () => {
  describe('isServed', () => {
    it('says no while the group version is not served and yes once a CRD serves the kind, asking discovery again', async () => {
      const api = new FakeApiServer();
      const mapper = new RestMapper(api);
      expect(await mapper.isServed(ROUTE)).to.equal(false);
      api.serve(ROUTES);
      expect(await mapper.isServed(ROUTE)).to.equal(true);
    });

    it('says no for a kind its group version does not list', async () => {
      const api = new FakeApiServer().serve({ ...ROUTES, kind: 'TCPRoute', resource: 'tcproutes' });
      expect(await new RestMapper(api).isServed(ROUTE)).to.equal(false);
    });

    it('throws when discovery fails for another reason, so an unreachable apiserver is not taken for a missing CRD', async () => {
      const api = new FakeApiServer().serve(ROUTES);
      api.failNext((r) => r.path === '/apis/gateway.networking.k8s.io/v1alpha2', 503, 'ServiceUnavailable');
      const err = await rejection(new RestMapper(api).isServed(ROUTE), 'isServed during an outage');
      expect(err.message).to.match(/503|injected/);
    });
  });
});
