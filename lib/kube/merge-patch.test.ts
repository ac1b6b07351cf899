import { expect } from 'chai';
import { applyMergePatch, createMergePatch } from './merge-patch.js';

describe('lib/kube/merge-patch', () => {
  const cases: { name: string; before: Record<string, unknown>; after: Record<string, unknown>; patch: unknown }[] = [
    { name: 'returns undefined for equal documents', before: { a: 1, b: { c: [1] } }, after: { a: 1, b: { c: [1] } }, patch: undefined },
    { name: 'sends only the changed leaf of a nested object', before: { spec: { a: 1, b: 2 } }, after: { spec: { a: 1, b: 3 } }, patch: { spec: { b: 3 } } },
    { name: 'turns a removed field into null', before: { spec: { a: 1, b: 2 } }, after: { spec: { a: 1 } }, patch: { spec: { b: null } } },
    { name: 'treats an undefined field as removed', before: { a: 1 }, after: { a: undefined }, patch: { a: null } },
    { name: 'sends a changed array whole', before: { f: ['x', 'y'] }, after: { f: ['x'] }, patch: { f: ['x'] } },
    { name: 'adds a new nested object whole', before: {}, after: { status: { ready: true } }, patch: { status: { ready: true } } },
    { name: 'replaces a scalar with an object', before: { a: 1 }, after: { a: { b: 1 } }, patch: { a: { b: 1 } } },
  ];
  for (const tc of cases) {
    it(tc.name, () => {
      expect(createMergePatch(tc.before, tc.after)).to.deep.equal(tc.patch);
    });
  }

  it('round-trips: applying the computed patch to before yields after', () => {
    const before = { metadata: { labels: { a: '1', b: '2' } }, spec: { list: [1, 2], keep: true, gone: 'x' } };
    const after = { metadata: { labels: { a: '1', c: '3' } }, spec: { list: [2], keep: true } };
    expect(applyMergePatch(before, createMergePatch(before, after))).to.deep.equal(after);
  });
});
