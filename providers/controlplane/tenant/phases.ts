// The objects the operator keeps inside a tenant cluster, grouped in phases (kubeadm config, bootstrap RBAC and
// cluster-info, then each addon), and how they are written: server-side apply, skipped when the phase's content
// hash is what was last applied, so a steady tenant costs no requests. A disabled addon's objects are deleted, as
// are the write-permissions policy and binding once spec.writePermissions blocks nothing.
import { createHash } from 'node:crypto';
import { contains } from '../../../lib/kube/applied-hash.js';
import type { Client } from '../../../lib/kube/client.js';
import { typeMetaOf } from '../../../lib/kube/object.js';
import type { TenantControlPlane } from '../api/index.js';
import { clusterDomain, dnsServiceIPs, podCIDRs, serviceCIDRs } from '../management/network.js';
import { DEFAULT_KONNECTIVITY_VERSION } from '../management/deployment.js';
import { konnectivityPort } from '../management/service.js';
import { bootstrapRBACObjects, clusterInfoObjects } from './bootstrap.js';
import { coreDNSObjects } from './coredns.js';
import { kubeadmConfigObjects } from './kubeadm-config.js';
import { konnectivityAgentObjects } from './konnectivity-agent.js';
import { kubeProxyObjects } from './kube-proxy.js';
import { servingMarkerObjects } from './serving-marker.js';
import type { Manifest } from './manifest.js';
import { blockedOperations, writePermissionsObjects } from './write-permissions.js';

export type PhaseName = 'kubeadm-config' | 'bootstrap' | 'serving-control-plane' | 'coredns' | 'kube-proxy' | 'konnectivity-agent' | 'write-permissions';

export interface Phase {
  name: PhaseName;
  /** False for an addon the spec does not ask for: its objects are removed. */
  enabled: boolean;
  objects: Manifest[];
}

export interface TenantEndpoint {
  host: string;
  port: number;
}

/** What the tenant runs now: the phases follow it where it can differ from the spec. */
export interface TenantState {
  /**
   * The Kubernetes version every tenant apiserver serves (controllers/version-status.ts addonVersion). kube-proxy
   * and kubeadm-config follow it, not spec.kubernetes.version: during an upgrade the old apiservers serve until the
   * rollout ends, and a kube-proxy newer than its apiserver is outside the version skew policy.
   */
  kubernetesVersion: string;
  /** A DataStore migration is running, so the write-permissions phase blocks every write. */
  migrating?: boolean;
}

export function tenantPhases(tcp: TenantControlPlane, endpoint: TenantEndpoint, caCertPem: string, state: TenantState): Phase[] {
  const np = tcp.spec.networkProfile;
  const hostPort = endpoint.host.includes(':') ? `[${endpoint.host}]:${endpoint.port}` : `${endpoint.host}:${endpoint.port}`;
  const server = `https://${hostPort}`;
  const version = state.kubernetesVersion;
  const migrating = state.migrating ?? false;
  const addons = tcp.spec.addons;
  const kPort = konnectivityPort(tcp);
  const agent = addons?.konnectivity?.agent;
  return [
    {
      name: 'kubeadm-config',
      enabled: true,
      objects: kubeadmConfigObjects({
        clusterName: tcp.metadata.name ?? '',
        kubernetesVersion: version,
        controlPlaneEndpoint: hostPort,
        serviceSubnet: serviceCIDRs(np).join(','),
        podSubnet: podCIDRs(np).join(','),
        dnsDomain: clusterDomain(np),
        dnsServiceIPs: dnsServiceIPs(np),
        certSANs: np?.certSANs ?? [],
        kubelet: tcp.spec.kubernetes.kubelet,
      }),
    },
    { name: 'bootstrap', enabled: true, objects: [...bootstrapRBACObjects(), ...clusterInfoObjects(server, caCertPem)] },
    { name: 'serving-control-plane', enabled: true, objects: servingMarkerObjects(tcp.metadata.uid ?? '') },
    {
      name: 'coredns',
      enabled: addons?.coreDNS !== undefined,
      objects: coreDNSObjects({
        dnsDomain: clusterDomain(np),
        dnsServiceIPs: dnsServiceIPs(np),
        imageRepository: addons?.coreDNS?.imageRepository,
        imageTag: addons?.coreDNS?.imageTag,
      }),
    },
    {
      name: 'kube-proxy',
      enabled: addons?.kubeProxy !== undefined,
      objects: kubeProxyObjects({
        server,
        clusterCIDR: podCIDRs(np).join(','),
        kubernetesVersion: version,
        imageRepository: addons?.kubeProxy?.imageRepository,
        imageTag: addons?.kubeProxy?.imageTag,
      }),
    },
    {
      name: 'konnectivity-agent',
      enabled: kPort !== undefined,
      objects: konnectivityAgentObjects({
        serverHost: endpoint.host,
        serverPort: kPort ?? 0,
        image: agent?.image,
        version: agent?.version ?? DEFAULT_KONNECTIVITY_VERSION,
        mode: agent?.mode,
        replicas: agent?.replicas,
        hostNetwork: agent?.hostNetwork,
        tolerations: agent?.tolerations,
        extraArgs: agent?.extraArgs,
      }),
    },
    // Last, so the objects above are in place before the tenant's users are frozen (the operator is exempt anyway).
    {
      name: 'write-permissions',
      enabled: migrating || blockedOperations(tcp.spec.writePermissions).length > 0,
      objects: writePermissionsObjects({ namespace: tcp.metadata.namespace ?? '', name: tcp.metadata.name ?? '' }, tcp.spec.writePermissions, migrating),
    },
  ];
}

export function phaseChecksum(phase: Phase): string {
  return createHash('sha256').update(JSON.stringify({ enabled: phase.enabled, objects: phase.objects })).digest('hex').slice(0, 16);
}

/**
 * True when every object of the phase is in the cluster with the content we apply, read through the client's cache
 * (no request once its informers run); fields the apiserver defaults or others add do not count. A phase whose
 * checksum is unchanged is re-applied when this is false: someone inside the tenant deleted or changed an object.
 */
export async function phaseIntact(client: Client, phase: Phase): Promise<boolean> {
  for (const obj of phase.objects) {
    const live = await client.get(typeMetaOf(obj), { namespace: obj.metadata.namespace, name: obj.metadata.name ?? '' });
    const { apiVersion: _a, kind: _k, ...wanted } = obj;
    if (!live || !contains(live, wanted)) return false;
  }
  return true;
}

/** Applies (or, for a disabled phase, deletes) the phase's objects in order; counts the objects it deleted. */
export async function syncPhase(client: Client, phase: Phase): Promise<{ deleted: number }> {
  let deleted = 0;
  if (phase.enabled) {
    for (const obj of phase.objects) await client.apply(obj);
    return { deleted };
  }
  // Look before deleting: a disabled addon usually was never installed, and a read keeps an operator restart
  // (which syncs every phase once) from sending a DELETE per absent object.
  for (const obj of [...phase.objects].reverse()) {
    const ref = { namespace: obj.metadata.namespace, name: obj.metadata.name ?? '' };
    if (await client.get(typeMetaOf(obj), ref, { direct: true })) {
      await client.delete(typeMetaOf(obj), ref);
      deleted++;
    }
  }
  return { deleted };
}
