import { status } from '@grpc/grpc-js';
import { expect } from 'chai';
import type { CsiError } from '../status.js';
import { availableCapacity, remainingUnderQuotas, type InfraClass, type Remaining, type ResourceQuota } from './capacity.js';

const quota = (name: string, hard: Record<string, string>, used: Record<string, string>, extra: Partial<ResourceQuota['spec']> = {}): ResourceQuota => ({
  apiVersion: 'v1',
  kind: 'ResourceQuota',
  metadata: { name, namespace: 'ns' },
  spec: { hard, ...extra },
  status: { hard, used },
});
const GOLD = 'gold.storageclass.storage.k8s.io/';

describe('csi/controller/capacity', () => {
  const cases: { name: string; quotas: ResourceQuota[]; cls: InfraClass; want: Remaining }[] = [
    { name: 'no quota', quotas: [], cls: { name: 'gold' }, want: { bytes: undefined, claims: undefined } },
    { name: 'the namespace-wide bytes left', quotas: [quota('q', { 'requests.storage': '10Gi' }, { 'requests.storage': '3Gi' })], cls: { name: 'gold' }, want: { bytes: 7 * 1024 ** 3, claims: undefined } },
    {
      name: "the class's own limit when it is tighter",
      quotas: [quota('q', { 'requests.storage': '10Gi', [`${GOLD}requests.storage`]: '2Gi' }, { 'requests.storage': '3Gi', [`${GOLD}requests.storage`]: '1Gi' })],
      cls: { name: 'gold' },
      want: { bytes: 1024 ** 3, claims: undefined },
    },
    { name: "another class's limit does not count", quotas: [quota('q', { [`${GOLD}requests.storage`]: '2Gi' }, { [`${GOLD}requests.storage`]: '0' })], cls: { name: 'silver' }, want: { bytes: undefined, claims: undefined } },
    { name: 'every class limit counts for a default class of unknown name (a lower bound)', quotas: [quota('q', { 'requests.storage': '10Gi', [`${GOLD}requests.storage`]: '2Gi' }, { 'requests.storage': '0', [`${GOLD}requests.storage`]: '0' })], cls: { name: undefined }, want: { bytes: 2 * 1024 ** 3, claims: undefined } },
    { name: 'the tightest of two quotas', quotas: [quota('a', { 'requests.storage': '10Gi' }, { 'requests.storage': '1Gi' }), quota('b', { 'requests.storage': '5Gi' }, { 'requests.storage': '1Gi' })], cls: { name: 'gold' }, want: { bytes: 4 * 1024 ** 3, claims: undefined } },
    { name: 'claim counts, namespace-wide and per class', quotas: [quota('q', { persistentvolumeclaims: '10', [`${GOLD}persistentvolumeclaims`]: '4' }, { persistentvolumeclaims: '2', [`${GOLD}persistentvolumeclaims`]: '4' })], cls: { name: 'gold' }, want: { bytes: undefined, claims: 0 } },
    { name: 'used beyond hard (a quota lowered after the fact) leaves nothing, never a negative', quotas: [quota('q', { 'requests.storage': '1Gi' }, { 'requests.storage': '2Gi' })], cls: { name: 'gold' }, want: { bytes: 0, claims: undefined } },
    { name: 'a scoped quota is not counted', quotas: [quota('q', { 'requests.storage': '1Gi' }, { 'requests.storage': '0' }, { scopes: ['BestEffort'] })], cls: { name: 'gold' }, want: { bytes: undefined, claims: undefined } },
    { name: 'quotas of other resources are not counted', quotas: [quota('q', { 'requests.cpu': '4', pods: '10' }, { 'requests.cpu': '1', pods: '1' })], cls: { name: 'gold' }, want: { bytes: undefined, claims: undefined } },
  ];
  for (const tc of cases) it(`remaining: ${tc.name}`, () => expect(remainingUnderQuotas(tc.quotas, tc.cls)).to.deep.equal(tc.want));

  it('is UNAVAILABLE while the quota controller has not computed the usage', () => {
    const fresh: ResourceQuota = { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'q', namespace: 'ns' }, spec: { hard: { 'requests.storage': '1Gi' } } };
    expect(() => remainingUnderQuotas([fresh], { name: 'gold' }))
      .to.throw(/usage of requests.storage is not computed yet/)
      .with.property('code', status.UNAVAILABLE);
  });

  it('answers the bytes left, nothing when no claim is left, and FAILED_PRECONDITION naming the quota when nothing bounds the bytes', () => {
    expect(availableCapacity({ bytes: 5, claims: 3 }, 'ns', { name: 'gold' })).to.equal(5);
    expect(availableCapacity({ bytes: undefined, claims: 0 }, 'ns', { name: 'gold' })).to.equal(0);
    let err: CsiError | undefined;
    try {
      availableCapacity({ bytes: undefined, claims: 3 }, 'ns', { name: 'gold' });
    } catch (e) {
      err = e as CsiError;
    }
    expect(err?.code).to.equal(status.FAILED_PRECONDITION);
    expect(err?.message).to.include('no ResourceQuota in the infra namespace ns limits requests.storage or gold.storageclass.storage.k8s.io/requests.storage');
  });
});
