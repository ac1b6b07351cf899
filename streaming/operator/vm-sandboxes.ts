// Tenant VMs as CRI objects for the operator endpoint: each VirtualMachineInstance is a pod sandbox, and its serial
// console is the one container in it, named "console". Ids are sha256 hex of the VMI's uid (a new incarnation of
// the VM is a new sandbox, as a recreated pod is), and `<namespace>/<vm>` names the same sandbox and its console
// container wherever an id is asked for, so an operator can type the VM's name instead of copying an id.
import { createHash } from 'node:crypto';
import type { VirtualMachineInstance } from '../../lib/apis/kubevirt.js';
import {
  byIdPrefix,
  CONTAINER_NAME_LABEL,
  nanos,
  POD_NAME_LABEL,
  POD_NAMESPACE_LABEL,
  POD_UID_LABEL,
  type ContainerState,
  type CriContainer,
  type CriContainerStatus,
  type CriPodSandbox,
} from '../cri/objects.js';

export const CONSOLE_CONTAINER = 'console';
/** Cluster API's label on a cluster's objects; CAPK puts it on the VMs of a cluster's Machines. */
export const CLUSTER_NAME_LABEL = 'cluster.x-k8s.io/cluster-name';
/** CAPK's label naming the namespace of the KubevirtMachine behind a VM, where its cluster's SSH key Secret is. */
export const KUBEVIRT_MACHINE_NAMESPACE_LABEL = 'capk.cluster.x-k8s.io/kubevirt-machine-namespace';
/** CAPK's Secret `<cluster>-ssh-keys`: the cluster's key pair, `key` the private half. */
export const SSH_KEYS_SECRET_SUFFIX = '-ssh-keys';
export const SSH_PRIVATE_KEY_SECRET_KEY = 'key';

/** The object audit Events are about: the VirtualMachine behind the VMI, or the VMI when it has none. */
export interface EventSubject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; uid?: string };
}

/** What a session needs to reach one VM. */
export interface VmTarget {
  namespace: string;
  name: string;
  uid: string;
  subject: EventSubject;
  /** Where the cluster's SSH key pair is, when the VM belongs to a Cluster API cluster. */
  sshKeys: { namespace: string; name: string } | undefined;
}

export interface VmEntry {
  sandbox: CriPodSandbox;
  container: CriContainer;
  status: CriContainerStatus;
  ip: string;
  target: VmTarget;
}

const hexId = (kind: 'sandbox' | 'container', uid: string): string => createHash('sha256').update(`${kind}\0${uid}`).digest('hex');

function containerState(vmi: VirtualMachineInstance): ContainerState {
  switch (vmi.status?.phase) {
    case 'Running':
      return 'CONTAINER_RUNNING';
    case 'Succeeded':
    case 'Failed':
      return 'CONTAINER_EXITED';
    case 'Unknown':
      return 'CONTAINER_UNKNOWN';
    default:
      return 'CONTAINER_CREATED';
  }
}

function phaseTime(vmi: VirtualMachineInstance, phases: string[]): string | undefined {
  return vmi.status?.phaseTransitionTimestamps?.filter((t) => phases.includes(t.phase)).at(-1)?.phaseTransitionTimestamp;
}

export function vmTarget(vmi: VirtualMachineInstance): VmTarget {
  const { name = '', namespace = '', uid = '', labels = {} } = vmi.metadata;
  const owner = vmi.metadata.ownerReferences?.find((r) => r.controller === true && r.kind === 'VirtualMachine');
  const subject: EventSubject = owner
    ? { apiVersion: owner.apiVersion, kind: owner.kind, metadata: { name: owner.name, namespace, uid: owner.uid } }
    : { apiVersion: vmi.apiVersion ?? 'kubevirt.io/v1', kind: 'VirtualMachineInstance', metadata: { name, namespace, uid } };
  const cluster = labels[CLUSTER_NAME_LABEL];
  const sshKeys = cluster ? { namespace: labels[KUBEVIRT_MACHINE_NAMESPACE_LABEL] ?? namespace, name: `${cluster}${SSH_KEYS_SECRET_SUFFIX}` } : undefined;
  return { namespace, name, uid, subject, sshKeys };
}

/** The sandbox, its console container and that container's status for one VMI. */
export function vmEntry(vmi: VirtualMachineInstance): VmEntry {
  const target = vmTarget(vmi);
  const { name, namespace, uid } = target;
  const sandboxId = hexId('sandbox', uid);
  const podLabels = { [POD_NAME_LABEL]: name, [POD_NAMESPACE_LABEL]: namespace, [POD_UID_LABEL]: uid };
  const created = nanos(vmi.metadata.creationTimestamp);
  const state = containerState(vmi);
  const image = { image: vmi.spec?.volumes?.find((v) => v.containerDisk)?.containerDisk?.image ?? '' };
  const common = {
    id: hexId('container', uid),
    metadata: { name: CONSOLE_CONTAINER, attempt: 0 },
    image,
    image_ref: image.image,
    image_id: image.image,
    state,
    created_at: created,
    labels: { ...podLabels, [CONTAINER_NAME_LABEL]: CONSOLE_CONTAINER },
    annotations: {},
  };
  return {
    sandbox: {
      id: sandboxId,
      metadata: { name, uid, namespace, attempt: 0 },
      state: vmi.status?.phase === 'Running' ? 'SANDBOX_READY' : 'SANDBOX_NOTREADY',
      created_at: created,
      labels: { ...vmi.metadata.labels, ...podLabels },
      annotations: { ...vmi.metadata.annotations },
      runtime_handler: '',
    },
    container: { ...common, pod_sandbox_id: sandboxId },
    status: {
      ...common,
      started_at: nanos(phaseTime(vmi, ['Running'])),
      finished_at: state === 'CONTAINER_EXITED' ? nanos(phaseTime(vmi, ['Succeeded', 'Failed'])) : '0',
      exit_code: vmi.status?.phase === 'Failed' ? 1 : 0,
      reason: state === 'CONTAINER_EXITED' ? (vmi.status?.phase ?? '') : '',
      message: vmi.status?.reason ?? '',
      log_path: '',
    },
    ip: vmi.status?.interfaces?.[0]?.ipAddress ?? '',
    target,
  };
}

/**
 * The VM an id names: `<namespace>/<vm>`, else a sandbox or container id or a unique prefix of one (as crictl
 * prints them truncated). Throws AmbiguousIdError for a prefix of several.
 */
export function findVm(entries: VmEntry[], id: string, kind: 'sandbox' | 'container'): VmEntry | undefined {
  const slash = id.indexOf('/');
  if (slash > 0) return entries.find((e) => `${e.target.namespace}/${e.target.name}` === id);
  return byIdPrefix(entries, id, (e) => (kind === 'sandbox' ? e.sandbox.id : e.container.id));
}
