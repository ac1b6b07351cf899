// The CSI sidecars' own tenant identity. The controller holds the tenant's admin kubeconfig (it applies CRDs and other
// cluster-scoped tenant objects); the sidecars need far less, so they get a kubeconfig of their own: the tenant
// ServiceAccount that config/csi/tenant binds to exactly what their upstream RBAC asks for, authenticated by a
// short-lived token the controller requests for it (TokenRequest) and renews well before it expires. The token is a
// file the kubeconfig names (`tokenFile`), which client-go reads again every minute, so a renewal reaches the running
// sidecars without a restart; the kubeconfig itself never changes.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { Backoff, pause } from '../lib/controller/backoff.js';
import type { Client } from '../lib/kube/client.js';

/** The tenant ServiceAccount of the controller's sidecars (config/csi/tenant/controller-rbac.yaml). */
export const SIDECAR_SERVICE_ACCOUNT = { namespace: 'kubevirt-csi-driver', name: 'kubevirt-csi-controller-sa' };
export const KUBECONFIG_FILE = 'kubeconfig';
export const TOKEN_FILE = 'token';
/** An hour, renewed after two thirds of it: a controller that cannot reach the tenant for 20 minutes has failed anyway. */
const DEFAULT_LIFETIME_SECONDS = 3600;

export interface SidecarCredentialsOptions {
  /** The tenant, with the admin credentials that may request tokens. */
  tenant: Client;
  /** Where the tenant's apiserver is and how it is verified, for the sidecars' kubeconfig. */
  tenantConfig: KubeConfig;
  /** The directory the sidecars mount: <dir>/kubeconfig and <dir>/token. */
  dir: string;
  serviceAccount?: { namespace: string; name: string };
  lifetimeSeconds?: number;
  /** The first retry delay after a failed renewal, doubled up to 30 s. */
  retryMs?: number;
  log: Logger;
}

/** The sidecars' kubeconfig: the tenant's apiserver as the admin kubeconfig names it, the token from `tokenFile`. */
export function sidecarKubeconfig(tenantConfig: KubeConfig, tokenFile: string, user: string): string {
  const cluster = tenantConfig.getCurrentCluster();
  if (!cluster) throw new Error('tenant kubeconfig: no current cluster');
  const ca = cluster.caData ?? undefined;
  return `${JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'tenant', cluster: { server: cluster.server, ...(ca ? { 'certificate-authority-data': ca } : {}), ...(cluster.caFile ? { 'certificate-authority': cluster.caFile } : {}), ...(cluster.skipTLSVerify ? { 'insecure-skip-tls-verify': true } : {}) } }],
      users: [{ name: user, user: { tokenFile } }],
      contexts: [{ name: user, context: { cluster: 'tenant', user } }],
      'current-context': user,
    },
    null,
    2,
  )}\n`;
}

/** Writes `text` to `path` unless it already holds it; a reader never sees half a file. */
async function writeAtomically(path: string, text: string): Promise<boolean> {
  const current = await readFile(path, 'utf8').catch(() => undefined);
  if (current === text) return false;
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  // Readable by every container of the Pod (the sidecars' images may run as another user); the emptyDir holding it
  // is the Pod's alone.
  await writeFile(tmp, text, { mode: 0o644 });
  await rename(tmp, path);
  return true;
}

export class SidecarCredentials {
  private readonly abort = new AbortController();
  private readonly serviceAccount: { namespace: string; name: string };
  private readonly lifetimeSeconds: number;
  private running: Promise<void> | undefined;
  private firstRenewal: Promise<void> | undefined;

  constructor(private readonly opts: SidecarCredentialsOptions) {
    this.serviceAccount = opts.serviceAccount ?? SIDECAR_SERVICE_ACCOUNT;
    this.lifetimeSeconds = opts.lifetimeSeconds ?? DEFAULT_LIFETIME_SECONDS;
  }

  /** Requests a new token and writes it, with the kubeconfig naming it; resolves to the token's expiry. */
  async renew(): Promise<Date> {
    const { namespace, name } = this.serviceAccount;
    const res = await this.opts.tenant.transport.request<{ status?: { token?: string; expirationTimestamp?: string } }>({
      method: 'POST',
      path: `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`,
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: this.lifetimeSeconds } },
    });
    const token = res.status?.token;
    if (!token) throw new Error(`TokenRequest for ServiceAccount ${namespace}/${name} returned no token`);
    await mkdir(this.opts.dir, { recursive: true });
    const tokenPath = join(this.opts.dir, TOKEN_FILE);
    await writeAtomically(tokenPath, token);
    await writeAtomically(join(this.opts.dir, KUBECONFIG_FILE), sidecarKubeconfig(this.opts.tenantConfig, tokenPath, `${namespace}:${name}`));
    const expiry = res.status?.expirationTimestamp ? new Date(res.status.expirationTimestamp) : new Date(Date.now() + this.lifetimeSeconds * 1000);
    this.opts.log.info({ serviceAccount: `${namespace}/${name}`, expires: expiry.toISOString() }, 'renewed the sidecars\' tenant token');
    return expiry;
  }

  /**
   * Keeps the token fresh in the background: renewed after two thirds of its life, retried with backoff on failure
   * (the tenant's apiserver still coming up, the ServiceAccount not applied yet). `firstRenewal` resolves once the
   * sidecars' files are written, or when stopped before that.
   */
  start(): { firstRenewal: Promise<void> } {
    if (!this.running) {
      let written: () => void = () => undefined;
      this.firstRenewal = new Promise((resolve) => {
        written = resolve;
      });
      this.abort.signal.addEventListener('abort', () => {
        written();
      });
      this.running = this.run(() => {
        written();
      });
    }
    return { firstRenewal: this.firstRenewal ?? Promise.resolve() };
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
  }

  private async run(written: () => void): Promise<void> {
    const backoff = new Backoff({ initialMs: this.opts.retryMs ?? 1_000, maxMs: 30_000 });
    while (!this.abort.signal.aborted) {
      let waitMs: number;
      try {
        const expiry = await this.renew();
        written();
        backoff.reset();
        waitMs = Math.max(1_000, ((expiry.getTime() - Date.now()) * 2) / 3);
      } catch (err) {
        waitMs = backoff.next();
        this.opts.log.warn({ err: (err as Error).message, retryInMs: Math.round(waitMs) }, 'could not renew the sidecars\' tenant token');
      }
      await pause(waitMs, this.abort.signal);
    }
  }
}
