// The program a virt-launcher pod runs (image kvcloud.local/test/virt-launcher:dev): the operating system inside
// a simulated KubeVirt VM. It reads the VM's userdata as the KubeVirt simulator delivers it (cloud-init Secret
// volume or inline env, Ignition env), boots the guest (guest.ts), and on SIGTERM stops its kubelet's heartbeats
// and powers off. A boot that fails leaves the VM running without a node, as a real VM would be.
import { readFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../lib/observability/logger.js';
import { GuestFS } from './guest-fs.js';
import { bootGuest, type BootedGuest } from './guest.js';
import { osInfo } from './guest-agent.js';
import { LAUNCHER_PRIVATE_DIR, startLauncherChannel } from './launcher-channel.js';
import { SERIAL_SOCKET, startSerialConsole } from './serial-console.js';

export const USERDATA_DIR = '/var/run/kvcloud/cloudinit/userdata';

/** Ignition (annotation kubevirt.io/ignitiondata) first, then inline userData, then the userdata Secret's keys. */
export function readUserdata(env: NodeJS.ProcessEnv, fs: GuestFS): string | undefined {
  if (env.GUEST_IGNITION) return env.GUEST_IGNITION;
  if (env.GUEST_USERDATA_INLINE) return env.GUEST_USERDATA_INLINE;
  for (const key of ['userdata', 'userData']) {
    const path = join(USERDATA_DIR, key);
    if (fs.exists(path)) return readFileSync(fs.resolve(path), 'utf8');
  }
  return undefined;
}

function envNumber(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const v = env[name];
  return v ? Number(v) : undefined;
}

async function main(): Promise<void> {
  const env = process.env;
  // A pod's HOME is a directory of its own; the upstream binaries kubeadm init runs live in the machine user's cache.
  env.KVCLOUD_CACHE ??= join(userInfo().homedir, '.cache', 'kvcloud');
  const vmName = env.GUEST_VM_NAME;
  if (!vmName) throw new Error('GUEST_VM_NAME is not set');
  const log = createLogger({ component: 'guest' }).child({ vm: `${env.GUEST_VM_NAMESPACE ?? ''}/${vmName}` });
  // GUEST_ROOT: a directory holding the whole guest filesystem, for a guest run outside a pod.
  const fs = env.GUEST_ROOT ? GuestFS.rooted(env.GUEST_ROOT) : GuestFS.inPod();
  const abort = new AbortController();
  let guest: BootedGuest | undefined;
  const powerOff = (signal: string) => {
    log.info({ signal }, 'powering off');
    abort.abort();
    void (guest?.stop() ?? Promise.resolve()).finally(() => process.exit(0));
  };
  process.once('SIGTERM', () => {
    powerOff('SIGTERM');
  });
  process.once('SIGINT', () => {
    powerOff('SIGINT');
  });
  // Keeps the VM up whatever the boot does, until it is powered off.
  setInterval(() => undefined, 1 << 30);
  // In a launcher pod: the node's channel into the VM (guest agent, hot-plugged disks) and its serial console; both
  // end with the process.
  if (!env.GUEST_ROOT) {
    await startLauncherChannel(log);
    const osName = (await osInfo()).prettyName ?? 'Linux';
    await startSerialConsole({ socketPath: join(LAUNCHER_PRIVATE_DIR, SERIAL_SOCKET), hostname: hostname(), osName, log }).catch((err: unknown) => {
      log.warn({ err }, 'cannot serve the serial console: console connections to this VM are refused');
    });
  }
  try {
    guest = await bootGuest({
      vmName,
      // In a pod the runner names the host as KubeVirt names the VM (spec.hostname, else the VMI name).
      hostname: env.GUEST_ROOT ? vmName : hostname(),
      namespace: env.GUEST_VM_NAMESPACE,
      nodeIP: env.GUEST_NODE_IP,
      userdata: readUserdata(env, fs),
      fs,
      rootfs: env.GUEST_ROOT,
      log,
      heartbeat: { leaseRenewMs: envNumber(env, 'GUEST_LEASE_RENEW_MS'), statusReportMs: envNumber(env, 'GUEST_STATUS_REPORT_MS') },
      joinTimeoutMs: envNumber(env, 'GUEST_JOIN_TIMEOUT_MS'),
      signal: abort.signal,
    });
    log.info({ node: guest.node?.nodeName }, 'boot finished');
  } catch (err) {
    if (abort.signal.aborted) return;
    log.error({ err }, 'boot failed: the VM stays up without a node');
  }
}

await main();
