// Runs a command inside a fresh network namespace holding the cluster network of topology.ts: lo, the bridge
// kvbr0 with the node address, and the service device kvsvc0. `make test-e2e` runs mocha this way, and a local
// cluster for development runs the same way. A PID namespace comes with it, so when the command ends the kernel
// ends every process it left, and the network namespace disappears with all its devices.
//
//   tsx localcloud/cluster/netns.ts <command> [args...]
import { execFileSync, spawn } from 'node:child_process';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseCIDR } from './ipam.js';
import { CLUSTER_BRIDGE, NODE_IP, POD_CIDR, SERVICE_DEVICE, TENANT_POD_CIDRS } from './topology.js';

const initScript = fileURLToPath(new URL('netns-init.sh', import.meta.url));

/** The command line that runs `argv` in a fresh cluster network namespace, and the environment it needs. */
export function clusterNetnsCommand(argv: string[]): { command: string; args: string[]; env: Record<string, string> } {
  if (argv.length === 0) throw new Error('netns: no command given');
  return {
    command: 'unshare',
    // --kill-child: if unshare itself dies, PID 1 gets SIGKILL, and with it everything in the namespaces.
    args: ['--net', '--pid', '--mount-proc', '--fork', '--kill-child', 'bash', initScript, ...argv],
    env: {
      KVCLOUD_BRIDGE: CLUSTER_BRIDGE,
      KVCLOUD_NODE_CIDR: `${NODE_IP}/${parseCIDR(POD_CIDR).prefix}`,
      KVCLOUD_SERVICE_DEVICE: SERVICE_DEVICE,
      KVCLOUD_TENANT_POD_CIDRS: TENANT_POD_CIDRS.join(' '),
    },
  };
}

/** Runs `argv` in a fresh cluster network namespace with inherited stdio; resolves with its exit code. */
export function runInClusterNetns(argv: string[]): Promise<number> {
  const { command, args, env } = clusterNetnsCommand(argv);
  const child = spawn(command, args, { stdio: 'inherit', env: { ...process.env, ...env } });
  // Ctrl-C reaches the whole foreground process group, the command included: let it stop by itself. A SIGTERM
  // sent to us alone ends the namespaces at once (unshare's death kills PID 1, and PID 1's kills the rest).
  const ignore = () => undefined;
  const terminate = () => child.kill('SIGKILL');
  process.on('SIGINT', ignore);
  process.on('SIGTERM', terminate);
  return new Promise((resolve, reject) => {
    child.once('error', (err) => {
      reject(new Error(`netns: start ${command}: ${err.message}`, { cause: err }));
    });
    child.once('exit', (code, signal) => {
      process.off('SIGINT', ignore);
      process.off('SIGTERM', terminate);
      resolve(code ?? 128 + (signal ? constants.signals[signal] : 0));
    });
  });
}

/** Fails unless this process runs in a network namespace netns.ts prepared; nothing else may host a cluster. */
export function assertInClusterNetns(): void {
  // Not os.networkInterfaces(): it hides a bridge without carrier, which kvbr0 is whenever no pod runs.
  let addresses = '';
  try {
    addresses = execFileSync('ip', ['-o', '-4', 'addr', 'show', 'dev', CLUSTER_BRIDGE], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    // no such device: reported below
  }
  if (!addresses.includes(` ${NODE_IP}/`)) {
    throw new Error(
      `no ${CLUSTER_BRIDGE} with ${NODE_IP} here: a local cluster runs only inside its own network namespace; ` +
        'start the command through `tsx localcloud/cluster/netns.ts <command>` (as `make test-e2e` does)',
    );
  }
}

// No top-level await: a module with one cannot be require()d, and mocha would then load every suite importing
// the cluster harness as ESM, apart from the CommonJS copies of the harness its root hooks use.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  void runInClusterNetns(process.argv.slice(2)).then((code) => (process.exitCode = code));
}
