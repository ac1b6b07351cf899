import { expect } from 'chai';
import type { ConditionUpdate } from '../../../lib/controller/conditions.js';
import type { TenantControlPlane } from '../api/index.js';
import type { KamajiControlPlane } from '../api/kamajicontrolplane.js';
import type { KamajiControlPlaneStatus } from '../api/kamajicontrolplane-status.js';
import { computeStatus } from './status.js';

const kcp = (replicas: number, status?: KamajiControlPlaneStatus): KamajiControlPlane =>
  ({ metadata: { name: 'acme', namespace: 't' }, spec: { version: 'v1.37.1', replicas }, ...(status ? { status } : {}) });

type VersionState = 'Provisioning' | 'Ready' | 'Upgrading' | 'NotReady';
function tcp(specVersion: string, version: { version?: string; status: VersionState } | undefined, dep: Record<string, number> = {}): TenantControlPlane {
  return {
    metadata: { name: 'acme' },
    spec: { controlPlane: { service: { serviceType: 'LoadBalancer' } }, kubernetes: { version: specVersion, kubelet: {} } },
    status: { kubernetesResources: { ...(version ? { version } : {}), deployment: { selector: 'kamaji.clastix.io/name=acme', ...dep } } },
  };
}

const cond = (conditions: ConditionUpdate[], type: string) => {
  const c = conditions.find((x) => x.type === type);
  return c ? `${c.status}/${c.reason}` : 'absent';
};

describe('kamajicontrolplane/status', () => {
  it('reports nothing initialized and Available False before the TenantControlPlane exists', () => {
    const { status, conditions } = computeStatus({ kcp: kcp(1), tcp: undefined, secretsReady: false });
    expect(status).to.deep.include({ initialization: { controlPlaneInitialized: false }, initialized: false, ready: false, replicas: 0, externalManagedControlPlane: true, selector: 'kamaji.clastix.io/name=acme' });
    expect(status).to.not.have.property('versions');
    expect(cond(conditions, 'Available')).to.equal('False/NotInitialized');
    expect(cond(conditions, 'KamajiControlPlaneIsInitialized')).to.equal('False/WaitingForTenantControlPlane');
  });

  it('waits for the kubeconfig and CA Secrets before calling the control plane initialized', () => {
    const { status, conditions } = computeStatus({ kcp: kcp(1), tcp: tcp('v1.37.1', { version: 'v1.37.1', status: 'Ready' }, { replicas: 1, readyReplicas: 1 }), secretsReady: false });
    expect(status.initialization?.controlPlaneInitialized).to.equal(false);
    expect(cond(conditions, 'KamajiControlPlaneIsInitialized')).to.equal('False/WaitingForKubeadmResources');
  });

  it('fills the v1beta2 and v1alpha1 fields from a Ready TenantControlPlane', () => {
    const { status, conditions } = computeStatus({
      kcp: kcp(2),
      tcp: tcp('v1.37.1', { version: 'v1.37.1', status: 'Ready' }, { replicas: 2, readyReplicas: 2, availableReplicas: 2, updatedReplicas: 2 }),
      secretsReady: true,
    });
    expect(status).to.deep.equal({
      initialization: { controlPlaneInitialized: true },
      initialized: true,
      ready: true,
      replicas: 2,
      readyReplicas: 2,
      availableReplicas: 2,
      upToDateReplicas: 2,
      updatedReplicas: 2,
      unavailableReplicas: 0,
      selector: 'kamaji.clastix.io/name=acme',
      externalManagedControlPlane: true,
      version: 'v1.37.1',
      versions: [{ version: 'v1.37.1', replicas: 2 }],
    });
    expect(conditions.map((c) => `${c.type}=${c.status}/${c.reason}`)).to.deep.equal([
      'Sleeping=False/Awake',
      'KamajiControlPlaneIsInitialized=True/Initialized',
      'KamajiControlPlaneIsReady=True/Ready',
      'Available=True/Available',
    ]);
  });

  it('lists both versions, oldest first, while an upgrade rolls', () => {
    const { status, conditions } = computeStatus({
      kcp: kcp(2, { initialization: { controlPlaneInitialized: true } }),
      tcp: tcp('v1.37.1', { version: 'v1.36.4', status: 'Upgrading' }, { replicas: 3, readyReplicas: 3, availableReplicas: 3, updatedReplicas: 1 }),
      secretsReady: true,
    });
    expect(status.version).to.equal('v1.36.4');
    expect(status.versions).to.deep.equal([{ version: 'v1.36.4', replicas: 2 }, { version: 'v1.37.1', replicas: 1 }]);
    expect(cond(conditions, 'Available')).to.equal('True/Available');
  });

  it('stays initialized once initialized, even when the control plane is down', () => {
    const { status, conditions } = computeStatus({ kcp: kcp(1, { initialization: { controlPlaneInitialized: true } }), tcp: tcp('v1.37.1', { version: 'v1.37.1', status: 'NotReady' }, { replicas: 1 }), secretsReady: true });
    expect(status.initialization?.controlPlaneInitialized).to.equal(true);
    expect(status.unavailableReplicas).to.equal(1);
    expect(cond(conditions, 'Available')).to.equal('False/NotReady');
    expect(cond(conditions, 'KamajiControlPlaneIsReady')).to.equal('False/NotReady');
  });

  it('says Sleeping once replicas 0 has stopped every pod, and is not Available', () => {
    const { status, conditions } = computeStatus({ kcp: kcp(0, { initialization: { controlPlaneInitialized: true } }), tcp: tcp('v1.37.1', { version: 'v1.37.1', status: 'NotReady' }, {}), secretsReady: true });
    expect(status.replicas).to.equal(0);
    expect(status).to.not.have.property('versions');
    expect(status.version).to.equal('v1.37.1');
    expect(cond(conditions, 'Sleeping')).to.equal('True/Sleeping');
    expect(cond(conditions, 'Available')).to.equal('False/Sleeping');
    expect(cond(conditions, 'KamajiControlPlaneIsReady')).to.equal('False/Sleeping');
  });

  it('is falling asleep while pods are still stopping', () => {
    const { conditions } = computeStatus({ kcp: kcp(0, { initialization: { controlPlaneInitialized: true } }), tcp: tcp('v1.37.1', { version: 'v1.37.1', status: 'Ready' }, { replicas: 1, readyReplicas: 1 }), secretsReady: true });
    expect(cond(conditions, 'Sleeping')).to.equal('False/FallingAsleep');
  });
});
