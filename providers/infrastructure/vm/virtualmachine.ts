// The VirtualMachine for one KubevirtMachine: the user's template, named after the machine so that a retry or a
// restarted manager finds the VM it already made instead of creating a second one, labelled so the VM and its
// VMI can be traced back (and selected by the control-plane Service), with per-machine DataVolume names, zone
// placement for the failure domain, and the machine's bootstrap data as its cloud-init disk.
import type { ObjectMeta } from '../../../lib/kube/object.js';
import {
  VIRTUAL_MACHINE_TYPE,
  type DataVolumeTemplateSpec,
  type VirtualMachine,
  type VirtualMachineInstanceSpec,
  type VirtualMachineSpec,
  type Volume,
} from '../../../lib/apis/kubevirt.js';
import {
  CLUSTER_NAME_LABEL,
  KUBEVIRT_MACHINE_NAME_LABEL,
  KUBEVIRT_MACHINE_NAMESPACE_LABEL,
  NAME_LABEL,
  ROLE_CONTROL_PLANE,
  ROLE_LABEL,
  ROLE_WORKER,
  VM_NAME_LABEL,
} from '../api/labels.js';
import { PROVIDER_ID_PREFIX } from '../api/kubevirtmachine.js';
import { withCloudInit, type CloudInitDelivery } from './cloud-init.js';
import { withZoneAffinity } from './failure-domain.js';

export function providerIDFor(vmName: string): string {
  return `${PROVIDER_ID_PREFIX}${vmName}`;
}

export interface VirtualMachineTemplate {
  metadata?: Pick<ObjectMeta, 'labels' | 'annotations' | 'namespace'> | null | undefined;
  spec: VirtualMachineSpec;
}

export interface VirtualMachineInput {
  /** The KubevirtMachine: its name becomes the VM's, its namespace goes into the back-reference label. */
  machine: { name: string; namespace: string };
  /** Namespace the VM lives in (infra namespace). */
  namespace: string;
  clusterName: string;
  controlPlane: boolean;
  template: VirtualMachineTemplate;
  /** The Machine's failure domain: an infra zone. */
  failureDomain?: string | undefined;
  cloudInit: CloudInitDelivery;
}

/** Labels shared by the VM and its VMI template. */
export function machineLabels(input: Pick<VirtualMachineInput, 'machine' | 'clusterName' | 'controlPlane'>): Record<string, string> {
  return {
    [VM_NAME_LABEL]: input.machine.name,
    [NAME_LABEL]: input.machine.name,
    [ROLE_LABEL]: input.controlPlane ? ROLE_CONTROL_PLANE : ROLE_WORKER,
    [CLUSTER_NAME_LABEL]: input.clusterName,
    [KUBEVIRT_MACHINE_NAME_LABEL]: input.machine.name,
    [KUBEVIRT_MACHINE_NAMESPACE_LABEL]: input.machine.namespace,
  };
}

export function buildVirtualMachine(input: VirtualMachineInput): VirtualMachine {
  const spec = structuredClone(input.template.spec);
  const labels = machineLabels(input);
  const renames = new Map<string, string>();
  const dataVolumeTemplates = spec.dataVolumeTemplates?.map((dv) => prefixDataVolume(dv, input.machine.name, renames));
  const vmiSpec: VirtualMachineInstanceSpec = spec.template.spec ?? { domain: { devices: {} } };
  const placed = withZoneAffinity(vmiSpec.affinity, input.failureDomain);
  const withVolumes: VirtualMachineInstanceSpec = {
    ...vmiSpec,
    ...(placed ? { affinity: placed } : {}),
    ...(vmiSpec.volumes ? { volumes: vmiSpec.volumes.map((v) => renameVolumeClaims(v, renames)) } : {}),
  };
  const templateMeta = spec.template.metadata ?? {};
  const vm: VirtualMachine = {
    apiVersion: VIRTUAL_MACHINE_TYPE.apiVersion,
    kind: VIRTUAL_MACHINE_TYPE.kind,
    metadata: {
      name: input.machine.name,
      namespace: input.namespace,
      labels: { ...input.template.metadata?.labels, ...labels },
      ...(input.template.metadata?.annotations ? { annotations: { ...input.template.metadata.annotations } } : {}),
    },
    spec: {
      ...spec,
      // A machine's VM must run; a template that says neither keeps KubeVirt's Halted default otherwise.
      ...(spec.running === undefined && spec.runStrategy === undefined ? { runStrategy: 'Always' as const } : {}),
      ...(dataVolumeTemplates ? { dataVolumeTemplates } : {}),
      template: {
        ...spec.template,
        metadata: { ...templateMeta, labels: { ...templateMeta.labels, ...labels } },
        spec: withCloudInit(withVolumes, input.cloudInit),
      },
    },
  };
  return vm;
}

// DataVolumes are namespace-wide names: every machine of a MachineDeployment shares one template, so each VM's
// volumes get the machine name as prefix (CAPK's naming, so existing volumes are found again).
function prefixDataVolume(dv: DataVolumeTemplateSpec, prefix: string, renames: Map<string, string>): DataVolumeTemplateSpec {
  const original = dv.metadata.name ?? '';
  const name = `${prefix}-${original}`;
  renames.set(original, name);
  return { ...dv, metadata: { ...dv.metadata, name } };
}

function renameVolumeClaims(volume: Volume, renames: Map<string, string>): Volume {
  const dv = volume.dataVolume && renames.get(volume.dataVolume.name);
  if (volume.dataVolume && dv) return { ...volume, dataVolume: { ...volume.dataVolume, name: dv } };
  const pvc = volume.persistentVolumeClaim && renames.get(volume.persistentVolumeClaim.claimName);
  if (volume.persistentVolumeClaim && pvc) return { ...volume, persistentVolumeClaim: { ...volume.persistentVolumeClaim, claimName: pvc } };
  return volume;
}
