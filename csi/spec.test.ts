import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { CSI_SPEC_VERSION, defaultCsiProtoPath } from './spec.js';

describe('csi/spec', () => {
  it('serves the CSI spec release e2e/tools/versions.env fetches (the one csi-sanity and the sidecars use)', () => {
    const env = readFileSync(new URL('../e2e/tools/versions.env', import.meta.url), 'utf8');
    expect(/^CSI_SPEC_VERSION=(.*)$/m.exec(env)?.[1]).to.equal(CSI_SPEC_VERSION);
  });

  it('finds csi.proto where `make tools` puts it, under KVCLOUD_CACHE when set', () => {
    expect(defaultCsiProtoPath({ KVCLOUD_CACHE: '/cache' })).to.equal(`/cache/bin/csi-spec-${CSI_SPEC_VERSION}/csi.proto`);
  });
});
