// What kubeadm join and the kubelet do for a worker, against any apiserver: discover and trust the cluster
// (bootstrap-token discovery or a given CA), obtain the node's client certificate through a CSR for
// kubernetes.io/kube-apiserver-client-kubelet that the tenant's kube-controller-manager approves and signs,
// register the Node under that identity, and heartbeat (Lease + Ready) until stopped; with rotateCertificates, renew
// the client certificate through a CSR of its own as the kubelet does (at a jittered 70-90% of its lifetime).
import { createHash, randomUUID, X509Certificate } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import { pino } from 'pino';
import { isAlreadyExists } from '../../lib/kube/api-error.js';
import type { Client } from '../../lib/kube/client.js';
import { metaTime, microTime } from '../../lib/kube/meta-time.js';
import type { KubeObject } from '../../lib/kube/object.js';
import { createCertificateSigningRequest, generateKeyPair, privateKeyPem, publicKeyPem } from '../../lib/pki/x509.js';
import { renderKubeconfig } from '../../lib/kube/client-cert-kubeconfig.js';
import { upstreamVersion } from '../../localcloud/versions.js';
import { clientOn, openTransport } from './connection.js';
import { discoverClusterInfo, endpointURL, parseBootstrapToken, type ClusterInfo } from './discovery.js';
import type { NodeAddress, Taint } from '../../localcloud/node-object.js';
import { buildGuestNode, guestNodeStatus, type GuestNodeSpec, type GuestNodeStatus } from './node-object.js';

export const KUBELET_CLIENT_SIGNER = 'kubernetes.io/kube-apiserver-client-kubelet';

export interface NodeIdentity {
  /** Where the node talks to the apiserver (cluster-info's server after token discovery). */
  server: string;
  caPem: string;
  certPem: string;
  keyPem: string;
}

export interface NodeRegistration {
  nodeName: string;
  providerID?: string | undefined;
  /** --node-labels: added to the kubelet's own (hostname, os, arch). NodeRestriction limits what is allowed. */
  labels?: Record<string, string> | undefined;
  /** --register-with-taints. */
  taints?: Taint[] | undefined;
  addresses?: NodeAddress[] | undefined;
  capacity?: Record<string, string> | undefined;
  /** Default the pinned Kubernetes version. */
  kubeletVersion?: string | undefined;
  heartbeat?: HeartbeatOptions | undefined;
  /** --cloud-provider=external (see GuestNodeSpec). */
  externalCloudProvider?: boolean | undefined;
  /** The kubelet API's port, advertised in the Node's daemonEndpoints; none by default. */
  kubeletPort?: number | undefined;
  /**
   * The kubelet's rotateCertificates: a new key and a CSR under the node's own identity (auto-approved as
   * selfnodeclient) once a jittered 70-90% of the certificate's lifetime has passed. The CA the node trusts stays
   * the one it joined with, as kubelet.conf keeps it.
   */
  rotateCertificates?: boolean | undefined;
  log?: Logger | undefined;
}

export interface HeartbeatOptions {
  /** Lease renewal, the kubelet's 10s (a quarter of the 40s lease). */
  leaseRenewMs?: number;
  /** Status re-post when nothing changed; the kubelet's is 5 minutes, kept at 1 minute. */
  statusReportMs?: number;
}

export interface JoinNodeOptions extends NodeRegistration {
  /** host:port or https URL, as JoinConfiguration.discovery.bootstrapToken.apiServerEndpoint. */
  apiServerEndpoint: string;
  /** "<id>.<secret>". */
  token: string;
  /** Token discovery pins ("sha256:<hex>"). */
  caCertHashes?: string[] | undefined;
  unsafeSkipCAVerification?: boolean | undefined;
  /** A CA to trust directly instead of token discovery (kubeadm's file discovery); then apiServerEndpoint is the server. */
  caPem?: string | undefined;
  /** For discovery and the CSR together; default 5 minutes. */
  timeoutMs?: number | undefined;
  signal?: AbortSignal | undefined;
}

export interface RunningNode {
  readonly nodeName: string;
  /** The identity in use now (a rotation replaces it). */
  readonly identity: NodeIdentity;
  /** Client certificates obtained by rotation so far. */
  readonly rotations: number;
  /** The CSR that issued the identity (undefined when the node ran with an identity it already had). */
  readonly csrName: string | undefined;
  /** A kubeconfig with the node's identity, as kubeadm writes /etc/kubernetes/kubelet.conf. */
  kubeconfig(): string;
  /** Stops the heartbeats; the Node stays, going NotReady once its lease expires, as when a VM powers off. */
  stop(): Promise<void>;
}

export interface CertificateSigningRequest extends KubeObject {
  spec: { request: string; signerName: string; usages: string[]; expirationSeconds?: number };
  status?: { certificate?: string; conditions?: { type: string; status: string; reason?: string; message?: string }[] };
}

export const CSR = { apiVersion: 'certificates.k8s.io/v1', kind: 'CertificateSigningRequest' } as const;
const LEASE = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease' } as const;
const LEASE_DURATION_SECONDS = 40;

/** Joins a worker node: discovery, TLS bootstrap through a CSR, registration, heartbeats. */
export async function joinNode(opts: JoinNodeOptions): Promise<RunningNode> {
  const log = opts.log ?? pino({ level: 'silent' });
  const deadline = Date.now() + (opts.timeoutMs ?? 300_000);
  parseBootstrapToken(opts.token);
  const info: ClusterInfo = opts.caPem
    ? { server: endpointURL(opts.apiServerEndpoint), caPem: opts.caPem }
    : await discoverClusterInfo({
        apiServerEndpoint: opts.apiServerEndpoint,
        token: opts.token,
        caCertHashes: opts.caCertHashes,
        unsafeSkipCAVerification: opts.unsafeSkipCAVerification,
        timeoutMs: deadline - Date.now(),
        signal: opts.signal,
      });
  log.info({ server: info.server }, 'discovered cluster');
  const { identity, csrName } = await tlsBootstrap(info, opts.token, opts.nodeName, deadline, opts.signal, log);
  log.info({ csr: csrName }, 'obtained node client certificate');
  return runNode(identity, opts, csrName);
}

/** The kubelet's TLS bootstrap: a fresh key, a CSR under the bootstrap token, the certificate once issued. */
export async function tlsBootstrap(
  info: ClusterInfo,
  token: string,
  nodeName: string,
  deadline: number,
  signal: AbortSignal | undefined,
  log: Logger,
): Promise<{ identity: NodeIdentity; csrName: string }> {
  const transport = await openTransport({ server: info.server, caPem: info.caPem, credentials: { kind: 'token', token }, userAgent: `kubelet/${nodeName}` });
  try {
    const { certPem, keyPem, csrName } = await requestClientCertificate(clientOn(transport), nodeName, deadline, signal, log);
    return { identity: { server: info.server, caPem: info.caPem, certPem, keyPem }, csrName };
  } finally {
    transport.close();
  }
}

/** A new key and a kubelet client certificate for it, requested through `client` (bootstrap token or the node itself). */
async function requestClientCertificate(
  client: Client,
  nodeName: string,
  deadline: number,
  signal: AbortSignal | undefined,
  log: Logger,
): Promise<{ certPem: string; keyPem: string; csrName: string }> {
  const key = await generateKeyPair('ECDSA-P256');
  const request = await createCertificateSigningRequest(key, { commonName: `system:node:${nodeName}`, organizations: ['system:nodes'] });
  // Named after the key, as the kubelet does, so a retry with the same key finds its own request.
  const digest = createHash('sha256').update(await publicKeyPem(key)).update(nodeName).digest('base64url').slice(0, 43);
  const csrName = `node-csr-${digest}`.toLowerCase().replace(/[^a-z0-9-]/g, 'x');
  const csr: CertificateSigningRequest = {
    ...CSR,
    metadata: { name: csrName },
    spec: {
      request: Buffer.from(request).toString('base64'),
      signerName: KUBELET_CLIENT_SIGNER,
      // An ECDSA key signs only; the csrapproving controller accepts exactly these for kubelet client certs.
      usages: ['digital signature', 'client auth'],
    },
  };
  try {
    await client.create(csr);
  } catch (err) {
    if (!isAlreadyExists(err)) throw new Error(`create CSR ${csrName}: ${(err as Error).message}`, { cause: err });
  }
  log.info({ csr: csrName, signer: KUBELET_CLIENT_SIGNER }, 'created CSR');
  const certPem = await waitForCertificate(client, csrName, deadline, signal);
  return { certPem, keyPem: await privateKeyPem(key), csrName };
}

/** When the kubelet's certificate manager rotates: a random point between 70% and 90% of the lifetime. */
export function rotationDeadline(certPem: string, random: number = Math.random()): number {
  const cert = new X509Certificate(certPem);
  const from = cert.validFromDate.getTime();
  return from + (0.7 + 0.2 * random) * (cert.validToDate.getTime() - from);
}

/** The certificate of CSR `name` once issued; throws when it is denied or failed, or at the deadline. */
export async function waitForCertificate(client: Client, name: string, deadline: number, signal: AbortSignal | undefined): Promise<string> {
  let last = 'not read yet';
  for (;;) {
    signal?.throwIfAborted();
    const csr = await client.get<CertificateSigningRequest>(CSR, { name }, { direct: true }).catch((err: unknown) => {
      last = (err as Error).message;
      return undefined;
    });
    const conditions = csr?.status?.conditions ?? [];
    const refused = conditions.find((c) => (c.type === 'Denied' || c.type === 'Failed') && c.status === 'True');
    if (refused) throw new Error(`CSR ${name} ${refused.type.toLowerCase()}: ${refused.reason ?? ''} ${refused.message ?? ''}`.trim());
    if (csr?.status?.certificate) return Buffer.from(csr.status.certificate, 'base64').toString('utf8');
    if (csr) last = conditions.some((c) => c.type === 'Approved') ? 'approved, not yet issued' : 'not yet approved';
    if (Date.now() >= deadline) throw new Error(`CSR ${name} was not issued in time: ${last}`);
    await delay(250, undefined, { signal });
  }
}

/** Registers the Node under `identity` and keeps it Ready until stopped: what a kubelet does after bootstrap. */
export async function runNode(initial: NodeIdentity, reg: NodeRegistration, csrName?: string): Promise<RunningNode> {
  const log = (reg.log ?? pino({ level: 'silent' })).child({ node: reg.nodeName });
  let identity = initial;
  const connect = (id: NodeIdentity) =>
    openTransport({
      server: id.server,
      caPem: id.caPem,
      credentials: { kind: 'certificate', certPem: id.certPem, keyPem: id.keyPem },
      userAgent: `kubelet/${reg.nodeName}`,
    });
  let transport = await connect(identity);
  let client = clientOn(transport);
  const since = metaTime();
  const spec: GuestNodeSpec = {
    name: reg.nodeName,
    providerID: reg.providerID,
    labels: reg.labels,
    taints: reg.taints,
    addresses: reg.addresses,
    capacity: reg.capacity,
    kubeletVersion: reg.kubeletVersion ?? upstreamVersion('KUBERNETES_VERSION'),
    bootID: randomUUID(),
    externalCloudProvider: reg.externalCloudProvider,
    kubeletPort: reg.kubeletPort,
  };
  const postStatus = (): Promise<KubeObject> =>
    client.apply<KubeObject & { status: GuestNodeStatus }>({ apiVersion: 'v1', kind: 'Node', metadata: { name: spec.name }, status: guestNodeStatus(spec, metaTime(), since) }, { subresource: 'status' });
  let uid = '';
  const renewLease = () =>
    client.apply({
      ...LEASE,
      metadata: { name: spec.name, namespace: 'kube-node-lease', ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: spec.name, uid }] },
      spec: { holderIdentity: spec.name, leaseDurationSeconds: LEASE_DURATION_SECONDS, renewTime: microTime() },
    });
  try {
    try {
      // Created with its status, so the node lifecycle controller sees it Ready from the start.
      uid = (await client.create(buildGuestNode(spec, guestNodeStatus(spec, metaTime(), since)))).metadata.uid ?? '';
      log.info('registered node');
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      // A restarted kubelet finds its Node and only refreshes the status.
      uid = (await postStatus()).metadata.uid ?? '';
      log.info('node already registered; refreshed its status');
    }
    await renewLease();
  } catch (err) {
    transport.close();
    throw new Error(`register node ${spec.name}: ${(err as Error).message}`, { cause: err });
  }
  const timers = [
    setInterval(() => {
      renewLease().catch((err: unknown) => {
        log.warn({ err }, 'lease renewal failed');
      });
    }, reg.heartbeat?.leaseRenewMs ?? 10_000),
    setInterval(() => {
      postStatus().catch((err: unknown) => {
        log.warn({ err }, 'status report failed');
      });
    }, reg.heartbeat?.statusReportMs ?? 60_000),
  ];
  let stopped = false;
  let rotations = 0;
  let rotation: NodeJS.Timeout | undefined;
  const rotate = async () => {
    const issued = await requestClientCertificate(client, spec.name, Date.now() + 120_000, undefined, log);
    if (stopped) return;
    const next = { ...identity, certPem: issued.certPem, keyPem: issued.keyPem };
    const old = transport;
    transport = await connect(next);
    client = clientOn(transport);
    identity = next;
    rotations++;
    old.close();
    log.info({ csr: issued.csrName }, 'rotated the node client certificate');
  };
  const schedule = (delayMs: number) => {
    if (stopped || !reg.rotateCertificates) return;
    rotation = setTimeout(() => {
      rotate().then(
        () => {
          schedule(Math.max(0, rotationDeadline(identity.certPem) - Date.now()));
        },
        (err: unknown) => {
          log.warn({ err }, 'client certificate rotation failed; retrying');
          schedule(5000);
        },
      );
    }, delayMs);
  };
  schedule(Math.max(0, rotationDeadline(identity.certPem) - Date.now()));
  return {
    nodeName: spec.name,
    get identity() {
      return identity;
    },
    get rotations() {
      return rotations;
    },
    csrName,
    kubeconfig: () =>
      renderKubeconfig({ clusterName: 'kubernetes', server: identity.server, caPem: identity.caPem, user: `system:node:${spec.name}`, certPem: identity.certPem, keyPem: identity.keyPem }),
    stop() {
      if (stopped) return Promise.resolve();
      stopped = true;
      for (const t of timers) clearInterval(t);
      clearTimeout(rotation);
      transport.close();
      log.info('stopped heartbeats');
      return Promise.resolve();
    },
  };
}
