import { expect } from 'chai';
import { resolveFieldRef, resolveResourceFieldRef, type PodRuntimeFacts } from './downward-api.js';
import type { Pod } from './pod-api.js';

const pod: Pod = {
  metadata: { name: 'web-1', namespace: 'shop', uid: 'u-1', labels: { b: '2', a: 'x"y' }, annotations: { note: 'hi' } },
  spec: {
    nodeName: 'node-a',
    serviceAccountName: 'web',
    containers: [{ name: 'app', resources: { limits: { memory: '64Mi' }, requests: { cpu: '250m' } } }],
  },
};
const facts: PodRuntimeFacts = { podIP: '10.244.0.9', hostIP: '10.244.0.1', nodeAllocatable: { cpu: '4', memory: '8Gi' } };

describe('downward API', () => {
  const fields: { path: string; want: string }[] = [
    { path: 'metadata.name', want: 'web-1' },
    { path: 'metadata.namespace', want: 'shop' },
    { path: 'metadata.uid', want: 'u-1' },
    { path: "metadata.labels['b']", want: '2' },
    { path: "metadata.annotations['note']", want: 'hi' },
    { path: "metadata.labels['missing']", want: '' },
    { path: 'metadata.labels', want: 'a="x\\"y"\nb="2"' },
    { path: 'spec.nodeName', want: 'node-a' },
    { path: 'spec.serviceAccountName', want: 'web' },
    { path: 'status.podIP', want: '10.244.0.9' },
    { path: 'status.hostIP', want: '10.244.0.1' },
  ];
  for (const tc of fields) {
    it(`resolves fieldRef ${tc.path}`, () => {
      expect(resolveFieldRef(pod, { fieldPath: tc.path }, facts)).to.equal(tc.want);
    });
  }

  it('rejects a field it does not know', () => {
    expect(() => resolveFieldRef(pod, { fieldPath: 'spec.priority' }, facts)).to.throw(/not supported/);
  });

  it('reports a set limit, divided and rounded up', () => {
    expect(resolveResourceFieldRef(pod, { resource: 'limits.memory', divisor: '1Mi' }, 'app', facts)).to.equal('64');
    expect(resolveResourceFieldRef(pod, { resource: 'requests.cpu', divisor: '1m' }, 'app', facts)).to.equal('250');
    expect(resolveResourceFieldRef(pod, { resource: 'requests.cpu' }, 'app', facts)).to.equal('1');
  });

  it('reports an unset limit as the node allocatable, as the kubelet does', () => {
    expect(resolveResourceFieldRef(pod, { resource: 'limits.cpu' }, 'app', facts)).to.equal('4');
  });

  it('names the container it could not find', () => {
    expect(() => resolveResourceFieldRef(pod, { resource: 'limits.cpu', containerName: 'db' }, undefined, facts)).to.throw(/no container named "db"/);
  });
});
