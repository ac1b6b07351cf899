import { expect } from 'chai';
import { parseTenantManifests } from './tenant-objects.js';

describe('csi/tenant-objects', () => {
  it('reads every document of a manifest in order, skipping empty ones', () => {
    const text = 'apiVersion: v1\nkind: Namespace\nmetadata: { name: a }\n---\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata: { name: b, namespace: a }\n';
    expect(parseTenantManifests(text, 'm.yaml').map((o) => `${o.kind ?? ''} ${o.metadata.name ?? ''}`)).to.deep.equal(['Namespace a', 'ServiceAccount b']);
  });

  const malformed = [
    { name: 'a document without a name', text: 'apiVersion: v1\nkind: Namespace\nmetadata: {}\n', want: /document 1 needs apiVersion, kind and metadata.name/ },
    { name: 'YAML that does not parse', text: 'apiVersion: v1\nkind: Namespace\nmetadata: { name: a }\n---\nkind: [\n', want: /m.yaml: document 2: / },
  ];
  for (const tc of malformed) it(`refuses ${tc.name}, naming the file and document`, () => expect(() => parseTenantManifests(tc.text, 'm.yaml')).to.throw(tc.want));
});
