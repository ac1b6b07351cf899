import { expect } from 'chai';
import { Type } from '@sinclair/typebox';
import { buildCRD, toStructuralSchema } from '../../../lib/crd/crd.js';
import { infrastructureCRDs } from './crds.js';
import { KUBEVIRT_CLUSTER_TYPE, KUBEVIRT_MACHINE_TYPE, type KubevirtClusterContract, type KubevirtMachineContract } from '../../../lib/apis/kubevirt-infrastructure.js';
import type { KubevirtCluster } from './kubevirtcluster.js';
import type { KubevirtMachine } from './kubevirtmachine.js';
import { withRules } from '../../../lib/crd/validation-rules.js';

type Node = Record<string, unknown>;
interface Visit {
  path: string;
  node: Node;
}

/** Every schema node of a rendered openAPIV3Schema with its JSON path (lists as `[]`). */
function walk(node: Node, path = ''): Visit[] {
  const out: Visit[] = [{ path, node }];
  for (const [name, child] of Object.entries((node.properties ?? {}) as Record<string, Node>)) out.push(...walk(child, path ? `${path}.${name}` : name));
  if (node.items) out.push(...walk(node.items as Node, `${path}[]`));
  if (typeof node.additionalProperties === 'object') out.push(...walk(node.additionalProperties as Node, `${path}{}`));
  return out;
}

interface RenderedVersion {
  name: string;
  schema: { openAPIV3Schema: Node };
  subresources?: Node;
  additionalPrinterColumns?: { jsonPath: string }[];
}
const rendered = infrastructureCRDs.map((spec) => {
  const crd = buildCRD(spec) as unknown as { metadata: { name: string; labels: Record<string, string> }; spec: { names: Node; versions: RenderedVersion[] } };
  const version = crd.spec.versions[0];
  if (!version) throw new Error(`${spec.kind}: no version`);
  return { spec, crd, version, nodes: walk(version.schema.openAPIV3Schema) };
});
const rulesOf = (n: Node) => (n['x-kubernetes-validations'] ?? []) as { rule: string; message: string }[];

describe('providers/infrastructure/api CRDs', () => {
  it('declares the four CAPK kinds with their plural names in infrastructure.cluster.x-k8s.io', () => {
    expect(rendered.map((r) => r.crd.metadata.name)).to.deep.equal([
      'kubevirtclusters.infrastructure.cluster.x-k8s.io',
      'kubevirtmachines.infrastructure.cluster.x-k8s.io',
      'kubevirtmachinetemplates.infrastructure.cluster.x-k8s.io',
      'kubevirtclustertemplates.infrastructure.cluster.x-k8s.io',
    ]);
  });

  for (const { spec, crd, version, nodes } of rendered) {
    describe(spec.kind, () => {
      it('carries both Cluster API contract labels and the cluster-api category', () => {
        expect(crd.metadata.labels).to.deep.equal({ 'cluster.x-k8s.io/v1beta2': 'v1alpha1', 'cluster.x-k8s.io/v1beta1': 'v1alpha1' });
        expect(crd.spec.names.categories).to.deep.equal(['cluster-api']);
        expect(version.name).to.equal('v1alpha1');
      });

      it('has a status subresource exactly when it has a status', () => {
        const hasStatus = 'status' in ((version.schema.openAPIV3Schema.properties ?? {}) as Node);
        expect(version.subresources?.status !== undefined, spec.kind).to.equal(hasStatus);
      });

      it('renders a structural schema: every node is typed, int-or-string, or explicitly open', () => {
        for (const { path, node } of nodes) {
          const typed = typeof node.type === 'string' || node['x-kubernetes-int-or-string'] === true || node['x-kubernetes-preserve-unknown-fields'] === true;
          expect(typed, `${spec.kind} ${path || '<root>'}`).to.equal(true);
          expect(node, `${spec.kind} ${path}`).to.not.have.any.keys('$id', 'patternProperties', 'const');
        }
      });

      it('words every CEL message so it names the field it is about', () => {
        for (const { path, node } of nodes) {
          for (const r of rulesOf(node)) expect(r.message, `${spec.kind} ${path}: ${r.rule}`).to.match(/(spec|status)\.[a-zA-Z]/);
        }
      });

      it('keeps transition rules (oldSelf) off anything inside spec.template, so the topology dry-run is never refused', () => {
        for (const { path, node } of nodes.filter((v) => v.path.startsWith('spec.template'))) {
          for (const r of rulesOf(node)) expect(r.rule, `${spec.kind} ${path}`).to.not.include('oldSelf');
        }
      });

      it('points every printer column at a field the schema has', () => {
        const paths = new Set(nodes.map((v) => `.${v.path}`));
        // A column may name a key of a map (status.capacity.cpu): the map is then what the schema has.
        const maps = nodes.filter((v) => v.path.endsWith('{}')).map((v) => `.${v.path.slice(0, -2)}.`);
        for (const column of version.additionalPrinterColumns ?? []) {
          if (column.jsonPath.startsWith('.metadata.')) continue;
          const known = paths.has(column.jsonPath) || maps.some((m) => column.jsonPath.startsWith(m));
          expect(known, column.jsonPath).to.equal(true);
        }
      });
    });
  }

  it('serves the KubevirtCluster fields that other components read through lib/apis, with their types', () => {
    const cluster = rendered.find((r) => r.spec.kind === KUBEVIRT_CLUSTER_TYPE.kind);
    expect(`${cluster?.spec.group ?? ''}/${cluster?.version.name ?? ''}`).to.equal(KUBEVIRT_CLUSTER_TYPE.apiVersion);
    const types = Object.fromEntries((cluster?.nodes ?? []).map(({ path, node }) => [path, node.type]));
    expect(types).to.include({
      'spec.controlPlaneEndpoint.host': 'string',
      'spec.controlPlaneEndpoint.port': 'integer',
      'status.ready': 'boolean',
      'status.initialization.provisioned': 'boolean',
    });
    // The static type of the schema must fit the view: a field renamed or retyped here fails to compile.
    const full: KubevirtCluster = { ...KUBEVIRT_CLUSTER_TYPE, metadata: { name: 'c' }, spec: { controlPlaneEndpoint: { host: 'h', port: 6443 } }, status: { ready: true } };
    const view: KubevirtClusterContract = full;
    expect(view.spec?.controlPlaneEndpoint?.port).to.equal(6443);
  });

  it('serves the KubevirtMachine fields the autoscaler reads through lib/apis, with their types', () => {
    const machine = rendered.find((r) => r.spec.kind === KUBEVIRT_MACHINE_TYPE.kind);
    expect(`${machine?.spec.group ?? ''}/${machine?.version.name ?? ''}`).to.equal(KUBEVIRT_MACHINE_TYPE.apiVersion);
    const types = Object.fromEntries((machine?.nodes ?? []).map(({ path, node }) => [path, node.type]));
    expect(types).to.include({ 'status.conditions': 'array', 'status.failureReason': 'string', 'status.failureMessage': 'string' });
    // The static type of the schema must fit the view: a field renamed or retyped here fails to compile.
    const full: KubevirtMachine = {
      ...KUBEVIRT_MACHINE_TYPE,
      metadata: { name: 'm' },
      spec: { virtualMachineTemplate: { spec: { template: {} } } },
      status: { failureReason: 'UpdateError', conditions: [{ type: 'VMProvisioned', status: 'False', reason: 'Unschedulable', message: '', lastTransitionTime: '2026-01-01T00:00:00Z' }] },
    };
    const view: KubevirtMachineContract = full;
    expect(view.status?.conditions?.[0]?.reason).to.equal('Unschedulable');
  });

  it('guards what a live machine and cluster were built from with transition rules on their own spec', () => {
    const specRules = (kind: string) => rulesOf(rendered.find((r) => r.spec.kind === kind)?.nodes.find((v) => v.path === 'spec')?.node ?? {});
    expect(specRules('KubevirtMachine').map((r) => r.message)).to.satisfy((m: string[]) =>
      ['spec.providerID', 'spec.virtualMachineTemplate', 'spec.infraClusterSecretRef'].every((f) => m.some((x) => x.startsWith(f))),
    );
    expect(specRules('KubevirtCluster').map((r) => r.message)).to.satisfy((m: string[]) =>
      ['spec.controlPlaneEndpoint', 'spec.infraClusterSecretRef'].every((f) => m.some((x) => x.startsWith(f))),
    );
  });

  it('adds rules to a copy, leaving the shared schema as it was', () => {
    const base = Type.Object({ a: Type.String() }, { 'x-kubernetes-validations': [{ rule: 'true', message: 'spec.a first' }] });
    const extended = withRules(base, [{ rule: 'self == oldSelf', message: 'spec.a immutable' }]);
    expect(rulesOf(toStructuralSchema(base))).to.have.length(1);
    expect(rulesOf(toStructuralSchema(extended)).map((r) => r.message)).to.deep.equal(['spec.a first', 'spec.a immutable']);
  });
});
