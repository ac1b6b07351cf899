import { status } from '@grpc/grpc-js';
import { expect } from 'chai';
import type { CsiError } from '../status.js';
import { enforceStorageClass, parseStorageClassEnforcement } from './storage-class-enforcement.js';

describe('csi/controller/storage-class-enforcement', () => {
  it('allows every class and the infra default when INFRA_STORAGE_CLASS_ENFORCEMENT is unset, as upstream', () => {
    expect(parseStorageClassEnforcement(undefined)).to.deep.equal({ allowAll: true, allowDefault: true, allowList: [] });
    expect(parseStorageClassEnforcement('  ')).to.deep.equal({ allowAll: true, allowDefault: true, allowList: [] });
  });

  it("reads upstream's YAML, a storageSnapshotMapping included, and refuses unknown keys and wrong types", () => {
    expect(parseStorageClassEnforcement('allowList: [fast, slow]\nallowDefault: true\nstorageSnapshotMapping: []\n')).to.deep.equal({ allowAll: false, allowDefault: true, allowList: ['fast', 'slow'] });
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
});
