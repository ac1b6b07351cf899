// KubevirtMachineTemplate reconciler: publishes what one machine of the template offers (status.capacity and
// status.nodeInfo) so cluster-autoscaler can scale its MachineDeployment up from zero.
import { isDeepStrictEqual } from 'node:util';
import { done, type Reconciler, type Result } from '../../../lib/controller/reconciler.js';
import type { KubevirtMachineTemplate } from '../api/index.js';
import { templateCapacity, templateNodeInfo } from '../vm/capacity.js';

export class KubevirtMachineTemplateReconciler implements Reconciler<KubevirtMachineTemplate> {
  reconcile(template: KubevirtMachineTemplate): Promise<Result> {
    const spec = template.spec.template.spec.virtualMachineTemplate.spec;
    const capacity = templateCapacity(spec);
    const nodeInfo = templateNodeInfo(spec);
    const status = (template.status ??= {});
    if (!isDeepStrictEqual(status.capacity ?? {}, capacity)) status.capacity = capacity;
    if (!isDeepStrictEqual(status.nodeInfo, nodeInfo)) status.nodeInfo = nodeInfo as typeof status.nodeInfo;
    return Promise.resolve(done());
  }
}
