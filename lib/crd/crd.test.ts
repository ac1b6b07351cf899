import { expect } from 'chai';
import { Type } from '@sinclair/typebox';
import { buildCRD, toStructuralSchema } from './crd.js';

describe('lib/crd', () => {
  it('turns literal unions into enums and drops keywords a structural schema rejects', () => {
    const schema = Type.Object(
      {
        mode: Type.Union([Type.Literal('none'), Type.Literal('ssh')], { default: 'none' }),
        only: Type.Literal('x'),
      },
      { $id: 'Thing', title: 'Thing' },
    );
    expect(toStructuralSchema(schema)).to.deep.equal({
      type: 'object',
      required: ['mode', 'only'],
      properties: {
        mode: { type: 'string', enum: ['none', 'ssh'], default: 'none' },
        only: { type: 'string', enum: ['x'] },
      },
    });
  });

  it('leaves property names and x-kubernetes values alone even when they look like keywords', () => {
    const rule = { rule: 'self.const == self.anyOf', message: 'const must equal anyOf' };
    const schema = Type.Object(
      { const: Type.String(), anyOf: Type.Optional(Type.String()) },
      { 'x-kubernetes-validations': [rule] },
    );
    const out = toStructuralSchema(schema);
    expect(Object.keys(out.properties as object)).to.deep.equal(['const', 'anyOf']);
    expect(out['x-kubernetes-validations']).to.deep.equal([rule]);
    expect(out.required).to.deep.equal(['const']);
  });

  it('builds a CRD with names, labels, printer columns and subresources', () => {
    const crd = buildCRD({
      group: 'example.kvcloud.io',
      kind: 'Widget',
      plural: 'widgets',
      shortNames: ['wd'],
      scope: 'Namespaced',
      labels: { 'cluster.x-k8s.io/v1beta2': 'v1alpha1' },
      versions: [
        {
          name: 'v1alpha1',
          schema: Type.Object({ spec: Type.Object({ replicas: Type.Integer() }) }),
          printerColumns: [{ name: 'Replicas', type: 'integer', jsonPath: '.spec.replicas' }],
          subresources: { status: true, scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas' } },
        },
      ],
    });
    expect(crd.metadata).to.deep.equal({ name: 'widgets.example.kvcloud.io', labels: { 'cluster.x-k8s.io/v1beta2': 'v1alpha1' } });
    const spec = crd.spec as { names: object; versions: Record<string, unknown>[] };
    expect(spec.names).to.deep.equal({ kind: 'Widget', listKind: 'WidgetList', plural: 'widgets', singular: 'widget', shortNames: ['wd'] });
    expect(spec.versions[0]).to.include({ name: 'v1alpha1', served: true, storage: true });
    expect(spec.versions[0]?.subresources).to.deep.equal({ status: {}, scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas' } });
  });

  it('refuses a CRD without exactly one storage version', () => {
    const v = { schema: Type.Object({}), storage: false };
    expect(() =>
      buildCRD({ group: 'g.io', kind: 'K', plural: 'ks', scope: 'Cluster', versions: [{ name: 'v1', ...v }, { name: 'v2', ...v }] }),
    ).to.throw(/exactly one storage version/);
  });
});
