import { expect } from 'chai';
import { apiResourceListDocument, badRequest, conflict, decodeOptions, internalError, notFound, parseSubresourceRequest, rbacAttributesOf, RouteError, StatusError, subresourceRules } from './subresource-api.js';

const base = '/apis/subresources.kubevirt.io/v1/namespaces/ns';

describe('subresources.kubevirt.io request parsing', () => {
  const cases: { name: string; method: string; path: string; want: unknown }[] = [
    { name: 'VM start', method: 'PUT', path: `${base}/virtualmachines/vm1/start`, want: { kind: 'vm', namespace: 'ns', name: 'vm1', subresource: 'start' } },
    { name: 'VM addvolume with a query', method: 'PUT', path: `${base}/virtualmachines/vm1/addvolume?timeout=10s`, want: { kind: 'vm', namespace: 'ns', name: 'vm1', subresource: 'addvolume' } },
    { name: 'VMI console', method: 'GET', path: `${base}/virtualmachineinstances/vm1/console`, want: { kind: 'vmi', namespace: 'ns', name: 'vm1', subresource: 'console' } },
    { name: 'VMI guestosinfo', method: 'GET', path: `${base}/virtualmachineinstances/vm1/guestosinfo`, want: { kind: 'vmi', namespace: 'ns', name: 'vm1', subresource: 'guestosinfo' } },
    { name: 'port-forward defaults to tcp', method: 'GET', path: `${base}/virtualmachineinstances/vm1/portforward/8080`, want: { kind: 'portforward', namespace: 'ns', name: 'vm1', port: 8080, protocol: 'tcp' } },
    { name: 'port-forward over udp', method: 'GET', path: `${base}/virtualmachineinstances/vm1/portforward/53/udp`, want: { kind: 'portforward', namespace: 'ns', name: 'vm1', port: 53, protocol: 'udp' } },
    { name: 'group-version discovery', method: 'GET', path: '/apis/subresources.kubevirt.io/v1', want: { kind: 'discovery', document: 'groupVersion' } },
  ];
  for (const tc of cases) it(`parses ${tc.name}`, () => expect(parseSubresourceRequest(tc.method, tc.path)).to.deep.equal(tc.want));

  const refused: { name: string; method: string; path: string; code: number }[] = [
    { name: 'start with GET', method: 'GET', path: `${base}/virtualmachines/vm1/start`, code: 405 },
    { name: 'console with PUT', method: 'PUT', path: `${base}/virtualmachineinstances/vm1/console`, code: 405 },
    { name: 'an unknown subresource', method: 'PUT', path: `${base}/virtualmachines/vm1/explode`, code: 404 },
    { name: 'console on a VM', method: 'GET', path: `${base}/virtualmachines/vm1/console`, code: 404 },
    { name: 'a port out of range', method: 'GET', path: `${base}/virtualmachineinstances/vm1/portforward/70000`, code: 404 },
    { name: 'an unknown protocol', method: 'GET', path: `${base}/virtualmachineinstances/vm1/portforward/80/sctp`, code: 404 },
    { name: 'another group', method: 'GET', path: '/apis/kubevirt.io/v1/namespaces/ns/virtualmachines/vm1', code: 404 },
  ];
  for (const tc of refused) {
    it(`refuses ${tc.name} with ${String(tc.code)}`, () => {
      const err = (() => {
        try {
          parseSubresourceRequest(tc.method, tc.path);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(err).to.be.instanceOf(RouteError);
      expect((err as RouteError).code).to.equal(tc.code);
    });
  }

  it('names the RBAC resource and verb KubeVirt roles grant: update for actions, get for reads and streams', () => {
    expect(rbacAttributesOf({ kind: 'vm', namespace: 'ns', name: 'v', subresource: 'addvolume' })).to.deep.equal({ resource: 'virtualmachines/addvolume', verb: 'update' });
    expect(rbacAttributesOf({ kind: 'vmi', namespace: 'ns', name: 'v', subresource: 'removevolume' })).to.deep.equal({ resource: 'virtualmachineinstances/removevolume', verb: 'update' });
    expect(rbacAttributesOf({ kind: 'vmi', namespace: 'ns', name: 'v', subresource: 'console' })).to.deep.equal({ resource: 'virtualmachineinstances/console', verb: 'get' });
    expect(rbacAttributesOf({ kind: 'portforward', namespace: 'ns', name: 'v', port: 22, protocol: 'tcp' })).to.deep.equal({ resource: 'virtualmachineinstances/portforward', verb: 'get' });
  });

  it('lists every served subresource in discovery and in the cluster role rules', () => {
    const names = apiResourceListDocument().resources.map((r) => r.name);
    const ruled = subresourceRules().flatMap((r) => r.resources);
    expect(names).to.include.members(['virtualmachines/start', 'virtualmachines/migrate', 'virtualmachineinstances/console', 'virtualmachineinstances/portforward', 'virtualmachineinstances/filesystemlist']);
    expect([...ruled].sort()).to.deep.equal([...names].sort());
  });
});

describe('subresources.kubevirt.io error bodies', () => {
  it('words a conflict as the apiserver does, qualified with the kubevirt.io group', () => {
    expect(conflict('virtualmachine', 'vm1', 'VM is not running').body).to.deep.equal({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'Operation cannot be fulfilled on virtualmachine.kubevirt.io "vm1": VM is not running',
      reason: 'Conflict',
      details: { name: 'vm1', group: 'kubevirt.io', kind: 'virtualmachine' },
      code: 409,
    });
  });

  it('words not found, bad request and internal errors', () => {
    expect(notFound('virtualmachineinstance', 'vm1').body).to.include({ code: 404, reason: 'NotFound', message: 'virtualmachineinstance.kubevirt.io "vm1" not found' });
    expect(badRequest('port must not be empty').body).to.include({ code: 400, reason: 'BadRequest', message: 'port must not be empty' });
    expect(internalError('dialing VM: refused').body).to.deep.include({ code: 500, reason: 'InternalError', message: 'Internal error occurred: dialing VM: refused', details: { causes: [{ message: 'dialing VM: refused' }] } });
  });

  it('decodes an options body: empty is none, JSON is read, anything else is a bad request', () => {
    expect(decodeOptions('')).to.equal(undefined);
    expect(decodeOptions('{"gracePeriod":0}')).to.deep.equal({ gracePeriod: 0 });
    expect(() => decodeOptions('{nope')).to.throw(StatusError, /Can not unmarshal Request body to struct/);
    expect(() => decodeOptions('[1]')).to.throw(StatusError);
  });
});
