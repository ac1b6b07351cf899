import { expect } from 'chai';
import { DEPLOYMENT_TYPE } from '../apis/apps.js';
import { FakeApiServer } from '../testing/fake-apiserver.js';
import { APPLIED_HASH_ANNOTATION, appliedHash, applyIfChanged, contains, withAppliedHash } from './applied-hash.js';
import { Client } from './client.js';
import type { KubeObject } from './object.js';
import { RestMapper } from './rest-mapper.js';

interface Deployment extends KubeObject {
  spec?: {
    replicas?: number;
    template?: { metadata?: { labels?: Record<string, string> }; spec?: Record<string, unknown> };
  };
}
const ref = { namespace: 'ns', name: 'acme' };

interface Shape {
  labels?: Record<string, string>;
  replicas?: number;
  pod?: Record<string, unknown>;
}

function deployment(shape: Shape): Deployment {
  return {
    ...DEPLOYMENT_TYPE,
    metadata: { ...ref, labels: shape.labels ?? { app: 'acme' } },
    spec: { replicas: shape.replicas ?? 1, template: { metadata: { labels: { app: 'acme' } }, spec: { containers: [{ name: 'apiserver', image: 'kube-apiserver' }], ...shape.pod } } },
  };
}

function setup() {
  const api = new FakeApiServer().serve({ ...DEPLOYMENT_TYPE, resource: 'deployments', namespaced: true, statusSubresource: true });
  const mapper = new RestMapper(api);
  return {
    api,
    ours: new Client({ transport: api, mapper, fieldManager: 'kvcloud-test' }),
    theirs: new Client({ transport: api, mapper, fieldManager: 'someone-else' }),
    live: () => api.peek(DEPLOYMENT_TYPE.apiVersion, DEPLOYMENT_TYPE.kind, 'ns/acme') as Deployment | undefined,
  };
}

const podSpec = (d: Deployment | undefined) => d?.spec?.template?.spec ?? {};

describe('lib/kube/applied-hash', () => {
  describe('appliedHash', () => {
    it('does not depend on key order, at any depth', () => {
      expect(appliedHash({ a: 1, b: { c: [1, { d: 2, e: 3 }], f: 'x' } })).to.equal(appliedHash({ b: { f: 'x', c: [1, { e: 3, d: 2 }] }, a: 1 }));
    });
    it('leaves undefined fields out, as they travel on the wire', () => {
      expect(appliedHash({ a: 1, b: undefined })).to.equal(appliedHash({ a: 1 }));
    });
    it('tells a changed value, a removed field and a reordered list apart', () => {
      const hashes = [{ a: [1, 2] }, { a: [2, 1] }, { a: [1] }, {}, { a: [1, 2], b: null }].map(appliedHash);
      expect(new Set(hashes).size).to.equal(hashes.length);
    });
    it('stamps the same hash on an object that already carries one', () => {
      const stamped = withAppliedHash(deployment({}));
      expect(withAppliedHash(stamped)).to.deep.equal(stamped);
    });
  });

  describe('contains', () => {
    const cases = [
      { name: 'ignores fields the apiserver or others added', have: { spec: { a: 1, clusterIP: '10.0.0.1' } }, want: { spec: { a: 1 } }, result: true },
      { name: 'sees a changed value', have: { spec: { a: 1 } }, want: { spec: { a: 2 } }, result: false },
      { name: 'sees a missing field', have: { spec: {} }, want: { spec: { a: 1 } }, result: false },
      { name: 'compares lists element by element, tolerating defaults inside elements', have: { ports: [{ port: 1, nodePort: 30000 }] }, want: { ports: [{ port: 1 }] }, result: true },
      { name: 'sees a list of another length', have: { ports: [{ port: 1 }, { port: 2 }] }, want: { ports: [{ port: 1 }] }, result: false },
      { name: 'treats undefined wanted fields as absent', have: {}, want: { a: undefined }, result: true },
    ];
    for (const tc of cases) it(tc.name, () => expect(contains(tc.have, tc.want)).to.equal(tc.result));
  });

  describe('applyIfChanged against the in-memory apiserver', () => {
    const toleration = { key: 'dedicated', operator: 'Exists', effect: 'NoSchedule' };
    const cases: {
      name: string;
      first: Shape;
      /** What another writer does between the two passes. */
      between?: (theirs: Client) => Promise<unknown>;
      second: Shape;
      writes: number;
      check: (live: Deployment | undefined) => void;
    }[] = [
      {
        name: 'removes a nodeSelector dropped from the desired object',
        first: { pod: { nodeSelector: { zone: 'a' } } },
        second: {},
        writes: 1,
        check: (live) => expect(podSpec(live)).to.not.have.property('nodeSelector'),
      },
      {
        name: 'removes a label dropped from the desired object and keeps the others',
        first: { labels: { app: 'acme', team: 'blue' } },
        second: { labels: { app: 'acme' } },
        writes: 1,
        check: (live) => expect(live?.metadata.labels).to.deep.equal({ app: 'acme' }),
      },
      {
        name: 'removes a runtimeClassName and tolerations dropped together',
        first: { pod: { runtimeClassName: 'kata', tolerations: [toleration] } },
        second: {},
        writes: 1,
        check: (live) => expect(podSpec(live)).to.not.have.any.keys('runtimeClassName', 'tolerations'),
      },
      {
        name: 'applies a changed value',
        first: { replicas: 1 },
        second: { replicas: 3 },
        writes: 1,
        check: (live) => expect(live?.spec?.replicas).to.equal(3),
      },
      {
        name: "repairs another writer's change to a field we own",
        first: { replicas: 2 },
        between: (theirs) => theirs.mergePatch(DEPLOYMENT_TYPE, ref, { spec: { replicas: 7 } }),
        second: { replicas: 2 },
        writes: 1,
        check: (live) => expect(live?.spec?.replicas).to.equal(2),
      },
      {
        name: 'repairs a field we want that another writer removed',
        first: { pod: { tolerations: [toleration] } },
        between: (theirs) => theirs.mergePatch(DEPLOYMENT_TYPE, ref, { spec: { template: { spec: { tolerations: null } } } }),
        second: { pod: { tolerations: [toleration] } },
        writes: 1,
        check: (live) => expect(podSpec(live).tolerations).to.deep.equal([toleration]),
      },
      {
        name: 'applies again when another writer removed the hash',
        first: {},
        between: (theirs) => theirs.mergePatch(DEPLOYMENT_TYPE, ref, { metadata: { annotations: { [APPLIED_HASH_ANNOTATION]: null } } }),
        second: {},
        writes: 1,
        check: (live) => expect(live?.metadata.annotations?.[APPLIED_HASH_ANNOTATION]).to.equal(appliedHash(deployment({}))),
      },
      {
        name: 'leaves fields another writer added alone and writes nothing',
        first: {},
        between: (theirs) => theirs.mergePatch(DEPLOYMENT_TYPE, ref, { metadata: { annotations: { 'example.com/owner': 'x' } }, spec: { template: { spec: { priorityClassName: 'high' } } } }),
        second: {},
        writes: 0,
        check: (live) => {
          expect(live?.metadata.annotations?.['example.com/owner']).to.equal('x');
          expect(podSpec(live).priorityClassName).to.equal('high');
        },
      },
      {
        name: 'writes nothing for the same object built with its keys in another order',
        first: { labels: { app: 'acme', team: 'blue' }, pod: { nodeSelector: { zone: 'a', disk: 'ssd' } } },
        second: { pod: { nodeSelector: { disk: 'ssd', zone: 'a' } }, labels: { team: 'blue', app: 'acme' } },
        writes: 0,
        check: (live) => expect(podSpec(live).nodeSelector).to.deep.equal({ zone: 'a', disk: 'ssd' }),
      },
    ];
    for (const tc of cases) {
      it(`${tc.name}, then writes nothing on the next pass`, async () => {
        const { api, ours, theirs, live } = setup();
        const first = await applyIfChanged(ours, deployment(tc.first));
        expect(first).to.include({ wrote: true, created: true });
        await tc.between?.(theirs);

        const before = api.writes().length;
        const second = await applyIfChanged(ours, deployment(tc.second));
        expect(api.writes().length - before, 'writes in the pass after the change').to.equal(tc.writes);
        expect(second).to.include({ wrote: tc.writes > 0, created: false });
        tc.check(live());

        const settled = api.writes().length;
        expect((await applyIfChanged(ours, deployment(tc.second))).wrote).to.equal(false);
        expect(api.writes().length - settled, 'writes in the pass after that').to.equal(0);
      });
    }

    it('sends the hash of the desired object without changing the object it was given', async () => {
      const { api, ours } = setup();
      const desired = deployment({});
      const copy = structuredClone(desired);
      await applyIfChanged(ours, desired);
      expect(desired).to.deep.equal(copy);
      const sent = api.writes()[0]?.body as Deployment;
      expect(sent.metadata.annotations).to.deep.equal({ [APPLIED_HASH_ANNOTATION]: appliedHash(desired) });
    });
  });
});
