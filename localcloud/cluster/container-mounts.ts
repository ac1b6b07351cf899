// Which host paths a container sees where: its volumeMounts (subPath and subPathExpr included) and the pod's
// /etc/hosts and /etc/resolv.conf, parents before children so nested mountPaths land inside their parent's mount. API-backed volumes
// are always read-only, as the kubelet mounts them, and so are host paths when the node's filesystem is this machine's
// (a simulated VM's is its own, inside the run, and writable as on a real node). A volumeMount's mountPropagation becomes the
// runtime's (HostToContainer: rslave, Bidirectional: rshared), with the kubelet's and apiserver's rules.
import { join, normalize } from 'node:path';
import type { ContainerMount, MountPropagation } from './container-process.js';
import { ContainerConfigError } from './container-env.js';
import type { Container, Volume, VolumeMount } from './pod-api.js';
import { expandVars } from './var-expansion.js';

const alwaysReadOnly = (v: Volume | undefined, writableHostPaths: boolean) => Boolean(v && (v.secret ?? v.configMap ?? v.downwardAPI ?? v.projected ?? (writableHostPaths ? undefined : v.hostPath)));

function subPathOf(subPath: string, volume: string): string {
  const n = normalize(subPath);
  if (n.startsWith('/') || n === '..' || n.startsWith('../')) throw new ContainerConfigError(`subPath "${subPath}" of volume "${volume}" must stay inside the volume`);
  return n;
}

const within = (path: string, dir: string) => {
  const [p, d] = [normalize(`${path}/`), normalize(`${dir}/`)];
  return p.startsWith(d);
};

function propagationOf(container: Container, m: VolumeMount): MountPropagation {
  switch (m.mountPropagation ?? 'None') {
    case 'None':
      return 'private';
    case 'HostToContainer':
      return 'rslave';
    case 'Bidirectional':
      // The apiserver refuses this already; a pod that got past it must not either.
      if (container.securityContext?.privileged !== true) throw new ContainerConfigError(`volumeMount "${m.name}": Bidirectional mount propagation is available only to privileged containers`);
      return 'rshared';
    default:
      throw new ContainerConfigError(`volumeMount "${m.name}": invalid mountPropagation "${m.mountPropagation ?? ''}" (None, HostToContainer or Bidirectional)`);
  }
}

/**
 * A mount inside a Bidirectional one would be made on the host too (the container's copy is the host's peer), so
 * another volume's bind there would reach the host: refused, where a runtime would let it leak.
 */
function checkNothingUnderBidirectional(mounts: ContainerMount[]): void {
  for (const shared of mounts.filter((m) => m.propagation === 'rshared')) {
    const inside = mounts.find((m) => m !== shared && within(m.target, shared.target));
    if (inside) throw new ContainerConfigError(`mountPath ${inside.target} is inside ${shared.target}, whose mountPropagation is Bidirectional: the mount would reach the host; mount it elsewhere`);
  }
}

export function containerMounts(
  container: Container,
  volumes: Volume[],
  volumePaths: Map<string, string>,
  env: Map<string, string>,
  etcHosts: string,
  resolvConf?: string,
  writableHostPaths = false,
): ContainerMount[] {
  const mounts: ContainerMount[] = [{ source: etcHosts, target: '/etc/hosts', readOnly: true }];
  if (resolvConf !== undefined) mounts.push({ source: resolvConf, target: '/etc/resolv.conf', readOnly: true });
  for (const m of container.volumeMounts ?? []) {
    const root = volumePaths.get(m.name);
    if (!root) throw new ContainerConfigError(`volumeMount "${m.name}" names no volume of the pod`);
    const sub = m.subPathExpr !== undefined ? expandVars(m.subPathExpr, (name) => env.get(name)) : m.subPath;
    const source = sub ? join(root, subPathOf(sub, m.name)) : root;
    const volume = volumes.find((v) => v.name === m.name);
    const propagation = propagationOf(container, m);
    mounts.push({ source, target: m.mountPath, readOnly: (m.readOnly ?? false) || alwaysReadOnly(volume, writableHostPaths), ...(propagation === 'private' ? {} : { propagation }) });
  }
  // A raw block volume's path is the published device itself, bound over a file at devicePath.
  for (const d of container.volumeDevices ?? []) {
    const device = volumePaths.get(d.name);
    if (!device) throw new ContainerConfigError(`volumeDevice "${d.name}" names no volume of the pod`);
    mounts.push({ source: device, target: d.devicePath, readOnly: false });
  }
  checkNothingUnderBidirectional(mounts);
  const depth = (p: string) => normalize(p).split('/').filter(Boolean).length;
  return mounts.sort((a, b) => depth(a.target) - depth(b.target));
}
