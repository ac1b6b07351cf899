import { expect } from 'chai';
import { Client } from '../../../lib/kube/client.js';
import { RestMapper } from '../../../lib/kube/rest-mapper.js';
import { FakeApiServer } from '../../../lib/testing/fake-apiserver.js';
import { phaseChecksum, phaseIntact, syncPhase, tenantPhases } from './phases.js';
import { blockedOperations, WRITE_PERMISSIONS_POLICY, writePermissionsObjects, type WritePermissions } from './write-permissions.js';

interface PolicySpec {
  failurePolicy: string;
  matchConstraints: {
    resourceRules: { apiGroups: string[]; resources: string[]; operations: string[]; scope: string }[];
    excludeResourceRules: { apiGroups: string[]; resources: string[] }[];
  };
  matchConditions: { name: string; expression: string }[];
  validations: { expression: string; message: string; reason: string }[];
}

const TCP = { namespace: 'tenants', name: 'acme' };
const policyOf = (perms: WritePermissions | undefined): PolicySpec => writePermissionsObjects(TCP, perms)[0]?.spec as PolicySpec;

describe('tenant/write-permissions', () => {
  const cases: { name: string; perms: WritePermissions | undefined; ops: string[]; fields: string[] }[] = [
    { name: 'blocks nothing without the field', perms: undefined, ops: [], fields: [] },
    { name: 'blocks nothing when every flag is false', perms: { blockCreation: false, blockUpdate: false, blockDeletion: false }, ops: [], fields: [] },
    { name: 'blocks only creation', perms: { blockCreation: true }, ops: ['CREATE'], fields: ['blockCreation'] },
    { name: 'blocks creation and update but lets tenants delete (Kamaji quota mode)', perms: { blockCreation: true, blockUpdate: true, blockDeletion: false }, ops: ['CREATE', 'UPDATE'], fields: ['blockCreation', 'blockUpdate'] },
    { name: 'blocks only deletion', perms: { blockDeletion: true }, ops: ['DELETE'], fields: ['blockDeletion'] },
    { name: 'blocks every write in read-only mode', perms: { blockCreation: true, blockUpdate: true, blockDeletion: true }, ops: ['CREATE', 'UPDATE', 'DELETE'], fields: ['blockCreation', 'blockUpdate', 'blockDeletion'] },
  ];
  for (const tc of cases) {
    it(`${tc.name}: matches ${tc.ops.join('+') || 'no operation'} with one refusal per flag`, () => {
      expect(blockedOperations(tc.perms)).to.deep.equal(tc.ops);
      const spec = policyOf(tc.perms);
      expect(spec.matchConstraints.resourceRules[0]?.operations).to.deep.equal(tc.ops);
      expect(spec.validations.map((v) => v.expression)).to.deep.equal(tc.ops.map((op) => `request.operation != '${op}'`));
      tc.fields.forEach((field, i) => {
        expect(spec.validations[i]?.message).to.include(`spec.writePermissions.${field}`).and.include('TenantControlPlane tenants/acme');
        expect(spec.validations[i]?.reason).to.equal('Forbidden');
      });
    });
  }

  it('matches every resource and subresource at any scope, failing closed', () => {
    const spec = policyOf({ blockUpdate: true });
    expect(spec.failurePolicy).to.equal('Fail');
    expect(spec.matchConstraints.resourceRules[0]).to.include({ scope: '*' });
    expect(spec.matchConstraints.resourceRules[0]?.resources).to.deep.equal(['*/*']);
  });

  const exemptions: { name: string; expression: RegExp }[] = [
    { name: 'the operator (super-admin)', expression: /'kubernetes-super-admin'/ },
    { name: 'the tenant apiserver', expression: /'system:apiserver'/ },
    { name: 'kube-controller-manager', expression: /'system:kube-controller-manager'/ },
    { name: 'kube-scheduler', expression: /'system:kube-scheduler'/ },
    { name: 'kubelets', expression: /'system:nodes'/ },
    { name: 'kube-system service accounts (controllers, addons)', expression: /'system:serviceaccounts:kube-system'/ },
  ];
  for (const tc of exemptions) {
    it(`exempts ${tc.name} through a match condition`, () => {
      expect(policyOf({ blockCreation: true }).matchConditions.some((c) => tc.expression.test(c.expression))).to.equal(true);
    });
  }

  it('keeps the admin.conf identity handed to users blocked', () => {
    const conditions = policyOf({ blockCreation: true }).matchConditions.map((c) => c.expression).join(' ');
    expect(conditions).not.to.match(/kubernetes-admin'|kubeadm:cluster-admins|system:masters/);
  });

  it('leaves Leases and token/access reviews alone', () => {
    const excluded = policyOf({ blockCreation: true }).matchConstraints.excludeResourceRules;
    expect(excluded).to.deep.include.members([
      { apiGroups: ['coordination.k8s.io'], apiVersions: ['*'], resources: ['leases'], operations: ['*'], scope: '*' },
      { apiGroups: ['authentication.k8s.io', 'authorization.k8s.io'], apiVersions: ['*'], resources: ['*/*'], operations: ['*'], scope: '*' },
    ]);
  });

  it('binds the policy by its deterministic name with Deny', () => {
    const [policy, binding] = writePermissionsObjects(TCP, { blockDeletion: true });
    expect([policy?.kind, policy?.metadata.name, binding?.kind, binding?.metadata.name]).to.deep.equal([
      'ValidatingAdmissionPolicy', WRITE_PERMISSIONS_POLICY, 'ValidatingAdmissionPolicyBinding', WRITE_PERMISSIONS_POLICY,
    ]);
    expect(binding?.spec).to.deep.equal({ policyName: WRITE_PERMISSIONS_POLICY, validationActions: ['Deny'] });
  });

  describe('as the last tenant phase', () => {
    const phaseFor = (writePermissions: WritePermissions | undefined, migrating = false) => {
      const phases = tenantPhases(
        { metadata: { name: 'acme', namespace: 'tenants' }, spec: { controlPlane: { service: { serviceType: 'ClusterIP' } }, kubernetes: { version: 'v1.37.2', kubelet: {} }, ...(writePermissions ? { writePermissions } : {}) } },
        { host: '10.0.0.1', port: 6443 },
        'CA',
        { kubernetesVersion: 'v1.37.2', migrating },
      );
      return phases[phases.length - 1];
    };

    it('is enabled only while a flag is set, and names its objects either way so a removal can delete them', () => {
      const on = phaseFor({ blockUpdate: true });
      const off = phaseFor({ blockUpdate: false });
      expect([on?.name, on?.enabled, off?.enabled, phaseFor(undefined)?.enabled]).to.deep.equal(['write-permissions', true, false, false]);
      expect(off?.objects.map((o) => `${o.kind}/${o.metadata.name ?? ''}`)).to.deep.equal([
        `ValidatingAdmissionPolicy/${WRITE_PERMISSIONS_POLICY}`, `ValidatingAdmissionPolicyBinding/${WRITE_PERMISSIONS_POLICY}`,
      ]);
    });

    const migrationCases = [
      { name: 'without writePermissions', perms: undefined },
      { name: 'with only deletion blocked by writePermissions', perms: { blockDeletion: true } },
    ];
    for (const tc of migrationCases) {
      it(`blocks every operation while a DataStore migration runs, ${tc.name}, saying a migration is in progress`, () => {
        const phase = phaseFor(tc.perms, true);
        expect(phase?.enabled).to.equal(true);
        const spec = phase?.objects[0]?.spec as PolicySpec;
        expect(spec.matchConstraints.resourceRules[0]?.operations).to.deep.equal(['CREATE', 'UPDATE', 'DELETE']);
        expect(spec.validations).to.have.length(3);
        for (const v of spec.validations) expect(v.message).to.match(/read-only while TenantControlPlane tenants\/acme migrates to another DataStore/);
        // The exemptions stay: the tenant's control plane, nodes and the operator keep working during the copy.
        expect(spec.matchConditions.map((c) => c.name)).to.deep.equal(['not-an-exempt-user', 'not-in-an-exempt-group']);
      });
    }

    it('changes its checksum when the blocked operations change, so the operator re-applies it', () => {
      const sums = [{ blockUpdate: true }, { blockUpdate: true, blockDeletion: true }, {}].map((p) => phaseChecksum(phaseFor(p) ?? { name: 'write-permissions', enabled: false, objects: [] }));
      expect(new Set(sums).size).to.equal(3);
    });

    describe('intact in the tenant', () => {
      const POLICY = { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicy' };
      const BINDING = { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicyBinding' };
      const setup = async () => {
        const api = new FakeApiServer()
          .serve({ ...POLICY, resource: 'validatingadmissionpolicies', namespaced: false })
          .serve({ ...BINDING, resource: 'validatingadmissionpolicybindings', namespaced: false });
        const mapper = new RestMapper(api);
        const client = new Client({ transport: api, mapper, fieldManager: 'kvcloud-controlplane' });
        const phase = phaseFor({ blockCreation: true });
        if (!phase) throw new Error('no write-permissions phase');
        await syncPhase(client, phase);
        return { api, client, admin: new Client({ transport: api, mapper, fieldManager: 'tenant-admin' }), phase };
      };

      it('holds as applied, with what the apiserver or others add beside our fields', async () => {
        const { client, admin, phase } = await setup();
        expect(await phaseIntact(client, phase)).to.equal(true);
        await admin.mergePatch(POLICY, { name: WRITE_PERMISSIONS_POLICY }, { metadata: { labels: { team: 'ops' } }, spec: { matchConstraints: { matchPolicy: 'Equivalent' } } });
        expect(await phaseIntact(client, phase)).to.equal(true);
      });

      const drifts = [
        { name: 'the policy deleted', drift: (admin: Client) => admin.delete(POLICY, { name: WRITE_PERMISSIONS_POLICY }) },
        { name: 'the binding deleted', drift: (admin: Client) => admin.delete(BINDING, { name: WRITE_PERMISSIONS_POLICY }) },
        { name: 'the binding switched to warnings', drift: (admin: Client) => admin.mergePatch(BINDING, { name: WRITE_PERMISSIONS_POLICY }, { spec: { validationActions: ['Warn'] } }) },
        { name: 'the validations emptied', drift: (admin: Client) => admin.mergePatch(POLICY, { name: WRITE_PERMISSIONS_POLICY }, { spec: { validations: [] } }) },
      ];
      for (const tc of drifts) {
        it(`does not hold with ${tc.name}, and holds again once the phase is applied`, async () => {
          const { client, admin, phase } = await setup();
          await tc.drift(admin);
          expect(await phaseIntact(client, phase)).to.equal(false);
          await syncPhase(client, phase);
          expect(await phaseIntact(client, phase)).to.equal(true);
        });
      }
    });
  });
});
