// Asks the tenant apiserver itself whether it is ready, the way `kubectl get --raw /readyz` does, with the admin
// kubeconfig the operator generated: status Ready means a client holding that kubeconfig gets "ok" now.
import { request } from 'node:https';
import { kubeConfigSourceFromString } from '../../../lib/kube/kubeconfig-source.js';

export interface TenantProbeResult {
  ready: boolean;
  /** gitVersion from /version when ready. */
  version: string | undefined;
  message: string;
}

async function get(kubeconfig: string, path: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  const kc = await kubeConfigSourceFromString(kubeconfig, 'admin kubeconfig');
  const server = kc.getCurrentCluster()?.server ?? '';
  const url = new URL(path, server);
  const opts: Parameters<typeof request>[1] = { method: 'GET', timeout: timeoutMs, agent: false };
  await kc.applyToHTTPSOptions(opts);
  return new Promise((resolve, reject) => {
    const req = request(url, opts, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url.href}: no answer within ${timeoutMs}ms`)));
    req.on('error', reject);
    req.end();
  });
}

export async function probeTenant(kubeconfig: string, timeoutMs = 3000): Promise<TenantProbeResult> {
  try {
    const readyz = await get(kubeconfig, '/readyz', timeoutMs);
    if (readyz.status !== 200 || readyz.body.trim() !== 'ok') {
      return { ready: false, version: undefined, message: `/readyz answered ${readyz.status}: ${readyz.body.slice(0, 200)}` };
    }
    const version = await get(kubeconfig, '/version', timeoutMs);
    const gitVersion = (JSON.parse(version.body) as { gitVersion?: string }).gitVersion;
    return { ready: true, version: gitVersion, message: 'ok' };
  } catch (err) {
    return { ready: false, version: undefined, message: (err as Error).message };
  }
}
