import { expect } from 'chai';
import type { Deployment } from '../management/deployment.js';
import type { TenantControlPlane } from '../api/index.js';
import { rolledOut } from './rotation-ca.js';
import { withCASigner } from './rotation-signer.js';

function deployment(over: { checksum?: string; generation?: number; observed?: number; replicas?: number; updated?: number; ready?: number }): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'acme', generation: over.generation ?? 2 },
    spec: { replicas: 2, selector: {}, template: { metadata: { annotations: { 'kamaji.clastix.io/checksum': over.checksum ?? 'c1' } } } },
    status: { observedGeneration: over.observed ?? 2, replicas: over.replicas ?? 2, updatedReplicas: over.updated ?? 2, readyReplicas: over.ready ?? 2 },
  };
}

describe('controlplane/controllers CA rotation evidence', () => {
  const cases: { name: string; d: Deployment; want: boolean }[] = [
    { name: 'rolled out with the current Secrets', d: deployment({}), want: true },
    { name: 'not when the template carries other Secrets', d: deployment({ checksum: 'c0' }), want: false },
    { name: 'not before the controller saw the new template', d: deployment({ observed: 1 }), want: false },
    { name: 'not while old pods remain', d: deployment({ replicas: 3 }), want: false },
    { name: 'not while a pod runs the old template', d: deployment({ updated: 1 }), want: false },
    { name: 'not while a new pod is not ready', d: deployment({ ready: 1 }), want: false },
  ];
  for (const tc of cases) it(`counts a Deployment ${tc.name}`, () => expect(rolledOut(tc.d, 'c1')).to.equal(tc.want));
});

describe('controlplane/controllers withCASigner', () => {
  const tcp = {
    apiVersion: 'kamaji.clastix.io/v1alpha1',
    kind: 'TenantControlPlane',
    metadata: { name: 'acme', namespace: 'tenants' },
    spec: {
      controlPlane: { deployment: { extraArgs: { controllerManager: ['--cluster-signing-cert-file=/mine.crt'] }, additionalVolumes: [{ name: 'user', emptyDir: {} }] } },
      kubernetes: { version: 'v1.33.0' },
    },
  } as unknown as TenantControlPlane;

  it("mounts the Secret's ca-signer.crt for kube-controller-manager's signer, before the user's own arguments, leaving the input alone", () => {
    const out = withCASigner(tcp, 'acme-ca');
    const d = out.spec.controlPlane.deployment;
    expect(d?.extraArgs?.controllerManager).to.deep.equal(['--cluster-signing-cert-file=/etc/kubernetes/ca-signer/ca.crt', '--cluster-signing-cert-file=/mine.crt']);
    expect(d?.additionalVolumes?.map((v) => v.name)).to.deep.equal(['user', 'ca-signer']);
    expect(d?.additionalVolumes?.[1]?.secret).to.deep.equal({ secretName: 'acme-ca', items: [{ key: 'ca-signer.crt', path: 'ca.crt' }], defaultMode: 0o420 });
    expect(d?.additionalVolumeMounts?.controllerManager).to.deep.equal([{ name: 'ca-signer', mountPath: '/etc/kubernetes/ca-signer', readOnly: true }]);
    expect(tcp.spec.controlPlane.deployment?.additionalVolumes).to.have.length(1);
  });
});
