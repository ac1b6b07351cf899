// A pod's sandbox: a holder process (`unshare --net sleep infinity`, the pause container's job) keeps a network
// namespace alive for the pod's containers to join, wired to the cluster bridge by a veth pair, with the pod's
// address and a default route via the node address. Removing it removes the namespace and both veth ends.
import { execFile } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ManagedProcess } from '../process.js';
import { waitFor } from '../wait.js';
import { parseCIDR } from './ipam.js';
import { CLUSTER_BRIDGE, NODE_IP, POD_CIDR } from './topology.js';

const run = promisify(execFile);

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

export async function createSandbox(opts: { name: string; ip: string; dir: string }): Promise<PodSandbox> {
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
    await ip(['link', 'set', hostDevice, 'master', CLUSTER_BRIDGE, 'up']);
    const prefix = parseCIDR(POD_CIDR).prefix;
    const netnsPath = `/proc/${holder.pid}/ns/net`;
    await nsenterIp(netnsPath, ['link set lo up', `addr add ${opts.ip}/${prefix} dev eth0`, 'link set eth0 up', `route add default via ${NODE_IP}`]);
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
