// What the guest agent inside a VM reports, in the shapes virt-api returns for guestosinfo, userlist and
// filesystemlist: the OS from /etc/os-release and the kernel, the hostname and timezone, the users with a
// session (none: the simulated guest keeps no login records), and the filesystems mounted in the guest's own
// mount namespace with their sizes.
import { readFile, statfs } from 'node:fs/promises';
import { hostname, machine, release, version } from 'node:os';

export const GUEST_AGENT_VERSION = 'kvcloud-guest-agent-1';

/** os-release's KEY=value lines (values optionally quoted). */
export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m?.[1] && m[2] !== undefined) out[m[1]] = m[2].replace(/^"(.*)"$/, '$1').replace(/^'(.*)'$/, '$1');
  }
  return out;
}

export interface GuestOSInfo {
  id?: string;
  name?: string;
  prettyName?: string;
  version?: string;
  versionId?: string;
  kernelRelease: string;
  kernelVersion: string;
  machine: string;
}

export async function osInfo(): Promise<GuestOSInfo> {
  const release_ = parseOsRelease(await readFile('/etc/os-release', 'utf8').catch(() => ''));
  const fields: [keyof GuestOSInfo, string][] = [
    ['id', 'ID'],
    ['name', 'NAME'],
    ['prettyName', 'PRETTY_NAME'],
    ['version', 'VERSION'],
    ['versionId', 'VERSION_ID'],
  ];
  return {
    ...Object.fromEntries(fields.filter(([, key]) => release_[key] !== undefined).map(([field, key]) => [field, release_[key]])),
    kernelRelease: release(),
    kernelVersion: version(),
    machine: machine(),
  };
}

/** "Zone, offset-seconds", as virt-handler formats the agent's guest-get-timezone. */
export function timezone(now = new Date()): string {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  return `${zone}, ${String(-now.getTimezoneOffset() * 60)}`;
}

export interface GuestFilesystem {
  diskName: string;
  mountPoint: string;
  fileSystemType: string;
  usedBytes: number;
  totalBytes: number;
}

/** Mounts of real filesystems (not proc, sysfs, cgroup... nor the guest's own overlays) from mountinfo. */
export function filesystemMounts(mountinfo: string): { mountPoint: string; type: string; source: string }[] {
  const skip = new Set(['proc', 'sysfs', 'cgroup', 'cgroup2', 'devpts', 'mqueue', 'devtmpfs', 'securityfs', 'debugfs', 'tracefs', 'pstore', 'bpf', 'configfs', 'fusectl', 'hugetlbfs', 'binfmt_misc', 'autofs', 'nsfs']);
  const seen = new Set<string>();
  const out: { mountPoint: string; type: string; source: string }[] = [];
  for (const line of mountinfo.split('\n')) {
    const [pre, post] = line.split(' - ');
    if (!pre || !post) continue;
    const mountPoint = pre.split(' ')[4] ?? '';
    const [type = '', source = ''] = post.split(' ');
    if (skip.has(type) || source.startsWith('kvcloud-') || seen.has(mountPoint)) continue;
    seen.add(mountPoint);
    out.push({ mountPoint, type, source });
  }
  return out;
}

export async function filesystems(): Promise<GuestFilesystem[]> {
  const mounts = filesystemMounts(await readFile('/proc/self/mountinfo', 'utf8'));
  const out: GuestFilesystem[] = [];
  for (const m of mounts) {
    const s = await statfs(m.mountPoint).catch(() => undefined);
    if (!s) continue;
    const total = s.blocks * s.bsize;
    out.push({ diskName: m.source.replace(/^\/dev\//, ''), mountPoint: m.mountPoint, fileSystemType: m.type, usedBytes: total - s.bfree * s.bsize, totalBytes: total });
  }
  return out;
}

export async function guestInfo(): Promise<object> {
  return {
    guestAgentVersion: GUEST_AGENT_VERSION,
    hostname: hostname(),
    os: await osInfo(),
    timezone: timezone(),
    fsInfo: { disks: await filesystems() },
    supportedCommands: ['guest-get-osinfo', 'guest-get-users', 'guest-get-fsinfo', 'guest-get-host-name', 'guest-get-timezone'].map((name) => ({ name, enabled: true })),
  };
}
