// The program the kube-proxy image runs (registry.k8s.io/kube-proxy at a pinned Kubernetes tag, see ../images.ts):
// the local cluster's service proxy, run by a tenant node's kubelet with the credentials its DaemonSet gives it. It
// is a hostNetwork pod, so it lives in the VM's network namespace: ClusterIPs go on a service device it makes there
// (as kube-proxy's IPVS mode makes kube-ipvs0), NodePorts listen on the Node's InternalIP, traffic policies Local
// keep to this Node's endpoints (externalTrafficPolicy Local through the VM's kernel NAT, so pods see the client's
// address), and LoadBalancer IPs are served but never allocated (the tenant's cloud controller manager assigns them).
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { promisify } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { Client } from '../../../lib/kube/client.js';
import { RestMapper } from '../../../lib/kube/rest-mapper.js';
import { RestTransport } from '../../../lib/kube/rest-transport.js';
import { createLogger } from '../../../lib/observability/logger.js';
import { NODE, type Node } from '../../node-object.js';
import { waitFor } from '../../wait.js';
import { SERVICE_DEVICE } from '../topology.js';
import { kubeProxySettings, nodePortAddresses, parseKubeProxyFlags, withTokenFilesRead } from './kube-proxy-config.js';
import { startServiceProxy } from './index.js';

const run = promisify(execFile);

/** The service device, made when missing: a bridge without ports, as the cluster namespace's (../netns-init.sh). */
async function ensureServiceDevice(name: string): Promise<void> {
  const exists = await run('ip', ['link', 'show', 'dev', name]).then(
    () => true,
    () => false,
  );
  if (exists) return;
  try {
    await run('ip', ['link', 'add', name, 'type', 'bridge']);
    await run('ip', ['link', 'set', name, 'up']);
  } catch (err) {
    throw new Error(`kube-proxy: create service device ${name}: ${(err as { stderr?: string }).stderr?.trim() ?? (err as Error).message}`, { cause: err });
  }
}

function loadKubeConfig(path: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  if (path === undefined) {
    kc.loadFromCluster();
    return kc;
  }
  try {
    kc.loadFromString(stringify(withTokenFilesRead(readFileSync(path, 'utf8'), (file) => readFileSync(file, 'utf8'))));
  } catch (err) {
    throw new Error(`kube-proxy: kubeconfig ${path}: ${(err as Error).message}`, { cause: err });
  }
  return kc;
}

async function main(): Promise<void> {
  const log = createLogger({ component: 'kube-proxy' });
  const flags = parseKubeProxyFlags(process.argv.slice(2));
  const settings = kubeProxySettings(flags, flags.config === undefined ? undefined : readFileSync(flags.config, 'utf8'), hostname());
  const kubeConfig = loadKubeConfig(settings.kubeconfig);
  const transport = await RestTransport.fromKubeConfig(kubeConfig);
  const client = new Client({ transport, mapper: new RestMapper(transport), fieldManager: 'kube-proxy' });
  // The kubelet registers the Node before it runs pods, but its addresses may come a status update later.
  const addresses = await waitFor(
    async () => {
      const node = await client.get<Node>(NODE, { name: settings.nodeName }, { direct: true });
      return node ? nodePortAddresses(node) : undefined;
    },
    { timeoutMs: 60_000, what: `the InternalIP of Node ${settings.nodeName}` },
  );
  transport.close();
  await ensureServiceDevice(SERVICE_DEVICE);
  const proxy = await startServiceProxy({ kubeConfig, nodeAddresses: addresses, nodeName: settings.nodeName, allocateLoadBalancerIPs: false, log });
  log.info({ node: settings.nodeName, nodePortAddresses: addresses }, 'kube-proxy serving Services');
  const stop = (signal: string) => {
    log.info({ signal }, 'stopping');
    void proxy.stop().finally(() => process.exit(0));
  };
  process.once('SIGTERM', () => {
    stop('SIGTERM');
  });
  process.once('SIGINT', () => {
    stop('SIGINT');
  });
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
