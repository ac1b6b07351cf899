// The simulated VM's operating system from first boot on: cloud-init (or Ignition) writes the userdata's files
// and runs its commands, `kubeadm join` joins the node as kubeadm + kubelet would, the sentinel file records
// success; on a later boot the kubelet simply comes back with the identity kubeadm left in /etc/kubernetes.
import type { Logger } from 'pino';
import { parse } from 'yaml';
import { planBoot, type BootStep } from './boot-commands.js';
import { isCloudConfig, parseCloudConfig, type CloudConfig } from './cloud-config.js';
import { kubeadmInit } from './control-plane.js';
import { clusterOfKubeconfig } from './discovery.js';
import type { GuestFS } from './guest-fs.js';
import { isIgnition, parseIgnition } from './ignition.js';
import { kubevirtInstanceData } from './jinja.js';
import { joinNode, runNode, type HeartbeatOptions, type NodeRegistration, type RunningNode } from './join.js';
import { startKubelet, type Kubelet } from './kubelet.js';
import { KUBELET_PORT } from './kubelet-server.js';
import { parseKubeadmConfig, parseNodeLabels, parseTaintsFlag, type JoinSettings } from './kubeadm-config.js';
import { startSSHServer, type GuestSSHServer } from './ssh-server.js';
import type { NodeAddress, Taint } from '../../localcloud/node-object.js';

export interface GuestOptions {
  vmName: string;
  /** The VM's hostname, cloud-init's local-hostname (KubeVirt: spec.hostname, else the VMI name). Default vmName. */
  hostname?: string | undefined;
  namespace?: string | undefined;
  /** The VM's address (the launcher pod's IP): the Node's InternalIP unless --node-ip says otherwise. */
  nodeIP?: string | undefined;
  /** cloud-config (possibly jinja) or Ignition JSON; undefined when the VM has no userdata. */
  userdata: string | undefined;
  fs: GuestFS;
  /** The directory holding the guest filesystem when it runs outside a pod (kubeadm's --rootfs). */
  rootfs?: string | undefined;
  log: Logger;
  heartbeat?: HeartbeatOptions | undefined;
  /** kubeadm's discovery + TLS bootstrap timeout; default 5 minutes. */
  joinTimeoutMs?: number | undefined;
  signal?: AbortSignal | undefined;
}

export interface BootedGuest {
  /** The running kubelet, once joined. */
  readonly node: RunningNode | undefined;
  stop(): Promise<void>;
}

export const KUBELET_CONF = '/etc/kubernetes/kubelet.conf';
export const CA_CERT = '/etc/kubernetes/pki/ca.crt';
export const KUBELET_CLIENT_PEM = '/var/lib/kubelet/pki/kubelet-client-current.pem';
export const KUBEADM_FLAGS = '/var/lib/kubelet/kubeadm-flags.env';
export const SENTINEL = '/run/cluster-api/bootstrap-success.complete';

const CONTROL_PLANE_TAINT: Taint = { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' };

export async function bootGuest(opts: GuestOptions): Promise<BootedGuest> {
  const log = opts.log;
  if (opts.fs.exists(KUBELET_CONF)) {
    log.info('found /etc/kubernetes/kubelet.conf: restarting the kubelet with its identity');
    const ssh = opts.userdata === undefined ? undefined : await serveSSH(parseUserdata(opts.userdata, opts), opts);
    const member = withKubelet(await restartKubelet(opts), opts);
    return { node: member.node, stop: stopper(member, ssh) };
  }
  if (opts.userdata === undefined) {
    log.info('no userdata: the VM boots without joining a cluster');
    return { node: undefined, stop: stopper(undefined, undefined) };
  }
  const config = parseUserdata(opts.userdata, opts);
  for (const user of config.users) {
    if (user.sshAuthorizedKeys.length > 0) {
      await opts.fs.write(`/home/${user.name}/.ssh/authorized_keys`, `${user.sshAuthorizedKeys.join('\n')}\n`, { mode: 0o600 });
    }
  }
  for (const file of config.files) {
    await opts.fs.write(file.path, file.content, { mode: file.mode, append: file.append });
    log.debug({ path: file.path }, 'wrote file');
  }
  const ssh = await serveSSH(config, opts);
  let member: Member | undefined;
  for (const chain of planBoot(config.commands)) {
    for (const step of chain) {
      const started = await runStep(step, opts);
      member ??= started;
    }
  }
  return { node: member?.node, stop: stopper(member, ssh) };
}

/** The guest's sshd (CAPK's `ssh` bootstrap check logs in through it); a guest that cannot serve it still boots. */
async function serveSSH(config: CloudConfig, opts: GuestOptions): Promise<GuestSSHServer | undefined> {
  if (!opts.nodeIP) return undefined;
  try {
    const server = await startSSHServer({ users: config.users, fs: opts.fs, host: opts.nodeIP.split(',')[0]?.trim() ?? opts.nodeIP, port: 22 });
    if (server) opts.log.info({ address: opts.nodeIP, port: server.port }, 'serving SSH for the cloud-config users');
    return server;
  } catch (err) {
    opts.log.warn({ err }, 'cannot serve SSH');
    return undefined;
  }
}

/** What a kubeadm command leaves running: the kubelet, and for `kubeadm init` the control plane's static pods. */
interface Member {
  node: RunningNode;
  stop(): Promise<void>;
}

function stopper(member: Member | undefined, ssh: GuestSSHServer | undefined): () => Promise<void> {
  return async () => {
    await Promise.all([member?.stop(), ssh?.close()]);
  };
}

export function parseUserdata(userdata: string, opts: Pick<GuestOptions, 'vmName' | 'hostname' | 'namespace'>): CloudConfig {
  if (isIgnition(userdata)) return parseIgnition(userdata);
  if (isCloudConfig(userdata)) {
    return parseCloudConfig(userdata, kubevirtInstanceData({ vmName: opts.vmName, hostname: opts.hostname, namespace: opts.namespace }));
  }
  throw new Error('userdata is neither #cloud-config nor Ignition JSON; the simulated guest runs no other format');
}

async function runStep(step: BootStep, opts: GuestOptions): Promise<Member | undefined> {
  switch (step.kind) {
    case 'not-run':
      opts.log.info({ command: step.command }, 'command not run by the simulated guest');
      return undefined;
    case 'sentinel':
      await opts.fs.write(step.path, step.content);
      opts.log.info({ path: step.path }, 'wrote bootstrap sentinel');
      return undefined;
    case 'kubeadm': {
      const docs = parseKubeadmConfig(await opts.fs.read(step.config));
      if (step.phase === 'init') {
        if (!opts.nodeIP) throw new Error('kubeadm init needs the VM address (GUEST_NODE_IP) to advertise');
        const reg = (docs.init?.nodeRegistration ?? {}) as { name?: string };
        return kubeadmInit(docs, {
          nodeName: reg.name ?? opts.hostname ?? opts.vmName,
          nodeIP: opts.nodeIP,
          fs: opts.fs,
          rootfs: opts.rootfs,
          log: opts.log,
          heartbeat: opts.heartbeat,
          signal: opts.signal,
        });
      }
      if (!docs.join) throw new Error(`${step.config} holds no JoinConfiguration`);
      return withKubelet(await kubeadmJoin(docs.join, opts), opts);
    }
  }
}

/**
 * A joined worker runs its pods from now on. Only a guest in its own network namespace (a virt-launcher pod) runs
 * them: one run as a plain process (GUEST_ROOT) shares the test's network, where a pod bridge and routes do not
 * belong. The kubelet starts in the background, since it waits for the Node's podCIDR; one that fails after that
 * stops the node's heartbeats, so the Node goes NotReady instead of accepting pods nobody runs.
 */
function withKubelet(node: RunningNode, opts: GuestOptions): Member {
  const nodeIP = opts.nodeIP?.split(',')[0]?.trim();
  if (opts.rootfs !== undefined || !nodeIP) {
    opts.log.info('guest runs outside a VM network: its kubelet runs no pods');
    return { node, stop: () => node.stop() };
  }
  const abort = new AbortController();
  let kubelet: Kubelet | undefined;
  const starting = startKubelet({ node, nodeIP, fs: opts.fs, log: opts.log, signal: abort.signal }).then(
    (started) => {
      kubelet = started;
    },
    async (err: unknown) => {
      if (abort.signal.aborted) return;
      opts.log.error({ err }, 'the kubelet could not start: the node stops reporting Ready');
      await node.stop();
    },
  );
  return {
    node,
    async stop() {
      abort.abort();
      await starting;
      await kubelet?.stop();
      await node.stop();
    },
  };
}

/** Whether the kubelet serves its API (and so advertises port 10250): only where it runs pods. */
const kubeletPortOf = (opts: GuestOptions) => (opts.rootfs === undefined && opts.nodeIP ? KUBELET_PORT : undefined);

function registrationOf(join: JoinSettings, opts: GuestOptions): NodeRegistration {
  const args = join.nodeRegistration.kubeletExtraArgs;
  const nodeIP = args['node-ip'] ?? opts.nodeIP;
  const addresses: NodeAddress[] = nodeIP ? nodeIP.split(',').map((address) => ({ type: 'InternalIP', address: address.trim() })) : [];
  const taints = join.nodeRegistration.taints ?? (join.controlPlane ? [CONTROL_PLANE_TAINT] : parseTaintsFlag(args['register-with-taints']));
  return {
    // kubeadm names the node after the host unless nodeRegistration.name says otherwise.
    nodeName: join.nodeRegistration.name ?? args['hostname-override'] ?? opts.hostname ?? opts.vmName,
    providerID: args['provider-id'],
    labels: parseNodeLabels(args['node-labels']),
    taints,
    addresses,
    externalCloudProvider: args['cloud-provider'] === 'external',
    kubeletPort: kubeletPortOf(opts),
    heartbeat: opts.heartbeat,
    log: opts.log,
  };
}

async function kubeadmJoin(join: JoinSettings, opts: GuestOptions): Promise<RunningNode> {
  if (join.controlPlane) throw new Error('JoinConfiguration.controlPlane: joining another control-plane member is not supported by the simulated guest');
  const reg = registrationOf(join, opts);
  let node: RunningNode;
  if (join.bootstrapToken) {
    node = await joinNode({
      ...reg,
      apiServerEndpoint: join.bootstrapToken.apiServerEndpoint,
      token: join.tlsBootstrapToken ?? join.bootstrapToken.token,
      caCertHashes: join.bootstrapToken.caCertHashes,
      unsafeSkipCAVerification: join.bootstrapToken.unsafeSkipCAVerification,
      timeoutMs: opts.joinTimeoutMs,
      signal: opts.signal,
    });
  } else {
    // File discovery: the kubeconfig names the server and CA, and may carry the TLS bootstrap token itself.
    const kubeconfig = await opts.fs.read(join.discoveryFile ?? '');
    const cluster = clusterOfKubeconfig(kubeconfig);
    const doc = parse(kubeconfig) as { users?: { user?: { token?: string } }[] } | null;
    const token = join.tlsBootstrapToken ?? doc?.users?.[0]?.user?.token;
    if (!token) throw new Error(`file discovery ${join.discoveryFile ?? ''}: no tlsBootstrapToken and no token in the kubeconfig`);
    node = await joinNode({ ...reg, apiServerEndpoint: cluster.server, caPem: cluster.caPem, token, timeoutMs: opts.joinTimeoutMs, signal: opts.signal });
  }
  await persistIdentity(node, reg, opts.fs);
  opts.log.info({ node: node.nodeName }, 'joined the cluster');
  return node;
}

/** What kubeadm and the kubelet leave on disk, so a restarted guest comes back as the same node. */
async function persistIdentity(node: RunningNode, reg: NodeRegistration, fs: GuestFS): Promise<void> {
  await fs.write(CA_CERT, node.identity.caPem, { mode: 0o644 });
  await fs.write(KUBELET_CLIENT_PEM, node.identity.certPem + node.identity.keyPem, { mode: 0o600 });
  const flags = [
    `--hostname-override=${reg.nodeName}`,
    ...(reg.providerID ? [`--provider-id=${reg.providerID}`] : []),
    ...(reg.labels && Object.keys(reg.labels).length > 0 ? [`--node-labels=${Object.entries(reg.labels).map(([k, v]) => `${k}=${v}`).join(',')}`] : []),
    ...(reg.addresses?.length ? [`--node-ip=${reg.addresses.map((a) => a.address).join(',')}`] : []),
    ...(reg.externalCloudProvider ? ['--cloud-provider=external'] : []),
  ];
  await fs.write(KUBEADM_FLAGS, `KUBELET_KUBEADM_ARGS="${flags.join(' ')}"\n`, { mode: 0o644 });
  await fs.write(KUBELET_CONF, node.kubeconfig(), { mode: 0o600 });
}

/** The kubeadm-flags.env arguments as a map. */
export function parseKubeadmFlags(text: string): Record<string, string> {
  const args = /KUBELET_KUBEADM_ARGS="([^"]*)"/.exec(text)?.[1] ?? '';
  return Object.fromEntries(
    args
      .split(/\s+/)
      .filter((a) => a.startsWith('--'))
      .map((a) => {
        const eq = a.indexOf('=');
        return eq < 0 ? [a.slice(2), 'true'] : [a.slice(2, eq), a.slice(eq + 1)];
      }),
  );
}

async function restartKubelet(opts: GuestOptions): Promise<RunningNode> {
  const kubeconfig = parse(await opts.fs.read(KUBELET_CONF)) as {
    clusters?: { cluster?: { server?: string; 'certificate-authority-data'?: string } }[];
    users?: { user?: { 'client-certificate-data'?: string; 'client-key-data'?: string } }[];
  };
  const cluster = kubeconfig.clusters?.[0]?.cluster;
  const user = kubeconfig.users?.[0]?.user;
  const decode = (s: string | undefined) => Buffer.from(s ?? '', 'base64').toString('utf8');
  if (!cluster?.server || !user?.['client-certificate-data']) throw new Error(`${KUBELET_CONF} has no server or client certificate`);
  const flags = opts.fs.exists(KUBEADM_FLAGS) ? parseKubeadmFlags(await opts.fs.read(KUBEADM_FLAGS)) : {};
  const nodeIP = flags['node-ip'] ?? opts.nodeIP;
  return runNode(
    { server: cluster.server, caPem: decode(cluster['certificate-authority-data']), certPem: decode(user['client-certificate-data']), keyPem: decode(user['client-key-data']) },
    {
      nodeName: flags['hostname-override'] ?? opts.hostname ?? opts.vmName,
      providerID: flags['provider-id'],
      labels: parseNodeLabels(flags['node-labels']),
      addresses: nodeIP ? nodeIP.split(',').map((address) => ({ type: 'InternalIP', address })) : [],
      externalCloudProvider: flags['cloud-provider'] === 'external',
      kubeletPort: kubeletPortOf(opts),
      heartbeat: opts.heartbeat,
      log: opts.log,
    },
  );
}
