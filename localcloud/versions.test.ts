import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { SUPPORTED_KUBERNETES_MINORS } from '../providers/controlplane/api/kubernetes-versions.js';
import { kubernetesMinors, parseVersionsEnv, toolsDir } from './versions.js';

const env = (text: string) => parseVersionsEnv(text);

describe('localcloud/versions', () => {
  it('holds the control plane provider\'s supported Kubernetes minors equal to what versions.env builds', () => {
    expect(kubernetesMinors(parseVersionsEnv(readFileSync(`${toolsDir}versions.env`, 'utf8')))).to.deep.equal(SUPPORTED_KUBERNETES_MINORS);
  });

  const cases = [
    { name: 'the newest from KUBERNETES_VERSION, the oldest from the older releases', text: 'KUBERNETES_VERSION=v1.37.2\nKUBERNETES_OLDER_VERSIONS=v1.35.4,v1.36.0', want: { oldest: 35, newest: 37 } },
    { name: 'one minor when no older release is built', text: 'KUBERNETES_VERSION=v1.37.2\nKUBERNETES_OLDER_VERSIONS=', want: { oldest: 37, newest: 37 } },
    { name: 'the oldest whatever the order', text: 'KUBERNETES_VERSION=v1.38.0\nKUBERNETES_OLDER_VERSIONS=v1.37.0,v1.34.1', want: { oldest: 34, newest: 38 } },
  ];
  for (const tc of cases) it(`reads ${tc.name}`, () => expect(kubernetesMinors(env(tc.text))).to.deep.equal(tc.want));

  it('refuses an older release that is not older, and a version that is no 1.x release', () => {
    expect(() => kubernetesMinors(env('KUBERNETES_VERSION=v1.37.2\nKUBERNETES_OLDER_VERSIONS=v1.37.0'))).to.throw(/minor 37 is not older/);
    expect(() => kubernetesMinors(env('KUBERNETES_VERSION=latest'))).to.throw(/KUBERNETES_VERSION: "latest" is no Kubernetes 1\.x release/);
  });
});
