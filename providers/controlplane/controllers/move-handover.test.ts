import { expect } from 'chai';
import type { KubeObject } from '../../../lib/kube/object.js';
import { decideRetirement, handoverSecretName, RELEASED_LABEL, releasedBy, releasedOwners, type RetireInputs } from './move-handover.js';

const TCP_REF = { apiVersion: 'kamaji.clastix.io/v1alpha1', kind: 'TenantControlPlane', name: 'acme', uid: 'uid-a', controller: true, blockOwnerDeletion: true };
const OTHER_REF = { apiVersion: 'v1', kind: 'ConfigMap', name: 'keep', uid: 'uid-x' };
const child = (refs: KubeObject['metadata']['ownerReferences'], labels?: Record<string, string>): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'acme', namespace: 'tenants', ...(refs ? { ownerReferences: refs } : {}), ...(labels ? { labels } : {}) },
});

describe('controllers/move-handover', () => {
  describe('releasedOwners', () => {
    it('drops the TenantControlPlane\'s controller reference and keeps any other owner', () => {
      expect(releasedOwners(child([OTHER_REF, TCP_REF]), 'uid-a')).to.deep.equal([OTHER_REF]);
      expect(releasedOwners(child([TCP_REF]), 'uid-a')).to.deep.equal([]);
    });

    it('says undefined for a child it does not control: released already, controlled by another uid, or a plain owner reference', () => {
      expect(releasedOwners(child(undefined, { [RELEASED_LABEL]: 'uid-a' }), 'uid-a')).to.equal(undefined);
      expect(releasedOwners(child([TCP_REF]), 'uid-b')).to.equal(undefined);
      expect(releasedOwners(child([{ ...TCP_REF, controller: false }]), 'uid-a')).to.equal(undefined);
    });
  });

  it('releasedBy matches only the uid in the label', () => {
    expect(releasedBy(child(undefined, { [RELEASED_LABEL]: 'uid-a' }), 'uid-a')).to.equal(true);
    expect(releasedBy(child(undefined, { [RELEASED_LABEL]: 'uid-a' }), 'uid-b')).to.equal(false);
    expect(releasedBy(child([TCP_REF]), 'uid-a')).to.equal(false);
    expect(releasedBy(undefined, 'uid-a')).to.equal(false);
  });

  it('names the kept kubeconfig so clusterctl does not take it for one of the Cluster\'s Secrets (<cluster>-<purpose>)', () => {
    expect(handoverSecretName('acme')).to.equal('handover-acme');
    expect(handoverSecretName('acme').startsWith('acme-')).to.equal(false);
  });

  describe('decideRetirement', () => {
    const NOW = Date.parse('2026-12-07T17:00:00Z');
    const TIMEOUT = 30 * 60_000;
    const goneAgo = (ms: number) => new Date(NOW - ms).toISOString();
    const base: RetireInputs = {
      releasedUid: 'uid-a',
      presentUid: undefined,
      servingUid: undefined,
      successorSeenAt: undefined,
      goneSince: goneAgo(1_000),
      now: NOW,
      drainMs: 15_000,
      successorTimeoutMs: TIMEOUT,
    };
    const cases: { name: string; in: Partial<RetireInputs>; want: ReturnType<typeof decideRetirement> }[] = [
      {
        name: 'keeps it while its own TenantControlPlane is still here (a pause without a move), whatever the tenant says',
        in: { presentUid: 'uid-a', servingUid: 'uid-b', goneSince: goneAgo(TIMEOUT) },
        want: { action: 'keep', reason: 'its TenantControlPlane is still here (paused, or resuming takes it back)' },
      },
      { name: 'polls while the marker cannot be read', in: {}, want: { action: 'poll', reason: 'no other TenantControlPlane serves the tenant yet' } },
      { name: 'polls while the marker still names the released uid', in: { servingUid: 'uid-a' }, want: { action: 'poll', reason: 'no other TenantControlPlane serves the tenant yet' } },
      {
        name: 'polls when a new TenantControlPlane of the same name here has not announced itself (deleted and recreated, not moved)',
        in: { presentUid: 'uid-c', servingUid: 'uid-a' },
        want: { action: 'poll', reason: 'no other TenantControlPlane serves the tenant yet' },
      },
      { name: 'notes when it first finds its TenantControlPlane gone and no successor', in: { goneSince: undefined }, want: { action: 'note-gone' } },
      { name: 'notes that again over an unreadable note', in: { goneSince: 'a while ago' }, want: { action: 'note-gone' } },
      { name: 'polls up to the successor timeout', in: { servingUid: 'uid-a', goneSince: goneAgo(TIMEOUT - 1) }, want: { action: 'poll', reason: 'no other TenantControlPlane serves the tenant yet' } },
      { name: 'gives up once no successor came within the timeout', in: { goneSince: goneAgo(TIMEOUT) }, want: { action: 'give-up', waitedMs: TIMEOUT } },
      {
        name: 'gives up on a TenantControlPlane of the same name made since that never announced itself',
        in: { presentUid: 'uid-c', servingUid: 'uid-a', goneSince: goneAgo(TIMEOUT + 5_000) },
        want: { action: 'give-up', waitedMs: TIMEOUT + 5_000 },
      },
      { name: 'notes when it first sees a successor', in: { servingUid: 'uid-b' }, want: { action: 'note-successor', servingUid: 'uid-b' } },
      { name: 'hands over to a successor that announced itself late, past the timeout', in: { servingUid: 'uid-b', goneSince: goneAgo(TIMEOUT * 2) }, want: { action: 'note-successor', servingUid: 'uid-b' } },
      { name: 'notes again over an unreadable note', in: { servingUid: 'uid-b', successorSeenAt: 'yesterday-ish' }, want: { action: 'note-successor', servingUid: 'uid-b' } },
      { name: 'waits out the rest of the drain period', in: { servingUid: 'uid-b', successorSeenAt: new Date(NOW - 5_000).toISOString() }, want: { action: 'wait', afterMs: 10_000 } },
      { name: 'retires once the drain period has passed', in: { servingUid: 'uid-b', successorSeenAt: new Date(NOW - 15_000).toISOString() }, want: { action: 'retire', servingUid: 'uid-b' } },
    ];
    for (const tc of cases) {
      it(tc.name, () => {
        expect(decideRetirement({ ...base, ...tc.in })).to.deep.equal(tc.want);
      });
    }
  });
});
