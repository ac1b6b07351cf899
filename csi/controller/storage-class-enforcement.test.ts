import { status } from '@grpc/grpc-js';
import { expect } from 'chai';
import type { CsiError } from '../status.js';
import { enforceStorageClass, parseStorageClassEnforcement, snapshotClassFor } from './storage-class-enforcement.js';

describe('csi/controller/storage-class-enforcement', () => {
  it('allows every class and the infra default when INFRA_STORAGE_CLASS_ENFORCEMENT is unset, as upstream', () => {
    expect(parseStorageClassEnforcement(undefined)).to.deep.equal({ allowAll: true, allowDefault: true, allowList: [], snapshotMapping: [] });
    expect(parseStorageClassEnforcement('  ')).to.deep.equal({ allowAll: true, allowDefault: true, allowList: [], snapshotMapping: [] });
  });

  it("reads upstream's YAML, a storageSnapshotMapping included, and refuses unknown keys and wrong types", () => {
    expect(parseStorageClassEnforcement('allowList: [fast, slow]\nallowDefault: true\nstorageSnapshotMapping: []\n')).to.deep.equal({ allowAll: false, allowDefault: true, allowList: ['fast', 'slow'], snapshotMapping: [] });
    // The shape HyperShift writes for upstream, a group without storage classes included.
    const hypershift = 'allowAll: false\nallowList: [s1, s2]\nstorageSnapshotMapping: \n- storageClasses:\n  - s1\n  - s2\n  volumeSnapshotClasses:\n  - vs1\n- storageClasses: null\n  volumeSnapshotClasses:\n  - vs2\n';
    expect(parseStorageClassEnforcement(hypershift).snapshotMapping).to.deep.equal([
      { storageClasses: ['s1', 's2'], volumeSnapshotClasses: ['vs1'] },
      { storageClasses: [], volumeSnapshotClasses: ['vs2'] },
    ]);
    expect(() => parseStorageClassEnforcement('storageSnapshotMapping: {storageClasses: [a]}')).to.throw(/storageSnapshotMapping is not a list/);
    expect(() => parseStorageClassEnforcement('storageSnapshotMapping: [{snapshotClasses: [a]}]')).to.throw(/storageSnapshotMapping\[0\]: unknown key snapshotClasses/);
    expect(() => parseStorageClassEnforcement('storageSnapshotMapping: [{storageClasses: a}]')).to.throw(/storageSnapshotMapping\[0\].storageClasses is not a list/);
    expect(() => parseStorageClassEnforcement('allowlist: [fast]')).to.throw(/unknown key allowlist/);
    expect(() => parseStorageClassEnforcement('allowAll: "yes"')).to.throw(/allowAll is not true or false/);
    expect(() => parseStorageClassEnforcement('allowList: fast')).to.throw(/allowList is not a list/);
  });

  const cases = [
    { name: 'a listed class', policy: 'allowList: [fast]', sc: 'fast', refused: false },
    { name: 'an unlisted class', policy: 'allowList: [fast]', sc: 'slow', refused: true },
    { name: 'the infra default when allowDefault', policy: 'allowDefault: true', sc: undefined, refused: false },
    { name: 'the infra default without allowDefault', policy: 'allowList: [fast]', sc: undefined, refused: true },
    { name: 'any class with allowAll', policy: 'allowAll: true', sc: 'anything', refused: false },
  ];
  for (const tc of cases) {
    it(`${tc.refused ? 'refuses' : 'allows'} ${tc.name}`, () => {
      const policy = parseStorageClassEnforcement(tc.policy);
      let code: number | undefined;
      try {
        enforceStorageClass(policy, tc.sc);
      } catch (err) {
        code = (err as CsiError).code;
      }
      expect(code).to.equal(tc.refused ? status.INVALID_ARGUMENT : undefined);
    });
  }

  describe('the infra snapshot class (storageSnapshotMapping)', () => {
    const restricted = parseStorageClassEnforcement('allowList: [gold, silver, bronze]\nstorageSnapshotMapping:\n- {storageClasses: [gold, silver], volumeSnapshotClasses: [gold-snap, any-snap]}\n');
    const open = parseStorageClassEnforcement('allowAll: true\nstorageSnapshotMapping:\n- {storageClasses: [gold], volumeSnapshotClasses: [gold-snap]}\n');
    const table: { name: string; policy: typeof restricted; sc: string | undefined; requested: string | undefined; want: string | undefined | RegExp }[] = [
      { name: 'a mapped class for its storage class', policy: restricted, sc: 'silver', requested: 'any-snap', want: 'any-snap' },
      { name: 'a class mapped to another storage class', policy: restricted, sc: 'bronze', requested: 'gold-snap', want: /no infra VolumeSnapshotClass is mapped to infra StorageClass bronze/ },
      { name: 'an unmapped class', policy: restricted, sc: 'gold', requested: 'other', want: /infra VolumeSnapshotClass other does not go with infra StorageClass gold: infraSnapshotClassName must be one of gold-snap, any-snap/ },
      { name: 'no class where the mapping has some', policy: restricted, sc: 'gold', requested: undefined, want: /the infra default VolumeSnapshotClass is not allowed for infra StorageClass gold/ },
      { name: 'a claim of a storage class outside allowList', policy: restricted, sc: 'tin', requested: 'gold-snap', want: /tin: it is not in INFRA_STORAGE_CLASS_ENFORCEMENT allowList/ },
      { name: 'a claim of the infra default storage class', policy: restricted, sc: undefined, requested: 'gold-snap', want: /infra default StorageClass/ },
      { name: 'any class where every class is allowed', policy: open, sc: 'bronze', requested: 'other', want: 'other' },
      { name: 'the infra default where every class is allowed', policy: open, sc: 'gold', requested: undefined, want: undefined },
    ];
    for (const tc of table) {
      it(`${tc.want instanceof RegExp ? 'refuses' : 'takes'} ${tc.name}`, () => {
        if (!(tc.want instanceof RegExp)) {
          expect(snapshotClassFor(tc.policy, tc.sc, tc.requested)).to.equal(tc.want);
          return;
        }
        let err: CsiError | undefined;
        try {
          snapshotClassFor(tc.policy, tc.sc, tc.requested);
        } catch (e) {
          err = e as CsiError;
        }
        expect(err?.code).to.equal(status.INVALID_ARGUMENT);
        expect(err?.message).to.match(tc.want);
      });
    }
  });
});
