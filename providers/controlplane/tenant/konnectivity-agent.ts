// The Konnectivity agent inside the tenant: it dials the server sidecar at the tenant endpoint and carries the
// apiserver's traffic to nodes, pods and services (logs, exec, webhooks) when the nodes are on another network.
// The server authenticates agents by their ServiceAccount token (audience system:konnectivity-server), and
// itself by the system:konnectivity-server user, which needs auth-delegator to review those tokens.
import { clusterRoleBinding, KUBE_SYSTEM, type Manifest } from './manifest.js';

export const KONNECTIVITY_AUDIENCE = 'system:konnectivity-server';
export const DEFAULT_KONNECTIVITY_AGENT_IMAGE = 'registry.k8s.io/kas-network-proxy/proxy-agent';
const AGENT_HEALTH_PORT = 8134;

export interface KonnectivityAgentFacts {
  /** The endpoint address the agent dials. */
  serverHost: string;
  serverPort: number;
  image?: string | undefined;
  version: string;
  mode?: 'DaemonSet' | 'Deployment' | undefined;
  replicas?: number | undefined;
  hostNetwork?: boolean | undefined;
  tolerations?: unknown[] | undefined;
  extraArgs?: string[] | undefined;
}

export function konnectivityAgentObjects(f: KonnectivityAgentFacts): Manifest[] {
  const labels = { 'k8s-app': 'konnectivity-agent' };
  const podSpec = {
    serviceAccountName: 'konnectivity-agent',
    priorityClassName: 'system-cluster-critical',
    hostNetwork: f.hostNetwork ?? false,
    tolerations: f.tolerations ?? [{ key: 'CriticalAddonsOnly', operator: 'Exists' }],
    containers: [
      {
        name: 'konnectivity-agent',
        image: `${f.image ?? DEFAULT_KONNECTIVITY_AGENT_IMAGE}:${f.version}`,
        command: ['/proxy-agent'],
        args: [
          '--logtostderr=true',
          '--ca-cert=/var/run/secrets/kubernetes.io/serviceaccount/ca.crt',
          `--proxy-server-host=${f.serverHost}`,
          `--proxy-server-port=${f.serverPort}`,
          '--admin-server-port=8133',
          `--health-server-port=${String(AGENT_HEALTH_PORT)}`,
          '--service-account-token-path=/var/run/secrets/tokens/konnectivity-agent-token',
          // Level 2 logs each server connection ("Connect to server", with its serverID) and no per-request
          // traffic: the node's own record of whether the tunnel is up.
          '--v=2',
          // An agent learns how many servers there are only from the server it dials, and by default stops dialling
          // once it holds that many. A control plane scaled up or rolled out later then leaves agents on the old
          // count, and the new replicas' apiservers answer "No agent available" until an old connection breaks.
          // Syncing forever keeps the agent dialling through the Service, so it finds every replica as it appears;
          // the 5 s interval (jittered up to 10 s) bounds that to one handshake and one TokenReview per agent per
          // few seconds instead of one a second.
          '--sync-forever',
          '--sync-interval=5s',
          '--sync-interval-cap=30s',
          ...(f.extraArgs ?? []),
        ],
        livenessProbe: { httpGet: { path: '/healthz', port: AGENT_HEALTH_PORT, scheme: 'HTTP' }, initialDelaySeconds: 15, timeoutSeconds: 15 },
        // The agent's /readyz fails until it holds a connection to a server, so a Ready agent pod means the
        // apiserver can reach this node's network through it; until then requests to nodes get "No agent available".
        readinessProbe: { httpGet: { path: '/readyz', port: AGENT_HEALTH_PORT, scheme: 'HTTP' }, periodSeconds: 2, timeoutSeconds: 5 },
        volumeMounts: [{ name: 'konnectivity-agent-token', mountPath: '/var/run/secrets/tokens' }],
      },
    ],
    volumes: [
      {
        name: 'konnectivity-agent-token',
        projected: { sources: [{ serviceAccountToken: { path: 'konnectivity-agent-token', audience: KONNECTIVITY_AUDIENCE } }] },
      },
    ],
  };
  const template = { metadata: { labels }, spec: podSpec };
  const workload: Manifest =
    f.mode === 'Deployment'
      ? {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: 'konnectivity-agent', namespace: KUBE_SYSTEM, labels },
          spec: { replicas: f.replicas ?? 2, selector: { matchLabels: labels }, template },
        }
      : {
          apiVersion: 'apps/v1',
          kind: 'DaemonSet',
          metadata: { name: 'konnectivity-agent', namespace: KUBE_SYSTEM, labels },
          spec: { selector: { matchLabels: labels }, template },
        };
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'konnectivity-agent', namespace: KUBE_SYSTEM } },
    clusterRoleBinding('system:konnectivity-server', 'system:auth-delegator', [{ kind: 'User', name: KONNECTIVITY_AUDIENCE }]),
    workload,
  ];
}
