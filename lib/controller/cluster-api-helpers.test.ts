import { expect } from 'chai';
import type { KubeObject } from '../kube/object.js';
import { MANAGED_BY_ANNOTATION, PAUSED_ANNOTATION } from './cluster-api-keys.js';
import { getCondition, type ObjectWithConditions } from './conditions.js';
import { addFinalizer, hasFinalizer, removeFinalizer } from './finalizers.js';
import { controllerOf, ownerOfType, setControllerReference, setOwnerReference, ownerReferenceTo, removeOwnerReference } from './owner-references.js';
import { isPaused, reconcilePaused } from './paused.js';
import { annotationChanged, anyOf, generationChanged, labelChanged, notExternallyManaged, notPaused, passesCreate, passesUpdate } from './predicates.js';

const obj = (meta: Partial<KubeObject['metadata']> = {}): ObjectWithConditions => ({
  apiVersion: 'infrastructure.cluster.x-k8s.io/v1alpha1',
  kind: 'KubevirtMachine',
  metadata: { namespace: 'ns', name: 'm', generation: 1, ...meta },
});
const cluster = (paused: boolean) => ({
  apiVersion: 'cluster.x-k8s.io/v1beta2',
  kind: 'Cluster',
  metadata: { namespace: 'ns', name: 'c', uid: 'cluster-uid' },
  spec: { paused },
});

describe('lib/controller Cluster API helpers', () => {
  describe('paused', () => {
    it('is paused by Cluster spec.paused or the annotation on the object, and says so in a Paused condition', () => {
      const m = obj();
      expect(reconcilePaused(cluster(true), m)).to.be.true;
      expect(getCondition(m, 'Paused')).to.include({ status: 'True', reason: 'Paused' });
      const annotated = obj({ annotations: { [PAUSED_ANNOTATION]: '' } });
      expect(isPaused(cluster(false), annotated)).to.be.true;
      expect(reconcilePaused(undefined, annotated)).to.be.true;
    });

    it('flips Paused back to False once unpaused', () => {
      const m = obj();
      reconcilePaused(cluster(true), m);
      expect(reconcilePaused(cluster(false), m)).to.be.false;
      expect(getCondition(m, 'Paused')).to.include({ status: 'False', reason: 'NotPaused' });
    });
  });

  describe('finalizers', () => {
    it('adds once and removes once, reporting whether anything changed', () => {
      const m = obj();
      expect(addFinalizer(m, 'f')).to.be.true;
      expect(addFinalizer(m, 'f')).to.be.false;
      expect(hasFinalizer(m, 'f')).to.be.true;
      expect(removeFinalizer(m, 'f')).to.be.true;
      expect(removeFinalizer(m, 'f')).to.be.false;
      expect(m.metadata.finalizers).to.deep.equal([]);
    });
  });

  describe('owner references', () => {
    it('sets a controller reference and refuses a second controller', () => {
      const m = obj();
      setControllerReference(m, cluster(false));
      expect(controllerOf(m)).to.include({ kind: 'Cluster', name: 'c', controller: true, blockOwnerDeletion: true });
      const other = { ...cluster(false), metadata: { ...cluster(false).metadata, name: 'other', uid: 'u2' } };
      expect(() => setControllerReference(m, other)).to.throw(/already controlled by Cluster c/);
    });

    it('matches owners by group and kind across API versions and updates the reference in place', () => {
      const m = obj();
      setOwnerReference(m, { apiVersion: 'cluster.x-k8s.io/v1beta1', kind: 'Cluster', name: 'c', uid: 'old' });
      expect(setOwnerReference(m, ownerReferenceTo(cluster(false)))).to.be.true;
      expect(m.metadata.ownerReferences).to.have.length(1);
      expect(m.metadata.ownerReferences?.[0]).to.include({ apiVersion: 'cluster.x-k8s.io/v1beta2', uid: 'cluster-uid' });
      expect(ownerOfType(m, { apiVersion: 'cluster.x-k8s.io/v1beta1', kind: 'Cluster' })?.name).to.equal('c');
      expect(removeOwnerReference(m, cluster(false))).to.be.true;
    });
  });

  describe('predicates', () => {
    const cases: { name: string; pass: boolean; run: () => boolean }[] = [
      { name: 'generationChanged passes a spec change', pass: true, run: () => passesUpdate([generationChanged()], obj(), obj({ generation: 2 })) },
      { name: 'generationChanged drops a status-only change', pass: false, run: () => passesUpdate([generationChanged()], obj(), obj()) },
      { name: 'labelChanged(key) passes a change of that label', pass: true, run: () => passesUpdate([labelChanged('a')], obj({ labels: { a: '1' } }), obj({ labels: { a: '2' } })) },
      { name: 'labelChanged(key) drops a change of another label', pass: false, run: () => passesUpdate([labelChanged('a')], obj({ labels: { b: '1' } }), obj({ labels: { b: '2' } })) },
      { name: 'annotationChanged() passes any annotation change', pass: true, run: () => passesUpdate([annotationChanged()], obj(), obj({ annotations: { x: 'y' } })) },
      { name: 'notPaused drops a paused object', pass: false, run: () => passesCreate([notPaused()], obj({ annotations: { [PAUSED_ANNOTATION]: 'true' } })) },
      { name: 'notPaused passes the unpausing update', pass: true, run: () => passesUpdate([notPaused()], obj({ annotations: { [PAUSED_ANNOTATION]: 'true' } }), obj()) },
      { name: 'notExternallyManaged drops managed-by objects', pass: false, run: () => passesCreate([notExternallyManaged()], obj({ annotations: { [MANAGED_BY_ANNOTATION]: 'other' } })) },
      { name: 'anyOf passes when one predicate does', pass: true, run: () => passesUpdate([anyOf(generationChanged(), labelChanged())], obj(), obj({ labels: { a: 'b' } })) },
    ];
    for (const tc of cases) {
      it(tc.name, () => {
        expect(tc.run()).to.equal(tc.pass);
      });
    }
  });
});
