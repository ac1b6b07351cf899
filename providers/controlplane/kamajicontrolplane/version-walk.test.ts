import { expect } from 'chai';
import type { TenantControlPlane } from '../api/index.js';
import { nextVersion, parseVersion, withV, type VersionStep } from './version-walk.js';

function tcp(spec: string, status?: { version?: string; status?: 'Ready' | 'Upgrading' | 'Provisioning' | 'NotReady' }): TenantControlPlane {
  return {
    metadata: { name: 'acme' },
    spec: { controlPlane: { service: { serviceType: 'LoadBalancer' } }, kubernetes: { version: spec, kubelet: {} } },
    ...(status ? { status: { kubernetesResources: { version: status } } } : {}),
  };
}

describe('kamajicontrolplane/version-walk', () => {
  const cases: { name: string; desired: string; tcp: TenantControlPlane | undefined; want: Pick<VersionStep, 'version' | 'state'> }[] = [
    { name: 'a new control plane starts at the wanted version, with a v added', desired: '1.35.2', tcp: undefined, want: { version: 'v1.35.2', state: 'Direct' } },
    { name: 'a patch upgrade goes directly', desired: 'v1.35.4', tcp: tcp('v1.35.2', { version: 'v1.35.2', status: 'Ready' }), want: { version: 'v1.35.4', state: 'Direct' } },
    { name: 'one minor up goes directly', desired: 'v1.36.1', tcp: tcp('v1.35.2', { version: 'v1.35.2', status: 'Ready' }), want: { version: 'v1.36.1', state: 'Direct' } },
    { name: 'two minors up steps to the next minor .0 once rolled out', desired: 'v1.37.1', tcp: tcp('v1.35.2', { version: 'v1.35.2', status: 'Ready' }), want: { version: 'v1.36.0', state: 'Walking' } },
    { name: 'two minors up waits while the current version is not rolled out', desired: 'v1.37.1', tcp: tcp('v1.35.2', { version: 'v1.35.1', status: 'Upgrading' }), want: { version: 'v1.35.2', state: 'WaitingForRollout' } },
    { name: 'the step in flight is kept until it runs everywhere', desired: 'v1.37.1', tcp: tcp('v1.36.0', { version: 'v1.35.2', status: 'Upgrading' }), want: { version: 'v1.36.0', state: 'WaitingForRollout' } },
    { name: 'the last step goes directly once the waypoint runs', desired: 'v1.37.1', tcp: tcp('v1.36.0', { version: 'v1.36.0', status: 'Ready' }), want: { version: 'v1.37.1', state: 'Direct' } },
    { name: 'three minors walk through two waypoints', desired: 'v1.37.0', tcp: tcp('v1.35.0', { version: 'v1.35.0', status: 'Ready' }), want: { version: 'v1.36.0', state: 'Walking' } },
    { name: 'a control plane that never served waits before walking', desired: 'v1.37.0', tcp: tcp('v1.35.0', { status: 'Provisioning' }), want: { version: 'v1.35.0', state: 'WaitingForRollout' } },
    { name: 'a downgrade is refused and the TenantControlPlane keeps its version', desired: 'v1.35.0', tcp: tcp('v1.36.2', { version: 'v1.36.2', status: 'Ready' }), want: { version: 'v1.36.2', state: 'DowngradeRefused' } },
    { name: 'the same version is a no-op', desired: '1.36.2', tcp: tcp('v1.36.2', { version: 'v1.36.2', status: 'Ready' }), want: { version: 'v1.36.2', state: 'Direct' } },
  ];
  for (const tc of cases) {
    it(tc.name, () => {
      const step = nextVersion(tc.desired, tc.tcp);
      expect({ version: step.version, state: step.state }).to.deep.equal(tc.want);
    });
  }

  it('parses versions with and without v and with a pre-release', () => {
    expect(parseVersion('v1.37.1')).to.deep.equal({ major: 1, minor: 37, patch: 1 });
    expect(parseVersion('1.37.0-rc.1')).to.deep.equal({ major: 1, minor: 37, patch: 0 });
    expect(parseVersion('latest')).to.equal(undefined);
    expect(withV('1.2.3')).to.equal('v1.2.3');
    expect(withV('v1.2.3')).to.equal('v1.2.3');
  });
});
