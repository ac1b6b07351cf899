import { expect } from 'chai';
import { toStructuralSchema } from '../../../lib/crd/crd.js';
import { KamajiControlPlaneSchemaV1Alpha1, KamajiControlPlaneSchemaV1Alpha2 } from './kamajicontrolplane.js';
import { SUPPORTED_KUBERNETES_MINORS, SUPPORTED_KUBERNETES_RANGE } from './kubernetes-versions.js';
import { TenantControlPlaneSchema } from './tenantcontrolplane.js';

interface Node {
  properties?: Record<string, Node>;
  'x-kubernetes-validations'?: { rule: string; message: string; messageExpression?: string }[];
}

function rulesAt(schema: unknown, path: string): NonNullable<Node['x-kubernetes-validations']> {
  let node = toStructuralSchema(schema as never) as Node | undefined;
  for (const part of path.split('.')) node = node?.properties?.[part];
  return node?.['x-kubernetes-validations'] ?? [];
}

describe('controlplane/api: supported Kubernetes versions', () => {
  it('prints the range from its one source', () => {
    expect(SUPPORTED_KUBERNETES_RANGE).to.equal(`v1.${String(SUPPORTED_KUBERNETES_MINORS.oldest)} to v1.${String(SUPPORTED_KUBERNETES_MINORS.newest)}`);
    expect(SUPPORTED_KUBERNETES_MINORS.oldest).to.be.at.most(SUPPORTED_KUBERNETES_MINORS.newest);
  });

  const fields = [
    { kind: 'TenantControlPlane', schema: TenantControlPlaneSchema, path: 'spec.kubernetes.version' },
    { kind: 'KamajiControlPlane v1alpha1', schema: KamajiControlPlaneSchemaV1Alpha1, path: 'spec.version' },
    { kind: 'KamajiControlPlane v1alpha2', schema: KamajiControlPlaneSchemaV1Alpha2, path: 'spec.version' },
  ];
  for (const f of fields) {
    it(`${f.kind}: refuses ${f.path} below v1.${String(SUPPORTED_KUBERNETES_MINORS.oldest)} and above v1.${String(SUPPORTED_KUBERNETES_MINORS.newest)}, naming the field and the range`, () => {
      const range = rulesAt(f.schema, f.path).filter((r) => r.message.includes('kvcloud supports'));
      expect(range.map((r) => r.message)).to.deep.equal([`${f.path} is not a Kubernetes version kvcloud supports: ${SUPPORTED_KUBERNETES_RANGE}`]);
      const [r] = range;
      // Both bounds on the minor, and major 1: a 2.x release is refused too.
      expect(r?.rule).to.match(new RegExp(`== 1 && .+ >= ${String(SUPPORTED_KUBERNETES_MINORS.oldest)} && .+ <= ${String(SUPPORTED_KUBERNETES_MINORS.newest)}\\)$`));
      // The refusal quotes the value the user sent.
      expect(r?.messageExpression).to.equal(`'${f.path} ' + self + ' is not a Kubernetes version kvcloud supports: ${SUPPORTED_KUBERNETES_RANGE}'`);
    });
  }
});
