import { expect } from 'chai';
import type { Machine } from '../../lib/apis/cluster-api.js';
import { instanceOf, OTHER_ERROR_CLASS, OUT_OF_RESOURCES_ERROR_CLASS, parsePendingMachineId, type Instance } from './instance.js';

const base = (extra: Partial<Machine> & { deleting?: boolean } = {}): Machine => ({
  metadata: { namespace: 'ns', name: 'm', ...(extra.deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}) },
  spec: { clusterName: 'c', ...extra.spec },
  ...(extra.status ? { status: extra.status } : {}),
});

describe('providers/autoscaler/instance', () => {
  const cases: { name: string; machine: Machine; want: Instance }[] = [
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
      want: { id: 'kubevirt://m', status: { instanceState: 'instanceCreating', errorInfo: null } },
    },
    {
      name: 'a deleting Machine is deleting whatever else it says',
      machine: base({ deleting: true, spec: { clusterName: 'c', providerID: 'kubevirt://m' }, status: { nodeRef: { name: 'm' } } }),
      want: { id: 'kubevirt://m', status: { instanceState: 'instanceDeleting', errorInfo: null } },
    },
    {
      name: 'a VM that cannot be scheduled is out of resources',
      machine: base({ status: { conditions: [{ type: 'InfrastructureReady', status: 'False', reason: 'Unschedulable', message: 'no node fits' }] } }),
      want: { id: 'kvcloud-machine://ns/m', status: { instanceState: 'instanceCreating', errorInfo: { errorCode: 'Unschedulable', errorMessage: 'InfrastructureReady: no node fits', instanceErrorClass: OUT_OF_RESOURCES_ERROR_CLASS } } },
    },
    {
      name: 'a VM that failed for good is another error',
      machine: base({ status: { conditions: [{ type: 'InfrastructureReady', status: 'False', reason: 'DVFailed' }] } }),
      want: { id: 'kvcloud-machine://ns/m', status: { instanceState: 'instanceCreating', errorInfo: { errorCode: 'DVFailed', errorMessage: 'InfrastructureReady: DVFailed', instanceErrorClass: OTHER_ERROR_CLASS } } },
    },
    {
      name: 'a Machine failure reason wins',
      machine: base({ status: { deprecated: { v1beta1: { failureReason: 'CreateError', failureMessage: 'quota' } } } }),
      want: { id: 'kvcloud-machine://ns/m', status: { instanceState: 'instanceCreating', errorInfo: { errorCode: 'CreateError', errorMessage: 'quota', instanceErrorClass: OTHER_ERROR_CLASS } } },
    },
  ];
  for (const tc of cases) it(tc.name, () => expect(instanceOf(tc.machine)).to.deep.equal(tc.want));

  it('reads placeholder ids back, and nothing else', () => {
    expect(parsePendingMachineId('kvcloud-machine://ns/m')).to.deep.equal({ namespace: 'ns', name: 'm' });
    for (const id of ['kubevirt://m', 'kvcloud-machine://ns', 'kvcloud-machine://ns/m/x', 'kvcloud-machine:///m']) expect(parsePendingMachineId(id), id).to.equal(undefined);
  });
});
