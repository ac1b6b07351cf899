// kubeadm's bootstrap-token discovery: read kube-public/cluster-info without trusting the server yet, accept it
// only if kube-controller-manager's bootstrapsigner signed it with our token (a detached HS256 JWS) and, when
// pins are given, if the CA's public key hashes to one of them; then read it again over TLS verified with that CA.
import { createHash, createHmac, timingSafeEqual, X509Certificate } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { parse } from 'yaml';
import { openTransport } from './connection.js';

export interface BootstrapToken {
  id: string;
  secret: string;
}

const TOKEN_FORMAT = /^([a-z0-9]{6})\.([a-z0-9]{16})$/;

export function parseBootstrapToken(token: string): BootstrapToken {
  const m = TOKEN_FORMAT.exec(token);
  if (!m?.[1] || !m[2]) throw new Error(`bootstrap token "${token.slice(0, 7)}..." does not match [a-z0-9]{6}.[a-z0-9]{16}`);
  return { id: m[1], secret: m[2] };
}

const base64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

/** Verifies a detached JWS ("header..signature") of `payload` as the bootstrapsigner makes it: HS256, kid = token id. */
export function verifyDetachedJWS(detached: string, payload: string, token: BootstrapToken): boolean {
  const parts = detached.split('.');
  if (parts.length !== 3 || parts[1] !== '') return false;
  const [header = '', , signature = ''] = parts;
  let decoded: { alg?: unknown; kid?: unknown };
  try {
    decoded = JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as { alg?: unknown; kid?: unknown };
  } catch {
    return false;
  }
  if (decoded.alg !== 'HS256' || decoded.kid !== token.id) return false;
  const expected = createHmac('sha256', token.secret).update(`${header}.${base64url(payload)}`).digest();
  const given = Buffer.from(signature, 'base64url');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** kubeadm's CA pin: "sha256:" + hex SHA-256 of the certificate's DER SubjectPublicKeyInfo. */
export function caPublicKeyHash(certPem: string): string {
  const spki = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
  return `sha256:${createHash('sha256').update(spki).digest('hex')}`;
}

/** Every certificate of a PEM bundle. */
export function splitPemBundle(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

export interface ClusterInfo {
  /** The server cluster-info names: kubeadm's TLS bootstrap talks to it, not to the discovery endpoint. */
  server: string;
  caPem: string;
}

/** The first cluster of a kubeconfig: server and CA (certificate-authority-data). */
export function clusterOfKubeconfig(kubeconfig: string): ClusterInfo {
  const doc = parse(kubeconfig) as { clusters?: { cluster?: { server?: string; 'certificate-authority-data'?: string } }[] } | null;
  const cluster = doc?.clusters?.[0]?.cluster;
  if (!cluster?.server || !cluster['certificate-authority-data']) throw new Error('cluster-info kubeconfig has no cluster with server and certificate-authority-data');
  return { server: cluster.server, caPem: Buffer.from(cluster['certificate-authority-data'], 'base64').toString('utf8') };
}

export interface TokenDiscoveryOptions {
  /** host:port (kubeadm's apiServerEndpoint) or an https URL. */
  apiServerEndpoint: string;
  token: string;
  /** "sha256:<hex>" pins; empty only together with unsafeSkipCAVerification. */
  caCertHashes?: string[] | undefined;
  unsafeSkipCAVerification?: boolean | undefined;
  timeoutMs?: number;
  signal?: AbortSignal | undefined;
}

interface ConfigMap {
  data?: Record<string, string>;
}

const CLUSTER_INFO_PATH = '/api/v1/namespaces/kube-public/configmaps/cluster-info';

export function endpointURL(endpoint: string): string {
  return /^https?:\/\//.test(endpoint) ? endpoint.replace(/\/$/, '') : `https://${endpoint}`;
}

async function readClusterInfo(server: string, caPem: string | undefined): Promise<ConfigMap> {
  const transport = await openTransport({ server, caPem, credentials: { kind: 'anonymous' }, userAgent: 'kvcloud-guest/discovery' });
  try {
    return await transport.request<ConfigMap>({ method: 'GET', path: CLUSTER_INFO_PATH });
  } finally {
    transport.close();
  }
}

/**
 * Discovers and validates the cluster's CA and server from cluster-info. Retries until the signature appears
 * (the bootstrapsigner signs asynchronously) or the timeout passes, like kubeadm's discovery loop.
 */
export async function discoverClusterInfo(opts: TokenDiscoveryOptions): Promise<ClusterInfo> {
  const token = parseBootstrapToken(opts.token);
  const pins = opts.caCertHashes ?? [];
  if (pins.length === 0 && !opts.unsafeSkipCAVerification) {
    throw new Error('token discovery needs caCertHashes, or unsafeSkipCAVerification: true');
  }
  const server = endpointURL(opts.apiServerEndpoint);
  const deadline = Date.now() + (opts.timeoutMs ?? 300_000);
  let last: string;
  for (;;) {
    opts.signal?.throwIfAborted();
    try {
      const cm = await readClusterInfo(server, undefined);
      const kubeconfig = cm.data?.kubeconfig;
      const jws = cm.data?.[`jws-kubeconfig-${token.id}`];
      if (!kubeconfig) throw new Error('cluster-info has no kubeconfig');
      if (!jws) throw new Error(`cluster-info has no signature for token id ${token.id} yet`);
      if (!verifyDetachedJWS(jws, kubeconfig, token)) {
        // A wrong signature is an attack or a wrong token: kubeadm fails at once rather than retrying.
        throw new DiscoveryRejected(`cluster-info signature for token id ${token.id} does not verify with the given token`);
      }
      const info = clusterOfKubeconfig(kubeconfig);
      if (pins.length > 0) {
        const hashes = splitPemBundle(info.caPem).map(caPublicKeyHash);
        if (!hashes.some((h) => pins.includes(h))) {
          throw new DiscoveryRejected(`cluster CA public key hashes ${hashes.join(', ')} match none of the pinned ${pins.join(', ')}`);
        }
      }
      // Now the CA is trusted: read cluster-info again over verified TLS and insist it is the same.
      const again = await readClusterInfo(server, info.caPem);
      if (again.data?.kubeconfig !== kubeconfig) throw new Error('cluster-info changed between the unverified and the verified read');
      return info;
    } catch (err) {
      if (err instanceof DiscoveryRejected) throw err;
      last = (err as Error).message;
    }
    if (Date.now() >= deadline) throw new Error(`discovery of ${server} timed out: ${last}`);
    await delay(1000, undefined, { signal: opts.signal });
  }
}

export class DiscoveryRejected extends Error {
  override readonly name = 'DiscoveryRejected';
}
