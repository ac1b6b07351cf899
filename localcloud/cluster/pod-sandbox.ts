// A pod's sandbox: a holder process (`unshare --net sleep infinity`, the pause container's job) keeps a network
// namespace alive for the pod's containers to join, wired to the node's pod bridge by a veth pair, with the pod's
// address and a default route via the node's address on that bridge. Removing it removes the namespace and both
// veth ends. The bridge is the management cluster's (topology.ts) on a management node and the VM's own inside a
// simulated guest, so the same sandbox serves both.
import { execFile } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ManagedProcess } from '../process.js';
import { waitFor } from '../wait.js';
import type { Ipam } from './ipam.js';

const run = promisify(execFile);

/** Where a node's pods live: the bridge their veths join, the node's address on it, and their addresses. */
export interface PodNetwork {
  bridge: string;
  /** The node's address on the bridge: every pod's default route. */
  gateway: string;
  /** The prefix length of the pods' subnet on the bridge. */
  prefixLength: number;
  ipam: Ipam;
}

export interface PodSandbox {
  ip: string;
  /** The namespace containers join: /proc/<holder>/ns/net. */
  netnsPath: string;
  holder: ManagedProcess;
  /** The veth end on the bridge. */
  hostDevice: string;
}

/** A name unique per address and within the 15 characters Linux allows: kv-<third>-<fourth octet>. */
export function hostDeviceName(ip: string): string {
  const [, , c, d] = ip.split('.');
  return `kv-${c ?? ''}-${d ?? ''}`;
}

async function ip(args: string[]): Promise<void> {
  try {
    await run('ip', args);
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim();
    throw new Error(`ip ${args.join(' ')}: ${stderr ?? (err as Error).message}`, { cause: err });
  }
}

function netnsOf(pid: number | 'self'): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/net`);
  } catch {
    return undefined;
  }
}

export async function createSandbox(opts: { name: string; ip: string; dir: string; network: PodNetwork }): Promise<PodSandbox> {
  const holder = await ManagedProcess.start({
    name: `sandbox ${opts.name}`,
    command: 'unshare',
    args: ['--net', '--', 'sleep', 'infinity'],
    logFile: join(opts.dir, 'sandbox.log'),
  });
  const hostDevice = hostDeviceName(opts.ip);
  try {
    // The process exists before unshare has switched namespaces; wiring it earlier would wire ours.
    const own = netnsOf('self');
    await waitFor(
      () => {
        if (!holder.running) throw new Error(`sandbox holder exited: ${holder.logTail()}`);
        const ns = netnsOf(holder.pid);
        return ns !== undefined && ns !== own ? true : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 5, what: `the sandbox of ${opts.name} to own a network namespace` },
    );
    await ip(['link', 'add', hostDevice, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', String(holder.pid)]);
    const { bridge, gateway, prefixLength } = opts.network;
    await ip(['link', 'set', hostDevice, 'master', bridge, 'up']);
    // Hairpin, as the kubelet's default hairpin-veth mode sets it: a pod reaching its own Service through kernel NAT
    // (externalTrafficPolicy Local, see service-proxy/kernel-nat.ts) may be sent back to itself, out the port its
    // packet came in by, which a bridge refuses otherwise.
    await ip(['link', 'set', hostDevice, 'type', 'bridge_slave', 'hairpin', 'on']);
    const netnsPath = `/proc/${holder.pid}/ns/net`;
    await nsenterIp(netnsPath, ['link set lo up', `addr add ${opts.ip}/${prefixLength} dev eth0`, 'link set eth0 up', `route add default via ${gateway}`]);
    return { ip: opts.ip, netnsPath, holder, hostDevice };
  } catch (err) {
    await destroySandbox({ holder, hostDevice });
    throw err;
  }
}

async function nsenterIp(netnsPath: string, commands: string[]): Promise<void> {
  try {
    const child = run('nsenter', [`--net=${netnsPath}`, '--', 'ip', '-batch', '-']);
    child.child.stdin?.end(`${commands.join('\n')}\n`);
    await child;
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim();
    throw new Error(`configure pod network (${commands.join('; ')}): ${stderr ?? (err as Error).message}`, { cause: err });
  }
}

/** Ends the holder (and so the namespace) and deletes the bridge end, which may already be gone with it. */
export async function destroySandbox(sandbox: Pick<PodSandbox, 'holder' | 'hostDevice'>): Promise<void> {
  await sandbox.holder.stop(2000);
  await ip(['link', 'del', sandbox.hostDevice]).catch((err: unknown) => {
    if (!(err as Error).message.includes('Cannot find device')) throw err;
  });
}
