// What a transport needs from a kubeconfig (the current cluster's server and TLS, the current user's credentials),
// read without @kubernetes/client-node for what controllers use: certificate, key and CA (data or files), a bearer
// token, basic auth, the in-cluster ServiceAccount. Importing client-node costs a process about 80 MiB of RSS and
// 25 MiB of heap, most of an idle operator. Exec plugins, auth providers, impersonation and several $KUBECONFIG files
// are left to client-node, loaded only then; the order a kubeconfig is looked for is client-node's loadFromDefault.
import type { KubeConfig } from '@kubernetes/client-node';
import { existsSync, readFileSync } from 'node:fs';
import type { OutgoingHttpHeaders } from 'node:http';
import type https from 'node:https';
import { isIPv6 } from 'node:net';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import { parse } from 'yaml';

/** The part of client-node's KubeConfig a transport uses; a KubeConfig is one. */
export interface KubeConfigSource {
  getCurrentCluster(): { readonly server: string } | null;
  /** Exec plugins and auth providers make a user's credentials short-lived: they are asked again per request. */
  getCurrentUser(): { readonly exec?: unknown; readonly authProvider?: unknown } | null;
  applyToHTTPSOptions(opts: https.RequestOptions): Promise<void>;
}

const SERVICE_ACCOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';
/** How long an in-cluster token read from its file is used before the file is read again (client-node's too). */
const TOKEN_FILE_REFRESH_MS = 60_000;

interface ClusterEntry {
  server: string;
  caData?: string | undefined;
  caFile?: string | undefined;
  insecure: boolean;
  tlsServerName?: string | undefined;
}

interface UserEntry {
  certData?: string | undefined;
  certFile?: string | undefined;
  keyData?: string | undefined;
  keyFile?: string | undefined;
  token?: string | undefined;
  username?: string | undefined;
  password?: string | undefined;
  /** The in-cluster token, rotated by the kubelet in its file. */
  tokenFile?: string | undefined;
}

type Fields = Record<string, unknown>;

function fileOrData(file: string | undefined, data: string | undefined): Buffer | undefined {
  if (file) return readFileSync(file);
  return data ? Buffer.from(data, 'base64') : undefined;
}

class ParsedKubeConfig implements KubeConfigSource {
  private token: { value: string; readAt: number } | undefined;

  constructor(
    private readonly cluster: ClusterEntry | undefined,
    private readonly user: UserEntry | undefined,
  ) {}

  getCurrentCluster(): { server: string } | null {
    return this.cluster ? { server: this.cluster.server } : null;
  }

  getCurrentUser(): { authProvider?: unknown } | null {
    if (!this.user) return null;
    return this.user.tokenFile ? { authProvider: { name: 'tokenFile' } } : {};
  }

  applyToHTTPSOptions(opts: https.RequestOptions): Promise<void> {
    const { cluster, user } = this;
    if (!user) return Promise.resolve(); // client-node applies nothing for a context without a user either
    if (cluster?.insecure) opts.rejectUnauthorized = false;
    if (cluster?.tlsServerName) opts.servername = cluster.tlsServerName;
    const ca = cluster && fileOrData(cluster.caFile, cluster.caData);
    if (ca) opts.ca = ca;
    const cert = fileOrData(user.certFile, user.certData);
    if (cert) opts.cert = cert;
    const key = fileOrData(user.keyFile, user.keyData);
    if (key) opts.key = key;
    const token = user.tokenFile ? this.fileToken(user.tokenFile) : user.token;
    if (token) opts.headers = { ...(opts.headers as OutgoingHttpHeaders | undefined), Authorization: `Bearer ${token}` };
    if (user.username) opts.auth = `${user.username}:${user.password ?? ''}`;
    return Promise.resolve();
  }

  private fileToken(path: string): string {
    if (!this.token || Date.now() - this.token.readAt > TOKEN_FILE_REFRESH_MS) this.token = { value: readFileSync(path, 'utf8').trim(), readAt: Date.now() };
    return this.token.value;
  }
}

/** The entry named `name` of a kubeconfig list (clusters, users, contexts), as client-node finds it. */
function find(list: unknown, name: unknown, field: string): Fields | undefined {
  if (!Array.isArray(list)) return undefined;
  const entry = (list as Fields[]).find((e) => e.name === name);
  return entry ? ((entry[field] as Fields | undefined) ?? {}) : undefined;
}

/** undefined when the kubeconfig needs what only client-node does (exec, auth providers, impersonation). */
function parseSimple(text: string, baseDir: string | undefined): KubeConfigSource | undefined {
  const doc = (parse(text) ?? {}) as Fields;
  const context = find(doc.contexts, doc['current-context'], 'context');
  const c = context && find(doc.clusters, context.cluster, 'cluster');
  const u = context && find(doc.users, context.user, 'user');
  if (u && (u.exec !== undefined || u['auth-provider'] !== undefined || u.as !== undefined)) return undefined;
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
  // Relative files are relative to the kubeconfig's own directory, as kubectl reads them.
  const file = (v: unknown): string | undefined => {
    const path = str(v);
    return path && baseDir && !isAbsolute(path) ? join(baseDir, path) : path;
  };
  const server = str(c?.server);
  const cluster: ClusterEntry | undefined = server
    ? { server: server.replace(/\/$/, ''), caData: str(c?.['certificate-authority-data']), caFile: file(c?.['certificate-authority']), insecure: c?.['insecure-skip-tls-verify'] === true, tlsServerName: str(c?.['tls-server-name']) }
    : undefined;
  const tokenFile = str(u?.['token-file']);
  const user: UserEntry | undefined = u
    ? {
        certData: str(u['client-certificate-data']),
        certFile: file(u['client-certificate']),
        keyData: str(u['client-key-data']),
        keyFile: file(u['client-key']),
        token: str(u.token) ?? (tokenFile ? readFileSync(tokenFile, 'utf8') : undefined),
        username: str(u.username),
        password: str(u.password),
      }
    : undefined;
  return new ParsedKubeConfig(cluster, user);
}

/** client-node's KubeConfig, imported only for a kubeconfig the reader above leaves to it. */
async function clientNode(load: (kc: KubeConfig) => void): Promise<KubeConfigSource> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  load(kc);
  return kc;
}

function requireCluster(kc: KubeConfigSource, source: string): KubeConfigSource {
  if (!kc.getCurrentCluster()) throw new Error(`kubeconfig ${source}: no current cluster`);
  return kc;
}

/** A kubeconfig held in a Secret (tenant or infra cluster); `source` names it in errors. */
export async function kubeConfigSourceFromString(text: string, source: string): Promise<KubeConfigSource> {
  let kc: KubeConfigSource;
  try {
    kc = parseSimple(text, undefined) ?? (await clientNode((k) => { k.loadFromString(text); }));
  } catch (err) {
    throw new Error(`kubeconfig from ${source}: ${(err as Error).message}`, { cause: err });
  }
  return requireCluster(kc, `from ${source}`);
}

/** A process's own credentials: --kubeconfig, then $KUBECONFIG, ~/.kube/config, the in-cluster ServiceAccount. */
export async function loadKubeConfigSource(path?: string): Promise<KubeConfigSource> {
  const files = path ? [path] : (process.env.KUBECONFIG ?? '').split(delimiter).filter((f) => f !== '');
  if (files.length > 1) return requireCluster(await clientNode((k) => { k.loadFromDefault(); }), '$KUBECONFIG');
  const home = join(process.env.HOME ?? homedir(), '.kube', 'config');
  const file = files[0] ?? (existsSync(home) ? home : undefined);
  if (file) {
    const text = readFileSync(file, 'utf8');
    return requireCluster(parseSimple(text, dirname(file)) ?? (await clientNode((k) => { k.loadFromFile(file); })), file);
  }
  const host = process.env.KUBERNETES_SERVICE_HOST;
  const port = process.env.KUBERNETES_SERVICE_PORT;
  if (!host || !existsSync(`${SERVICE_ACCOUNT}/token`)) throw new Error('kubeconfig (default): no current cluster');
  const scheme = port === '80' || port === '8080' || port === '8001' ? 'http' : 'https';
  const server = `${scheme}://${isIPv6(host) ? `[${host}]` : host}:${port ?? ''}`;
  return new ParsedKubeConfig({ server, caFile: `${SERVICE_ACCOUNT}/ca.crt`, insecure: false }, { tokenFile: `${SERVICE_ACCOUNT}/token` });
}
