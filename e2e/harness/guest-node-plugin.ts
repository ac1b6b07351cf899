// The CSI node plugin run inside a simulated VM's guest as a plain process entered into the guest's mount namespace and
// root (its /dev with the hot-plugged disks, the kubelet's directories), registering itself with the guest kubelet
// (--registration-socket). For what drives the node service directly rather than as a kubelet does (csi-sanity's own
// staging and target paths, the CSI bench); tenants run config/csi/tenant's DaemonSet instead (e2e/suites/csi/pvc.e2e.ts).
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PodRunner } from '../../localcloud/cluster/pod-runner.js';
import { cacheDir } from '../../localcloud/binaries.js';
import { compiledMain } from '../../packaging/compiled-js.js';
import { ManagedProcess } from '../../localcloud/process.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const DRIVER = 'csi.kubevirt.io';

/** The pid of the guest OS in VM `vm`'s virt-launcher pod: its mount namespace is the VM's. */
export function guestPid(runner: PodRunner, namespace: string, vm: string): number {
  for (const pod of runner.pods().filter((p) => p.metadata.namespace === namespace && p.metadata.labels?.['kubevirt.io/domain'] === vm)) {
    const pid = runner.containerRun(namespace, pod.metadata.name ?? '', 'compute')?.process.pid;
    if (pid !== undefined) return pid;
  }
  throw new Error(`no guest process for VM ${namespace}/${vm}`);
}

export interface GuestNodePluginOptions {
  runner: PodRunner;
  namespace: string;
  vm: string;
  /** The plugin's socket directory in the guest (made if missing); apart from a DaemonSet's, which may also be there. */
  pluginDir: string;
  logDir: string;
}

/** Starts the node plugin in the guest with node ID <namespace>/<vm>, registered at plugins_registry/<driver>-reg.sock. */
export async function startGuestNodePlugin(opts: GuestNodePluginOptions): Promise<ManagedProcess> {
  const enter = ['nsenter', `--target=${String(guestPid(opts.runner, opts.namespace, opts.vm))}`, '--mount', '--root'];
  const driver = [process.execPath, compiledMain('csi/main.ts')];
  return ManagedProcess.start({
    name: `csi-node-${opts.vm}`,
    command: enter[0] ?? '',
    args: [
      ...enter.slice(1),
      'sh', '-c', `mkdir -p '${opts.pluginDir}' && exec "$@"`, 'sh',
      ...driver,
      `--endpoint=unix://${opts.pluginDir}/csi.sock`,
      '--run-controller-service=false',
      `--node-id=${opts.namespace}/${opts.vm}`,
      `--registration-socket=/var/lib/kubelet/plugins_registry/${DRIVER}-reg.sock`,
    ],
    cwd: REPO,
    logFile: join(opts.logDir, `csi-node-${opts.vm}.log`),
    env: { KVCLOUD_CACHE: cacheDir() },
  });
}
