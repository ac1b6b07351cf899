// The hardening of the control plane pods (spec.controlPlane.deployment.hardening): the security contexts and mount
// options of the operator's own containers. The user's explicit podSecurityContext / containerSecurityContexts win
// field by field; the user's extra containers are left as they are, since their images may need more.
import type { V1Node, V1PodSecurityContext, V1SecurityContext, V1VolumeMount } from '@kubernetes/client-node';
import type { PodHardening } from '../api/pod-hardening.js';

// Keys and kubeconfigs readable by the file owner and the pod's group only (fsGroup: the non-root user of the
// hardened containers is in it), never by others. Kamaji mounts them 0644.
export const CREDENTIAL_FILE_MODE = 0o440;

/** The non-root uid/gid of the control plane containers (distroless' "nonroot", which the upstream images carry). */
export const CONTROL_PLANE_UID = 65532;

export interface Hardening {
  userNamespaces: boolean;
  readOnlyRootFilesystem: boolean;
  recursiveReadOnlyMounts: boolean;
  runAsNonRoot: boolean;
  dropAllCapabilities: boolean;
  seccompRuntimeDefault: boolean;
}

/**
 * Every measure the spec does not turn off. hostUsers: false is applied only where the management cluster is
 * known to run such pods: a kubelet without user-namespace support refuses them, so unknown means off.
 */
export function hardeningOf(spec: PodHardening | undefined, userNamespacesSupported: boolean | undefined): Hardening {
  const on = (v: boolean | undefined) => v !== false;
  return {
    userNamespaces: on(spec?.userNamespaces) && userNamespacesSupported === true,
    readOnlyRootFilesystem: on(spec?.readOnlyRootFilesystem),
    recursiveReadOnlyMounts: on(spec?.recursiveReadOnlyMounts),
    runAsNonRoot: on(spec?.runAsNonRoot),
    dropAllCapabilities: on(spec?.dropAllCapabilities),
    seccompRuntimeDefault: on(spec?.seccompRuntimeDefault),
  };
}

/**
 * Whether every node runs pods with hostUsers: false: kubelets from v1.32 report it per runtime handler, and the
 * default handler ("") is the one a pod without runtimeClassName gets. No nodes, or a node that does not say, is no.
 */
export function userNamespacesSupported(nodes: readonly Pick<V1Node, 'status'>[]): boolean {
  return (
    nodes.length > 0 &&
    nodes.every((n) => n.status?.runtimeHandlers?.some((h) => (h.name ?? '') === '' && h.features?.userNamespaces === true) === true)
  );
}

export function containerSecurityContext(h: Hardening, user: V1SecurityContext | undefined): V1SecurityContext | undefined {
  const ours: V1SecurityContext = {
    ...(h.runAsNonRoot ? { runAsNonRoot: true, runAsUser: CONTROL_PLANE_UID, runAsGroup: CONTROL_PLANE_UID } : {}),
    ...(h.readOnlyRootFilesystem ? { readOnlyRootFilesystem: true } : {}),
    ...(h.dropAllCapabilities ? { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } : {}),
    ...(h.seccompRuntimeDefault ? { seccompProfile: { type: 'RuntimeDefault' } } : {}),
  };
  const merged: V1SecurityContext = Object.assign({}, ours, user);
  // A user who runs a container as root on purpose must not get a runAsNonRoot the kubelet would refuse it for.
  if (user?.runAsUser === 0 && user.runAsNonRoot === undefined) delete merged.runAsNonRoot;
  return Object.keys(merged).length ? merged : undefined;
}

/** fsGroup makes the Secret files group-readable for the non-root uid; low ports need the unprivileged-port sysctl. */
export function podSecurityContext(h: Hardening, ports: readonly number[], user: V1PodSecurityContext | undefined): V1PodSecurityContext | undefined {
  const lowest = Math.min(...ports);
  const ours: V1PodSecurityContext = h.runAsNonRoot
    ? {
        fsGroup: CONTROL_PLANE_UID,
        ...(lowest < 1024 ? { sysctls: [{ name: 'net.ipv4.ip_unprivileged_port_start', value: String(lowest) }] } : {}),
      }
    : {};
  const merged: V1PodSecurityContext = Object.assign({}, ours, user);
  return Object.keys(merged).length ? merged : undefined;
}

/** recursiveReadOnly needs readOnly; IfPossible, because Enabled makes a runtime without it refuse the pod. */
export function hardenedMount(h: Hardening, mount: V1VolumeMount): V1VolumeMount {
  return h.recursiveReadOnlyMounts && mount.readOnly === true && !mount.mountPropagation ? Object.assign({}, mount, { recursiveReadOnly: 'IfPossible' }) : mount;
}
