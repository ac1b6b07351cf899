// `kubeadm init` inside the simulated guest: the real kubeadm binary makes the certificates (from the CA files
// the bootstrap data wrote), kubeconfigs and static Pod manifests; the guest then runs those static Pods' commands
// as processes (etcd, kube-apiserver, kube-controller-manager, kube-scheduler from the harness binaries) as its
// kubelet would, uploads the kubeadm in-cluster objects, and registers itself as a control-plane Node.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { request } from 'node:https';
import { promisify } from 'node:util';
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import { parse, stringify } from 'yaml';
import { Client } from '../../lib/kube/client.js';
import { kubeConfigFromString } from '../../lib/kube/kubeconfig.js';
import type { KubeObject } from '../../lib/kube/object.js';
import { RestMapper } from '../../lib/kube/rest-mapper.js';
import { RestTransport } from '../../lib/kube/rest-transport.js';
import { binaryPath, type BinaryName } from '../../localcloud/binaries.js';
import type { GuestFS } from './guest-fs.js';
import { runNode, type HeartbeatOptions, type RunningNode } from './join.js';
import { parseNodeLabels, type KubeadmDocuments } from './kubeadm-config.js';

const run = promisify(execFile);

export const STATIC_POD_DIR = '/etc/kubernetes/manifests';
const STATIC_PODS = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'] as const;

export interface InitOptions {
  nodeName: string;
  nodeIP: string;
  fs: GuestFS;
  /** The guest's root for kubeadm's --rootfs when it runs outside a pod. */
  rootfs: string | undefined;
  log: Logger;
  heartbeat?: HeartbeatOptions | undefined;
  signal?: AbortSignal | undefined;
}

export interface ControlPlaneMember {
  readonly node: RunningNode;
  stop(): Promise<void>;
}

interface StaticPod {
  spec?: { containers?: { command?: string[]; args?: string[] }[] };
}

/** The kubeadm configuration the guest runs the phases with: the given one, completed with this machine's facts. */
export function phaseConfig(docs: KubeadmDocuments, nodeName: string, nodeIP: string): string {
  const init = { ...(docs.init ?? { apiVersion: 'kubeadm.k8s.io/v1beta4', kind: 'InitConfiguration' }) };
  const localAPIEndpoint = (init.localAPIEndpoint ?? {}) as { advertiseAddress?: string; bindPort?: number };
  init.localAPIEndpoint = { ...localAPIEndpoint, advertiseAddress: localAPIEndpoint.advertiseAddress ?? nodeIP };
  init.nodeRegistration = { ...(init.nodeRegistration as object | undefined), name: nodeName };
  const cluster = docs.cluster ?? { apiVersion: init.apiVersion, kind: 'ClusterConfiguration' };
  return `${stringify(init)}---\n${stringify(cluster)}`;
}

export async function kubeadmInit(docs: KubeadmDocuments, opts: InitOptions): Promise<ControlPlaneMember> {
  const { fs, log } = opts;
  const kubeadm = await binaryPath('kubeadm');
  const configPath = '/run/kubeadm/kubeadm-guest-phases.yaml';
  await fs.write(configPath, phaseConfig(docs, opts.nodeName, opts.nodeIP), { mode: 0o600 });
  const rootfs = opts.rootfs ? [`--rootfs=${opts.rootfs}`] : [];
  const phase = async (...args: string[]) => {
    try {
      await run(kubeadm, ['init', 'phase', ...args, ...rootfs], { timeout: 120_000 });
      log.info({ phase: args[0] }, 'ran kubeadm init phase');
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`kubeadm init phase ${args.join(' ')}: ${e.stderr ?? e.message}`, { cause: err });
    }
  };
  const withConfig = `--config=${configPath}`;
  await phase('certs', 'all', withConfig);
  await phase('kubeconfig', 'all', withConfig);
  await phase('etcd', 'local', withConfig);
  await phase('control-plane', 'all', withConfig);

  const processes = new StaticPodRunner(fs, log);
  try {
    for (const name of STATIC_PODS) await processes.start(name);
    const caPem = await fs.read('/etc/kubernetes/pki/ca.crt');
    const port = (docs.init?.localAPIEndpoint as { bindPort?: number } | undefined)?.bindPort ?? 6443;
    await waitForReadyz(`https://${opts.nodeIP}:${port}/readyz`, caPem, processes, opts.signal);
    log.info('control plane is serving');

    // The rest of kubeadm init talks to the new apiserver. admin.conf's group (kubeadm:cluster-admins) needs the
    // binding a full `kubeadm init` makes with super-admin.conf (system:masters); the guest makes it first.
    const admin = '--kubeconfig=/etc/kubernetes/super-admin.conf';
    await ensureClusterAdmins(fs);
    await phase('upload-config', 'kubeadm', withConfig, admin);
    await phase('upload-config', 'kubelet', withConfig, admin);
    await phase('bootstrap-token', withConfig, admin, '--skip-token-print');

    const kubelet = parse(await fs.read('/etc/kubernetes/kubelet.conf')) as {
      clusters: { cluster: { server: string } }[];
      users: { user: { 'client-certificate-data': string; 'client-key-data': string } }[];
    };
    const decode = (s: string | undefined) => Buffer.from(s ?? '', 'base64').toString('utf8');
    const reg = (docs.init?.nodeRegistration ?? {}) as { taints?: unknown; kubeletExtraArgs?: unknown };
    const extra = Array.isArray(reg.kubeletExtraArgs)
      ? Object.fromEntries((reg.kubeletExtraArgs as { name: string; value: string }[]).map((a) => [a.name, a.value]))
      : ((reg.kubeletExtraArgs ?? {}) as Record<string, string>);
    const node = await runNode(
      {
        // The kubelet of a control-plane machine talks to its own apiserver, as kubeadm's kubelet.conf does.
        server: `https://${opts.nodeIP}:${port}`,
        caPem,
        certPem: decode(kubelet.users[0]?.user['client-certificate-data']),
        keyPem: decode(kubelet.users[0]?.user['client-key-data']),
      },
      {
        nodeName: opts.nodeName,
        providerID: extra['provider-id'],
        labels: parseNodeLabels(extra['node-labels']),
        addresses: [{ type: 'InternalIP', address: opts.nodeIP }],
        heartbeat: opts.heartbeat,
        log,
      },
    );
    // Labels and taint of a control-plane node, set with admin.conf as kubeadm does after the kubelet registered.
    await phase('mark-control-plane', withConfig).catch(async (err: unknown) => {
      await node.stop();
      throw err;
    });
    log.info({ node: opts.nodeName }, 'initialised the control plane');
    return {
      node,
      async stop() {
        await node.stop();
        await processes.stopAll();
      },
    };
  } catch (err) {
    await processes.stopAll();
    throw err;
  }
}

/** What `kubeadm init` binds: the group of the apiserver's kubelet client certificate is cluster-admin. */
export const KUBEADM_CLUSTER_ADMINS = {
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'ClusterRoleBinding',
  metadata: { name: 'kubeadm:cluster-admins' },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
  subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'kubeadm:cluster-admins' }],
} as KubeObject;

async function ensureClusterAdmins(fs: GuestFS): Promise<void> {
  const transport = await RestTransport.fromKubeConfig(kubeConfigFromString(await fs.read('/etc/kubernetes/super-admin.conf'), 'super-admin.conf'));
  try {
    const client = new Client({ transport, mapper: new RestMapper(transport), fieldManager: 'kubeadm' });
    await client.apply(KUBEADM_CLUSTER_ADMINS);
  } finally {
    transport.close();
  }
}

/** Runs static Pod manifests' commands as the kubelet would run their containers; paths map through the guest fs. */
class StaticPodRunner {
  private readonly children = new Map<string, ChildProcess>();

  constructor(
    private readonly fs: GuestFS,
    private readonly log: Logger,
  ) {}

  async start(name: (typeof STATIC_PODS)[number]): Promise<void> {
    const pod = parse(await this.fs.read(`${STATIC_POD_DIR}/${name}.yaml`)) as StaticPod;
    const container = pod.spec?.containers?.[0];
    const [program = '', ...args] = [...(container?.command ?? []), ...(container?.args ?? [])];
    const bin = await binaryPath(program as BinaryName);
    // Flags naming files of the machine point into the guest filesystem.
    const mapped = args.map((a) => a.replace(/^(--[^=]+=)(\/.*)$/, (_m, flag: string, path: string) => `${flag}${this.fs.resolve(path)}`));
    const logFile = this.fs.resolve(`/var/log/pods/${name}.log`);
    await mkdir(dirname(logFile), { recursive: true });
    const logFd = openSync(logFile, 'a');
    try {
      const child = spawn(bin, mapped, { stdio: ['ignore', logFd, logFd] });
      this.children.set(name, child);
      child.once('exit', (code, signal) => {
        this.log.info({ pod: name, code, signal }, 'static pod process exited');
      });
    } finally {
      closeSync(logFd);
    }
  }

  isRunning(name: string): boolean {
    const c = this.children.get(name);
    return c?.exitCode === null && c.signalCode === null;
  }

  async stopAll(): Promise<void> {
    for (const [, child] of [...this.children].reverse()) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const exited = new Promise((resolve) => {
        child.once('exit', resolve);
      });
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    this.children.clear();
  }
}

function readyz(url: string, ca: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { ca, timeout: 3000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => {
      resolve(0);
    });
    req.end();
  });
}

async function waitForReadyz(url: string, ca: string, processes: StaticPodRunner, signal: AbortSignal | undefined): Promise<void> {
  const deadline = Date.now() + 120_000;
  while ((await readyz(url, ca)) !== 200) {
    for (const name of STATIC_PODS) {
      if (!processes.isRunning(name)) throw new Error(`${name} exited before the control plane came up (see /var/log/pods/${name}.log)`);
    }
    if (Date.now() > deadline) throw new Error(`${url} did not become ready within 2 minutes`);
    await delay(500, undefined, { signal });
  }
}
