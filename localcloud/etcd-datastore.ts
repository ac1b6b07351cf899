// The shared etcd a DataStore points at, run the way Kamaji's users run one: a pod from the registry.k8s.io/etcd
// image behind a ClusterIP Service, TLS with client-certificate authentication, and auth enabled with a root
// user whose identity is the CN of the operator's client certificate (what kamaji-etcd's setup job does with
// `etcdctl user add root --no-password; role add root; user grant-role root root; auth enable`). Without auth
// etcd ignores users and roles, so tenants would not be isolated at all.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Client } from '../lib/kube/client.js';
import type { KubeObject } from '../lib/kube/object.js';
import { certificatePem, createCertificateAuthority, issueCertificate, privateKeyPem } from '../lib/pki/x509.js';
import { binaryPath } from './binaries.js';
import { runDir } from './run-dir.js';
import { upstreamVersion } from './versions.js';
import { waitFor } from './wait.js';

const run = promisify(execFile);
const DAY = 86_400_000;

export interface SharedEtcd {
  /** ClusterIP:2379, the DataStore endpoint. */
  endpoint: string;
  caCertPem: string;
  caKeyPem: string;
  rootCertPem: string;
  rootKeyPem: string;
  /** Secret (in the etcd namespace) holding the root client certificate under tls.crt / tls.key. */
  rootSecret: { namespace: string; name: string };
  /** etcdctl against this etcd as `who` (a client certificate); rejects with etcd's error on failure. */
  etcdctl(who: { certPem: string; keyPem: string }, ...args: string[]): Promise<string>;
  root: { certPem: string; keyPem: string };
  stop(): Promise<void>;
}

interface Service extends KubeObject {
  spec?: { clusterIP?: string };
}

interface Pod extends KubeObject {
  status?: { conditions?: { type: string; status: string }[] };
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

export async function startSharedEtcd(client: Client, namespace: string): Promise<SharedEtcd> {
  const dir = await mkdtemp(join(runDir(), 'shared-etcd-'));
  await client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
  // Admission refuses pods until kube-controller-manager has made the namespace's default ServiceAccount.
  await waitFor(async () => ((await client.get({ apiVersion: 'v1', kind: 'ServiceAccount' }, { namespace, name: 'default' }, { direct: true })) ? true : undefined), {
    timeoutMs: 30_000,
    what: `the default ServiceAccount of ${namespace}`,
  });
  const svc = await client.create<Service>({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'etcd', namespace },
    spec: { selector: { app: 'shared-etcd' }, ports: [{ name: 'client', port: 2379, targetPort: 2379 }] },
  } as Service);
  const ip = svc.spec?.clusterIP ?? '';
  const endpoint = `${ip}:2379`;

  const ca = await createCertificateAuthority('shared-etcd-ca', 30 * DAY);
  const server = await issueCertificate(ca, { commonName: 'etcd', altNames: [ip, 'localhost', '127.0.0.1', `etcd.${namespace}.svc`], usage: 'server-and-client', validFor: 30 * DAY });
  const rootCert = await issueCertificate(ca, { commonName: 'root', usage: 'client', validFor: 30 * DAY });
  const pems = {
    caCertPem: certificatePem(ca.cert),
    caKeyPem: await privateKeyPem(ca.key),
    rootCertPem: certificatePem(rootCert.cert),
    rootKeyPem: await privateKeyPem(rootCert.key),
  };
  await client.create({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'etcd-server', namespace },
    data: { 'ca.crt': b64(pems.caCertPem), 'tls.crt': b64(certificatePem(server.cert)), 'tls.key': b64(await privateKeyPem(server.key)) },
  });
  await client.create({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'etcd-root-client', namespace },
    type: 'kubernetes.io/tls',
    data: { 'tls.crt': b64(pems.rootCertPem), 'tls.key': b64(pems.rootKeyPem) },
  });
  const tag = `${upstreamVersion('ETCD_VERSION').replace(/^v/, '')}-0`;
  await client.create({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'etcd-0', namespace, labels: { app: 'shared-etcd' } },
    spec: {
      containers: [
        {
          name: 'etcd',
          image: `registry.k8s.io/etcd:${tag}`,
          command: ['etcd'],
          args: [
            '--name=etcd-0',
            '--data-dir=/var/lib/etcd',
            '--listen-client-urls=https://0.0.0.0:2379',
            `--advertise-client-urls=https://${endpoint}`,
            '--listen-peer-urls=http://127.0.0.1:2380',
            '--initial-advertise-peer-urls=http://127.0.0.1:2380',
            '--initial-cluster=etcd-0=http://127.0.0.1:2380',
            '--cert-file=/etc/etcd/pki/tls.crt',
            '--key-file=/etc/etcd/pki/tls.key',
            '--trusted-ca-file=/etc/etcd/pki/ca.crt',
            '--client-cert-auth=true',
            '--listen-metrics-urls=http://0.0.0.0:2381',
          ],
          ports: [{ containerPort: 2379 }],
          readinessProbe: { httpGet: { path: '/health', port: 2381 }, periodSeconds: 1 },
          volumeMounts: [
            { name: 'pki', mountPath: '/etc/etcd/pki', readOnly: true },
            { name: 'data', mountPath: '/var/lib/etcd' },
          ],
        },
      ],
      volumes: [
        { name: 'pki', secret: { secretName: 'etcd-server' } },
        { name: 'data', emptyDir: {} },
      ],
    },
  });
  await waitFor(
    async () => {
      const pod = await client.get<Pod>({ apiVersion: 'v1', kind: 'Pod' }, { namespace, name: 'etcd-0' }, { direct: true });
      return pod?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? true : undefined;
    },
    { timeoutMs: 60_000, what: 'the shared etcd pod to be Ready' },
  );

  const etcdctlBin = await binaryPath('etcdctl');
  const cacert = join(dir, 'ca.crt');
  await writeFile(cacert, pems.caCertPem);
  let n = 0;
  const etcdctl = async (who: { certPem: string; keyPem: string }, ...args: string[]): Promise<string> => {
    const id = n++;
    const cert = join(dir, `c${id}.crt`);
    const key = join(dir, `c${id}.key`);
    await writeFile(cert, who.certPem);
    await writeFile(key, who.keyPem, { mode: 0o600 });
    try {
      const { stdout } = await run(etcdctlBin, [`--endpoints=https://${endpoint}`, `--cacert=${cacert}`, `--cert=${cert}`, `--key=${key}`, '--dial-timeout=5s', ...args]);
      return stdout;
    } catch (err) {
      const e = err as Error & { stderr?: string };
      throw new Error(`etcdctl ${args.join(' ')}: ${e.stderr?.trim() ?? e.message}`, { cause: err });
    } finally {
      await rm(cert, { force: true });
      await rm(key, { force: true });
    }
  };
  const root = { certPem: pems.rootCertPem, keyPem: pems.rootKeyPem };
  await etcdctl(root, 'user', 'add', 'root', '--no-password');
  await etcdctl(root, 'role', 'add', 'root');
  await etcdctl(root, 'user', 'grant-role', 'root', 'root');
  await etcdctl(root, 'auth', 'enable');

  return {
    endpoint,
    ...pems,
    rootSecret: { namespace, name: 'etcd-root-client' },
    etcdctl,
    root,
    async stop() {
      // The directory goes even when the cluster is already gone and the namespace with it.
      try {
        await client.delete({ apiVersion: 'v1', kind: 'Namespace' }, { name: namespace });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}

/** A DataStore for this etcd, Kamaji style: CA inline, the root client certificate by Secret reference. */
export function dataStoreFor(name: string, etcd: SharedEtcd): KubeObject & Record<string, unknown> {
  return {
    apiVersion: 'kamaji.clastix.io/v1alpha1',
    kind: 'DataStore',
    metadata: { name },
    spec: {
      driver: 'etcd',
      endpoints: [etcd.endpoint],
      tlsConfig: {
        certificateAuthority: { certificate: { content: b64(etcd.caCertPem) }, privateKey: { content: b64(etcd.caKeyPem) } },
        clientCertificate: {
          certificate: { secretReference: { ...etcd.rootSecret, keyPath: 'tls.crt' } },
          privateKey: { secretReference: { ...etcd.rootSecret, keyPath: 'tls.key' } },
        },
      },
    },
  };
}

/** Registers `etcd` as the DataStore `name` and waits until the operator reports it ready. */
export async function createReadyDataStore(client: Client, name: string, etcd: SharedEtcd): Promise<void> {
  await client.create(dataStoreFor(name, etcd));
  await waitFor(
    async () => {
      const ds = await client.get<KubeObject & { status?: { ready?: boolean } }>({ apiVersion: 'kamaji.clastix.io/v1alpha1', kind: 'DataStore' }, { name }, { direct: true });
      if (ds?.status?.ready !== true) throw new Error(`DataStore status: ${JSON.stringify(ds?.status)}`);
      return true;
    },
    { timeoutMs: 60_000, what: `DataStore ${name} to be ready` },
  );
}
