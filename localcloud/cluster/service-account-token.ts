// Projected ServiceAccount tokens, requested the kubelet's way: TokenRequest bound to the pod (so the token dies
// with it), with the volume's audience and expiry, kept until 80% of its lifetime or 24 hours have passed, then
// requested again so the projected file always holds a valid token.
import type { Transport } from '../../lib/kube/rest-transport.js';
import type { Pod } from './pod-api.js';

interface TokenRequestStatus {
  status?: { token?: string; expirationTimestamp?: string };
}

interface CachedToken {
  token: string;
  refreshAt: number;
}

const DAY_MS = 86_400_000;

export class ServiceAccountTokens {
  private readonly cache = new Map<string, CachedToken>();

  constructor(
    private readonly transport: Transport,
    private readonly now: () => number = Date.now,
  ) {}

  async token(pod: Pod, audience: string | undefined, expirationSeconds: number): Promise<string> {
    const uid = pod.metadata.uid ?? '';
    const key = JSON.stringify([uid, audience ?? '', expirationSeconds]);
    const cached = this.cache.get(key);
    if (cached && this.now() < cached.refreshAt) return cached.token;
    const namespace = pod.metadata.namespace ?? '';
    const account = pod.spec.serviceAccountName ?? 'default';
    const issuedAt = this.now();
    const res = await this.transport.request<TokenRequestStatus>({
      method: 'POST',
      path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/serviceaccounts/${encodeURIComponent(account)}/token`,
      body: {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: {
          audiences: audience ? [audience] : [],
          expirationSeconds,
          boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata.name, uid },
        },
      },
    });
    const token = res.status?.token;
    const expires = Date.parse(res.status?.expirationTimestamp ?? '');
    if (!token || Number.isNaN(expires)) throw new Error(`TokenRequest for ${namespace}/${account}: no token in the answer`);
    const refreshAt = issuedAt + Math.min(0.8 * (expires - issuedAt), DAY_MS);
    this.cache.set(key, { token, refreshAt });
    return token;
  }

  /** Drops the tokens of a pod that is gone. */
  forget(podUid: string): void {
    for (const key of this.cache.keys()) if ((JSON.parse(key) as string[])[0] === podUid) this.cache.delete(key);
  }
}
