// The label, annotation and finalizer keys KubeVirt and CDI write on the objects they manage, spelled exactly as
// upstream does, because the infrastructure provider and users select and read objects by them.

/** Pod label marking virt-launcher pods (value "virt-launcher"). */
export const APP_LABEL = 'kubevirt.io';
export const LAUNCHER_APP = 'virt-launcher';
/** UID of the VMI a launcher pod (or PDB) belongs to; also the UID of the VM on DataVolumes it templates. */
export const CREATED_BY_LABEL = 'kubevirt.io/created-by';
export const VM_NAME_LABEL = 'vm.kubevirt.io/name';
/** Name of the domain (the VMI) on the launcher pod, as label and annotation; virt-api's eviction hook reads it. */
export const DOMAIN_LABEL = 'kubevirt.io/domain';
/** The node a VMI runs on, as a VMI label. */
export const NODE_NAME_LABEL = 'kubevirt.io/nodeName';
/** On a migration target pod: the UID of its VirtualMachineInstanceMigration. */
export const MIGRATION_JOB_UID_LABEL = 'kubevirt.io/migrationJobUID';
export const MIGRATION_JOB_NAME_ANNOTATION = 'kubevirt.io/migrationJobName';
/** On a VMI while it migrates: the node it is moving to. */
export const MIGRATION_TARGET_NODE_LABEL = 'kubevirt.io/migrationTargetNodeName';
/** On a VirtualMachineInstanceMigration: the VMI it moves. */
export const MIGRATION_VMI_LABEL = 'kubevirt.io/vmi-name';
/** On migrations virt-controller creates to evacuate a node: the node being evacuated. */
export const EVACUATION_MIGRATION_ANNOTATION = 'kubevirt.io/evacuationMigration';
/** VM annotation carrying Ignition data for the guest. */
export const IGNITION_ANNOTATION = 'kubevirt.io/ignitiondata';
/** VM/VMI annotation that makes a bridge binding on the pod network migratable. */
export const ALLOW_POD_BRIDGE_MIGRATION_ANNOTATION = 'kubevirt.io/allow-pod-bridge-network-live-migration';

/** On VMIs (and VMs): lets the VM controller record a VMI's final state before it disappears. */
export const VM_CONTROLLER_FINALIZER = 'kubevirt.io/virtualMachineControllerFinalize';
/** On VMIs: holds the VMI until its launcher pods are gone. */
export const VMI_FINALIZER = 'foregroundDeleteVirtualMachine';
/** On migrations: holds the migration until its target pod is cleaned up. */
export const MIGRATION_FINALIZER = 'kubevirt.io/migrationJobFinalize';

/** CDI's label on the PVCs it creates for DataVolumes. */
export const CDI_APP_LABEL = 'app';
export const CDI_APP = 'containerized-data-importer';
/** CDI's PVC annotation naming the import endpoint. */
export const CDI_IMPORT_ENDPOINT_ANNOTATION = 'cdi.kubevirt.io/storage.import.endpoint';
/** Who provisioned a PersistentVolume: kube-controller-manager leaves ours for us to delete. */
export const PROVISIONED_BY_ANNOTATION = 'pv.kubernetes.io/provisioned-by';
