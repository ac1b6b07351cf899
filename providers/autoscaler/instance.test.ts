import { expect } from 'chai';
import type { Condition, Machine } from '../../lib/apis/cluster-api.js';
import { KUBEVIRT_MACHINE_TYPE, type KubevirtMachineContract } from '../../lib/apis/kubevirt-infrastructure.js';
import { instanceOf, kubevirtMachineRef, OTHER_ERROR_CLASS, OUT_OF_RESOURCES_ERROR_CLASS, parsePendingMachineId, type Instance } from './instance.js';

const INFRA_REF = { apiGroup: 'infrastructure.cluster.x-k8s.io', kind: 'KubevirtMachine', name: 'm-infra' };

const base = (extra: Partial<Machine> & { deleting?: boolean } = {}): Machine => ({
  metadata: { namespace: 'ns', name: 'm', ...(extra.deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}) },
  spec: { clusterName: 'c', infrastructureRef: INFRA_REF, ...extra.spec },
  ...(extra.status ? { status: extra.status } : {}),
});

const kubevirtMachine = (...conditions: Condition[]): KubevirtMachineContract => ({ ...KUBEVIRT_MACHINE_TYPE, metadata: { namespace: 'ns', name: 'm-infra' }, status: { conditions } });

// What Cluster API mirrors from the KubevirtMachine's Ready: the summary reason, never why the VM is not up.
const infraNotReady: Condition = { type: 'InfrastructureReady', status: 'False', reason: 'IssuesReported', message: '* VMProvisioned: ...' };

describe('providers/autoscaler/instance', () => {
  const cases: { name: string; machine: Machine; infra?: KubevirtMachineContract; want: Instance }[] = [
    {
      name: 'a Machine with a Node is running',
      machine: base({ spec: { clusterName: 'c', providerID: 'kubevirt://m' }, status: { nodeRef: { name: 'm' } } }),
      want: { id: 'kubevirt://m', status: { instanceState: 'instanceRunning', errorInfo: null } },
    },
    {
      name: 'a Machine without a VM yet is creating, under a placeholder id',
      machine: base(),
      want: { id: 'kvcloud-machine://ns/m', status: { instanceState: 'instanceCreating', errorInfo: null } },
    },
    {
      name: 'a VM that booted but whose node has not registered is still creating',
      machine: base({ spec: { clusterName: 'c', providerID: 'kubevirt://m' }, status: { conditions: [{ type: 'NodeHealthy', status: 'False', reason: 'WaitingForNode' }] } }),
      infra: kubevirtMachine({ type: 'VMProvisioned', status: 'True', reason: 'VMProvisioned' }),
      want: { id: 'kubevirt://m', status: { instanceState: 'instanceCreating', errorInfo: null } },
    },
    {
      name: 'a deleting Machine is deleting whatever else it says',
      machine: base({ deleting: true, spec: { clusterName: 'c', providerID: 'kubevirt://m' }, status: { nodeRef: { name: 'm' } } }),
      want: { id: 'kubevirt://m', status: { instanceState: 'instanceDeleting', errorInfo: null } },
    },
    {
      name: 'a VM that cannot be scheduled is out of resources, read on its KubevirtMachine',
      machine: base({ status: { conditions: [infraNotReady] } }),
      infra: kubevirtMachine({ type: 'Ready', status: 'False', reason: 'IssuesReported' }, { type: 'VMProvisioned', status: 'False', reason: 'Unschedulable', message: 'no node fits' }),
      want: { id: 'kvcloud-machine://ns/m', status: { instanceState: 'instanceCreating', errorInfo: { errorCode: 'Unschedulable', errorMessage: 'VMProvisioned: no node fits', instanceErrorClass: OUT_OF_RESOURCES_ERROR_CLASS } } },
    },
    {
      name: 'a VM that failed for good is another error',
      machine: base({ status: { conditions: [infraNotReady] } }),
      infra: kubevirtMachine({ type: 'VMProvisioned', status: 'False', reason: 'DVFailed' }),
      want: { id: 'kvcloud-machine://ns/m', status: { instanceState: 'instanceCreating', errorInfo: { errorCode: 'DVFailed', errorMessage: 'VMProvisioned: DVFailed', instanceErrorClass: OTHER_ERROR_CLASS } } },
    },
    {
      name: 'a VM still on its way is no error',
      machine: base({ status: { conditions: [infraNotReady] } }),
      infra: kubevirtMachine({ type: 'VMProvisioned', status: 'False', reason: 'VMNotReady' }),
      want: { id: 'kvcloud-machine://ns/m', status: { instanceState: 'instanceCreating', errorInfo: null } },
    },
    {
      name: 'a guest still bootstrapping is no error (BootstrapFailed is retried)',
      machine: base({ spec: { clusterName: 'c', infrastructureRef: INFRA_REF, providerID: 'kubevirt://m' }, status: { conditions: [infraNotReady] } }),
      infra: kubevirtMachine({ type: 'VMProvisioned', status: 'True', reason: 'VMProvisioned' }, { type: 'BootstrapExecSucceeded', status: 'False', reason: 'BootstrapFailed' }),
      want: { id: 'kubevirt://m', status: { instanceState: 'instanceCreating', errorInfo: null } },
    },
    {
      name: 'a reason on the Machine\'s own conditions is not read',
      machine: base({ status: { conditions: [{ type: 'InfrastructureReady', status: 'False', reason: 'Unschedulable' }] } }),
      want: { id: 'kvcloud-machine://ns/m', status: { instanceState: 'instanceCreating', errorInfo: null } },
    },
    {
      name: 'a Machine failure reason wins',
      machine: base({ status: { deprecated: { v1beta1: { failureReason: 'CreateError', failureMessage: 'quota' } } } }),
      infra: kubevirtMachine({ type: 'VMProvisioned', status: 'False', reason: 'Unschedulable' }),
      want: { id: 'kvcloud-machine://ns/m', status: { instanceState: 'instanceCreating', errorInfo: { errorCode: 'CreateError', errorMessage: 'quota', instanceErrorClass: OTHER_ERROR_CLASS } } },
    },
  ];
  for (const tc of cases) it(tc.name, () => expect(instanceOf(tc.machine, tc.infra)).to.deep.equal(tc.want));

  it('names the KubevirtMachine of a Machine, in its namespace, and nothing of another kind or group', () => {
    expect(kubevirtMachineRef(base())).to.deep.equal({ namespace: 'ns', name: 'm-infra' });
    expect(kubevirtMachineRef(base({ spec: { clusterName: 'c', infrastructureRef: { ...INFRA_REF, kind: 'DockerMachine' } } }))).to.equal(undefined);
    expect(kubevirtMachineRef(base({ spec: { clusterName: 'c', infrastructureRef: { ...INFRA_REF, apiGroup: 'example.com' } } }))).to.equal(undefined);
    expect(kubevirtMachineRef({ metadata: { namespace: 'ns', name: 'm' }, spec: { clusterName: 'c' } })).to.equal(undefined);
  });

  it('reads placeholder ids back, and nothing else', () => {
    expect(parsePendingMachineId('kvcloud-machine://ns/m')).to.deep.equal({ namespace: 'ns', name: 'm' });
    for (const id of ['kubevirt://m', 'kvcloud-machine://ns', 'kvcloud-machine://ns/m/x', 'kvcloud-machine:///m']) expect(parsePendingMachineId(id), id).to.equal(undefined);
  });
});
