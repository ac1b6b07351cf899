// Which host paths a container sees where: its volumeMounts (subPath and subPathExpr included) and the pod's
// /etc/hosts and /etc/resolv.conf, parents before children so nested mountPaths land inside their parent's mount. API-backed volumes
// and host paths are always read-only, as the kubelet mounts them.
import { join, normalize } from 'node:path';
import type { ContainerMount } from './container-process.js';
import { ContainerConfigError } from './container-env.js';
import type { Container, Volume } from './pod-api.js';
import { expandVars } from './var-expansion.js';

const alwaysReadOnly = (v: Volume | undefined) => Boolean(v && (v.secret ?? v.configMap ?? v.downwardAPI ?? v.projected ?? v.hostPath));

function subPathOf(subPath: string, volume: string): string {
  const n = normalize(subPath);
  if (n.startsWith('/') || n === '..' || n.startsWith('../')) throw new ContainerConfigError(`subPath "${subPath}" of volume "${volume}" must stay inside the volume`);
  return n;
}

export function containerMounts(
  container: Container,
  volumes: Volume[],
  volumePaths: Map<string, string>,
  env: Map<string, string>,
  etcHosts: string,
  resolvConf?: string,
): ContainerMount[] {
  const mounts: ContainerMount[] = [{ source: etcHosts, target: '/etc/hosts', readOnly: true }];
  if (resolvConf !== undefined) mounts.push({ source: resolvConf, target: '/etc/resolv.conf', readOnly: true });
  for (const m of container.volumeMounts ?? []) {
    const root = volumePaths.get(m.name);
    if (!root) throw new ContainerConfigError(`volumeMount "${m.name}" names no volume of the pod`);
    const sub = m.subPathExpr !== undefined ? expandVars(m.subPathExpr, (name) => env.get(name)) : m.subPath;
    const source = sub ? join(root, subPathOf(sub, m.name)) : root;
    const volume = volumes.find((v) => v.name === m.name);
    mounts.push({ source, target: m.mountPath, readOnly: (m.readOnly ?? false) || alwaysReadOnly(volume) });
  }
  // A raw block volume's path is the published device itself, bound over a file at devicePath.
  for (const d of container.volumeDevices ?? []) {
    const device = volumePaths.get(d.name);
    if (!device) throw new ContainerConfigError(`volumeDevice "${d.name}" names no volume of the pod`);
    mounts.push({ source: device, target: d.devicePath, readOnly: false });
  }
  const depth = (p: string) => normalize(p).split('/').filter(Boolean).length;
  return mounts.sort((a, b) => depth(a.target) - depth(b.target));
}
