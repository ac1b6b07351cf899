import { expect } from 'chai';
import type { StorageStatus } from '../api/index.js';
import { blocksWrites, dataStoresOccupied, decideStorage, type Migration } from './migration.js';

const setUp = { setup: { checksum: 'abc' } };
const running = (phase: Migration['phase']): StorageStatus => ({ dataStoreName: phase === 'Cleaning' ? 'b' : 'a', ...setUp, migration: { source: 'a', target: 'b', phase } });

describe('datastore/migration', () => {
  const cases: { name: string; spec: string | undefined; storage: StorageStatus | undefined; serving: string | undefined; migration: Migration | undefined; occupied: string[] }[] = [
    { name: 'a new tenant uses spec.dataStore', spec: 'a', storage: undefined, serving: 'a', migration: undefined, occupied: ['a'] },
    { name: 'a tenant with an empty spec.dataStore stays where status says', spec: undefined, storage: { dataStoreName: 'a', ...setUp }, serving: 'a', migration: undefined, occupied: ['a'] },
    { name: 'a tenant not set up yet simply takes the new name: no data to move', spec: 'b', storage: { dataStoreName: 'a' }, serving: 'b', migration: undefined, occupied: ['b'] },
    { name: 'a changed spec.dataStore on a set-up tenant starts a migration, still served by the source', spec: 'b', storage: { dataStoreName: 'a', ...setUp }, serving: 'a', migration: { source: 'a', target: 'b', phase: 'BlockingWrites' }, occupied: ['a', 'b'] },
    { name: 'the source serves while writes are blocked', spec: 'b', storage: running('BlockingWrites'), serving: 'a', migration: { source: 'a', target: 'b', phase: 'BlockingWrites' }, occupied: ['a', 'b'] },
    { name: 'the source serves while copying', spec: 'b', storage: running('Copying'), serving: 'a', migration: { source: 'a', target: 'b', phase: 'Copying' }, occupied: ['a', 'b'] },
    { name: 'the target serves once the copy is done', spec: 'b', storage: running('Switching'), serving: 'b', migration: { source: 'a', target: 'b', phase: 'Switching' }, occupied: ['a', 'b'] },
    { name: 'the target serves while the source is cleaned', spec: 'b', storage: running('Cleaning'), serving: 'b', migration: { source: 'a', target: 'b', phase: 'Cleaning' }, occupied: ['a', 'b'] },
    { name: 'a migration runs to its end even if spec.dataStore changes again', spec: 'c', storage: running('Copying'), serving: 'a', migration: { source: 'a', target: 'b', phase: 'Copying' }, occupied: ['a', 'b'] },
    { name: 'a completed migration leaves the tenant on its target only', spec: 'b', storage: { dataStoreName: 'b', ...setUp, migration: { source: 'a', target: 'b', phase: 'Completed' } }, serving: 'b', migration: undefined, occupied: ['b'] },
    { name: 'after a completed migration, another change starts the next one', spec: 'c', storage: { dataStoreName: 'b', ...setUp, migration: { source: 'a', target: 'b', phase: 'Completed' } }, serving: 'b', migration: { source: 'b', target: 'c', phase: 'BlockingWrites' }, occupied: ['b', 'c'] },
  ];
  for (const tc of cases) {
    it(tc.name, () => {
      const d = decideStorage(tc.spec, tc.storage);
      expect(d.serving).to.equal(tc.serving);
      expect(d.migration && { source: d.migration.source, target: d.migration.target, phase: d.migration.phase }).to.deep.equal(tc.migration);
      expect(dataStoresOccupied(tc.spec, tc.storage)).to.deep.equal(tc.occupied);
    });
  }

  it('blocks writes from the start until the Deployment has switched, and not while cleaning the source', () => {
    const phases = ['BlockingWrites', 'Copying', 'Switching', 'Cleaning', 'Completed'] as const;
    expect(phases.map((phase) => blocksWrites({ source: 'a', target: 'b', phase }))).to.deep.equal([true, true, true, false, false]);
    expect(blocksWrites(undefined)).to.equal(false);
  });
});
