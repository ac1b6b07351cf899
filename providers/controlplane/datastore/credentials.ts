// Resolves a DataStore's TLS material and credentials: each is either inline content (base64 in the object) or
// a key of a Secret, as Kamaji's ContentRef allows. A missing Secret or key is an error naming the field, which
// the reconcilers report as a condition.
import { createHash } from 'node:crypto';
import { SECRET_TYPE } from '../../../lib/apis/core.js';
import type { Client } from '../../../lib/kube/client.js';
import type { ContentRef, DataStore } from '../api/index.js';

interface Secret {
  metadata: { name?: string };
  data?: Record<string, string>;
}

export interface DataStoreCredentials {
  endpoints: string[];
  caCert: Buffer;
  /** The CA key signs each tenant's client certificate. */
  caKey: Buffer | undefined;
  clientCert: Buffer | undefined;
  clientKey: Buffer | undefined;
  basicAuth: { username: string; password: string } | undefined;
  /** Changes when any of the above does, so connections and tenant certificates follow a rotation. */
  fingerprint: string;
}

export async function resolveContent(client: Client, ref: ContentRef | undefined, field: string): Promise<Buffer | undefined> {
  if (!ref) return undefined;
  if (ref.content) return Buffer.from(ref.content, 'base64');
  const sr = ref.secretReference;
  if (!sr) return undefined;
  const secret = await client.get<Secret & { metadata: object }>(SECRET_TYPE, { namespace: sr.namespace, name: sr.name ?? '' }, { direct: true });
  if (!secret) throw new Error(`${field}: Secret ${sr.namespace ?? ''}/${sr.name ?? ''} not found`);
  const value = secret.data?.[sr.keyPath];
  if (value === undefined) throw new Error(`${field}: Secret ${sr.namespace ?? ''}/${sr.name ?? ''} has no key "${sr.keyPath}"`);
  return Buffer.from(value, 'base64');
}

export async function resolveCredentials(client: Client, ds: DataStore): Promise<DataStoreCredentials> {
  const tls = ds.spec.tlsConfig;
  const caCert = await resolveContent(client, tls?.certificateAuthority.certificate, 'spec.tlsConfig.certificateAuthority.certificate');
  if (!caCert) throw new Error('spec.tlsConfig.certificateAuthority.certificate is required for the etcd driver');
  const caKey = await resolveContent(client, tls?.certificateAuthority.privateKey, 'spec.tlsConfig.certificateAuthority.privateKey');
  const clientCert = await resolveContent(client, tls?.clientCertificate?.certificate, 'spec.tlsConfig.clientCertificate.certificate');
  const clientKey = await resolveContent(client, tls?.clientCertificate?.privateKey, 'spec.tlsConfig.clientCertificate.privateKey');
  const username = await resolveContent(client, ds.spec.basicAuth?.username, 'spec.basicAuth.username');
  const password = await resolveContent(client, ds.spec.basicAuth?.password, 'spec.basicAuth.password');
  const basicAuth = username && password ? { username: username.toString(), password: password.toString() } : undefined;
  const hash = createHash('sha256');
  for (const part of [ds.spec.endpoints.join(','), caCert, caKey, clientCert, clientKey, basicAuth?.username, basicAuth?.password]) {
    hash.update(part ?? '').update('\0');
  }
  return { endpoints: ds.spec.endpoints, caCert, caKey, clientCert, clientKey, basicAuth, fingerprint: hash.digest('hex').slice(0, 16) };
}
