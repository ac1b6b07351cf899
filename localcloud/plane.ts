// A real management plane on loopback: etcd, kube-apiserver (RBAC, bootstrap tokens, service-account signing,
// aggregator routing), kube-controller-manager and optionally kube-scheduler, started from the upstream binaries
// with random ports and stopped completely afterwards. A local cluster (cluster/cluster.ts) puts the apiserver on
// the node address instead, so pods in their own network namespaces reach it.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { binaryPath } from './binaries.js';
import { renderKubeconfig } from '../lib/kube/client-cert-kubeconfig.js';
import { applyManifests } from './manifests.js';
import { createPlanePKI } from './plane-pki.js';
import { freePort } from './ports.js';
import { runDir } from './run-dir.js';
import { ManagedProcess, type ProcessSpec } from './process.js';
import { waitFor } from './wait.js';

const run = promisify(execFile);

export interface PlaneOptions {
  /** Start kube-controller-manager (garbage collection, service accounts, CSR signing...). Default true. */
  controllerManager?: boolean;
  /** Service ClusterIP range. */
  serviceCIDR?: string;
  /** Extra kube-apiserver flags, `--name=value`. */
  apiServerArgs?: string[];
  /** Address kube-apiserver listens on. Default 127.0.0.1. */
  bindAddress?: string;
  /**
   * Address kube-apiserver advertises, which becomes the kubernetes Service's endpoint. Default 127.0.0.1, in
   * which case no endpoint is published (Endpoints validation rejects loopback addresses).
   */
  advertiseAddress?: string;
  /** Start kube-scheduler, so pods get bound to nodes. Default false. */
  scheduler?: boolean;
  /** Extra kube-controller-manager flags, `--name=value`. */
  controllerManagerArgs?: string[];
}

export interface Plane {
  readonly dir: string;
  readonly kubeconfigPath: string;
  readonly kubeConfig: KubeConfig;
  readonly server: string;
  readonly etcdEndpoint: string;
  readonly caCertPath: string;
  /** Processes of this plane by name, for tests that assert on them. */
  readonly processes: ReadonlyMap<string, ManagedProcess>;
  restartApiServer(): Promise<void>;
  etcdctl(...args: string[]): Promise<string>;
  applyManifests(manifests: object[] | string): Promise<void>;
  kubeconfigFor(user: string, groups?: string[]): Promise<string>;
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 60_000;

/** The kubernetes Service's ClusterIP: the first address of the service range, as the apiserver allocates it. */
function firstServiceIP(cidr: string): string {
  const [ip = '', bits = '32'] = cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  const n = ip.split('.').reduce((acc, p) => acc * 256 + Number(p), 0);
  const first = n - (n % size) + 1;
  return [24, 16, 8, 0].map((shift) => Math.floor(first / 2 ** shift) % 256).join('.');
}

function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === 'localhost';
}

function httpsStatus(url: string, ca: string, cert?: { cert: string; key: string }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, ...cert, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: timed out`)));
    req.on('error', reject);
    req.end();
  });
}

class ProcessSet {
  readonly byName = new Map<string, ManagedProcess>();

  async start(spec: ProcessSpec, ready: () => Promise<boolean>): Promise<void> {
    const proc = await ManagedProcess.start(spec);
    this.byName.set(spec.name, proc);
    await waitFor(
      async () => {
        if (!proc.running) {
          throw new Error(`${spec.name} exited (${JSON.stringify(proc.exitStatus)}):\n${proc.logTail()}`);
        }
        return (await ready()) ? true : undefined;
      },
      { timeoutMs: START_TIMEOUT_MS, what: `${spec.name} to become ready (log: ${spec.logFile})` },
    ).catch((err: unknown) => {
      // A process that never became ready is stopped before the error travels up, so nothing is left behind.
      return proc.stop(2000).then(() => {
        throw err;
      });
    });
  }

  /** Stops in reverse start order, so the apiserver goes before etcd. */
  async stopAll(): Promise<void> {
    for (const proc of [...this.byName.values()].reverse()) await proc.stop();
  }
}

export async function startPlane(opts: PlaneOptions = {}): Promise<Plane> {
  const dir = await mkdtemp(join(runDir(), 'plane-'));
  const procs = new ProcessSet();
  try {
    return await bootPlane(dir, procs, opts);
  } catch (err) {
    await procs.stopAll();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

async function bootPlane(dir: string, procs: ProcessSet, opts: PlaneOptions): Promise<Plane> {
  const [etcdBin, etcdctlBin, apiserverBin] = await Promise.all([binaryPath('etcd'), binaryPath('etcdctl'), binaryPath('kube-apiserver')]);
  const kcmBin = opts.controllerManager === false ? undefined : await binaryPath('kube-controller-manager');
  const schedulerBin = opts.scheduler ? await binaryPath('kube-scheduler') : undefined;
  const bindAddress = opts.bindAddress ?? '127.0.0.1';
  const advertiseAddress = opts.advertiseAddress ?? '127.0.0.1';
  const serviceCIDR = opts.serviceCIDR ?? '10.96.0.0/16';
  const [etcdClientPort, etcdPeerPort, apiPort, kcmPort, schedulerPort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(bindAddress),
    freePort(),
    freePort(),
  ]);
  const pki = await createPlanePKI(join(dir, 'pki'));
  const caPem = readFileSync(pki.caCert, 'utf8');
  const server = `https://${bindAddress === '0.0.0.0' ? '127.0.0.1' : bindAddress}:${apiPort}`;
  const etcdEndpoint = `http://127.0.0.1:${etcdClientPort}`;
  await mkdir(join(dir, 'logs'));

  const writeKubeconfig = async (file: string, user: string, groups: string[]) => {
    const pair = await pki.issue(file, { commonName: user, organizations: groups, usage: 'client' });
    const path = join(dir, `${file}.kubeconfig`);
    await writeFile(path, renderKubeconfig({ clusterName: 'kvcloud-harness', server, caPem, user, certPem: pair.certPem, keyPem: pair.keyPem }), {
      mode: 0o600,
    });
    return path;
  };

  const serving = await pki.issue('apiserver', {
    commonName: 'kube-apiserver',
    altNames: [
      ...new Set(['127.0.0.1', bindAddress, advertiseAddress, firstServiceIP(serviceCIDR)].filter((a) => a !== '0.0.0.0')),
      'localhost',
      'kubernetes',
      'kubernetes.default',
      'kubernetes.default.svc',
      'kubernetes.default.svc.cluster.local',
    ],
    usage: 'server',
  });
  const kubeletClient = await pki.issue('apiserver-kubelet-client', { commonName: 'kube-apiserver-kubelet-client', organizations: ['kubeadm:cluster-admins'], usage: 'client' });
  const adminKubeconfig = await writeKubeconfig('admin', 'kvcloud-admin', ['system:masters']);

  await procs.start(
    {
      name: 'etcd',
      command: etcdBin,
      logFile: join(dir, 'logs', 'etcd.log'),
      args: [
        '--name=harness',
        `--data-dir=${join(dir, 'etcd')}`,
        `--listen-client-urls=${etcdEndpoint}`,
        `--advertise-client-urls=${etcdEndpoint}`,
        `--listen-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
        `--initial-cluster=harness=http://127.0.0.1:${etcdPeerPort}`,
        // Test data is disposable: skipping fsync makes every write (and so every test) much faster.
        '--unsafe-no-fsync',
        '--log-level=warn',
      ],
    },
    async () => {
      const res = await fetch(`${etcdEndpoint}/health`);
      return res.ok && ((await res.json()) as { health?: string }).health === 'true';
    },
  );

  const apiserverSpec: ProcessSpec = {
    name: 'kube-apiserver',
    command: apiserverBin,
    logFile: join(dir, 'logs', 'kube-apiserver.log'),
    args: [
      `--etcd-servers=${etcdEndpoint}`,
      `--bind-address=${bindAddress}`,
      `--advertise-address=${advertiseAddress}`,
      `--secure-port=${apiPort}`,
      `--tls-cert-file=${serving.cert}`,
      `--tls-private-key-file=${serving.key}`,
      `--client-ca-file=${pki.caCert}`,
      '--authorization-mode=Node,RBAC',
      '--enable-admission-plugins=NodeRestriction',
      '--enable-bootstrap-token-auth=true',
      '--allow-privileged=true',
      `--service-cluster-ip-range=${serviceCIDR}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${pki.serviceAccountPub}`,
      `--service-account-signing-key-file=${pki.serviceAccountKey}`,
      `--kubelet-client-certificate=${kubeletClient.cert}`,
      `--kubelet-client-key=${kubeletClient.key}`,
      // Aggregated APIs and webhooks are reached at their pods' IPs, as the local pod runner gives them.
      '--enable-aggregator-routing=true',
      `--requestheader-client-ca-file=${pki.frontProxyCACert}`,
      '--requestheader-allowed-names=front-proxy-client',
      '--requestheader-username-headers=X-Remote-User',
      '--requestheader-group-headers=X-Remote-Group',
      '--requestheader-extra-headers-prefix=X-Remote-Extra-',
      `--proxy-client-cert-file=${join(pki.dir, 'front-proxy-client.crt')}`,
      `--proxy-client-key-file=${join(pki.dir, 'front-proxy-client.key')}`,
      // The kubernetes Service's endpoint would be a loopback address, which Endpoints validation rejects.
      ...(isLoopback(advertiseAddress) ? ['--endpoint-reconciler-type=none'] : []),
      ...(opts.apiServerArgs ?? []),
    ],
  };
  const apiserverReady = async () => (await httpsStatus(`${server}/readyz`, caPem)).status === 200;
  await procs.start(apiserverSpec, apiserverReady);

  // kube-controller-manager and kube-scheduler start alike: an identity of their own, a serving certificate
  // from the cluster CA, and /healthz on a loopback port.
  const startComponent = async (name: string, bin: string, user: string, port: number, extraArgs: string[]) => {
    const kubeconfig = await writeKubeconfig(name, user, []);
    const serving = await pki.issue(`${name}-serving`, { commonName: name, altNames: ['127.0.0.1', 'localhost'], usage: 'server' });
    await procs.start(
      {
        name,
        command: bin,
        logFile: join(dir, 'logs', `${name}.log`),
        args: [
          `--kubeconfig=${kubeconfig}`,
          `--authentication-kubeconfig=${kubeconfig}`,
          `--authorization-kubeconfig=${kubeconfig}`,
          '--bind-address=127.0.0.1',
          `--secure-port=${port}`,
          `--tls-cert-file=${serving.cert}`,
          `--tls-private-key-file=${serving.key}`,
          '--leader-elect=false',
          ...extraArgs,
        ],
      },
      async () => (await httpsStatus(`https://127.0.0.1:${port}/healthz`, caPem)).status === 200,
    );
  };
  if (kcmBin) {
    await startComponent('kube-controller-manager', kcmBin, 'system:kube-controller-manager', kcmPort, [
      '--use-service-account-credentials=true',
      `--service-account-private-key-file=${pki.serviceAccountKey}`,
      `--root-ca-file=${pki.caCert}`,
      `--cluster-signing-cert-file=${pki.caCert}`,
      `--cluster-signing-key-file=${pki.caKey}`,
      '--controllers=*,bootstrapsigner,tokencleaner',
      ...(opts.controllerManagerArgs ?? []),
    ]);
  }
  if (schedulerBin) await startComponent('kube-scheduler', schedulerBin, 'system:kube-scheduler', schedulerPort, []);

  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(adminKubeconfig);

  let stopped = false;
  return {
    dir,
    kubeconfigPath: adminKubeconfig,
    kubeConfig,
    server,
    etcdEndpoint,
    caCertPath: pki.caCert,
    processes: procs.byName,
    async restartApiServer() {
      await procs.byName.get('kube-apiserver')?.stop();
      await procs.start(apiserverSpec, apiserverReady);
    },
    async etcdctl(...args: string[]) {
      const { stdout } = await run(etcdctlBin, [`--endpoints=${etcdEndpoint}`, ...args]);
      return stdout;
    },
    applyManifests: (manifests) => applyManifests(kubeConfig, manifests),
    kubeconfigFor: (user, groups = []) => writeKubeconfig(`user-${user.replace(/[^a-zA-Z0-9-]/g, '_')}`, user, groups),
    async stop() {
      if (stopped) return;
      stopped = true;
      await procs.stopAll();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

let shared: Promise<Plane> | undefined;

/** One plane for every suite of a test run that does not need its own; the e2e root hook stops it. */
export function sharedPlane(): Promise<Plane> {
  shared ??= startPlane();
  return shared;
}

export async function stopSharedPlane(): Promise<void> {
  if (!shared) return;
  const plane = await shared.catch(() => undefined);
  shared = undefined;
  await plane?.stop();
}
