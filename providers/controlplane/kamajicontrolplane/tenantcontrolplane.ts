// The TenantControlPlane a KamajiControlPlane stands for: same name and namespace, controlled by the
// KamajiControlPlane, every KamajiControlPlane field carried to its TenantControlPlane equivalent (the mapping of
// cluster-api-control-plane-provider-kamaji), and the Cluster's networking (API server port, pod and Service
// CIDRs, service domain). The result is server-side applied: it holds exactly the fields we own, so a field the
// user removes from the KamajiControlPlane is released on the TenantControlPlane too.
import type { Cluster } from '../../../lib/apis/cluster-api.js';
import { ownerReferenceTo } from '../../../lib/controller/owner-references.js';
import {
  API_VERSION,
  TENANT_CONTROL_PLANE_KIND,
  type AdmissionController,
  type TenantControlPlane,
  type TenantControlPlaneSpec,
} from '../api/index.js';
import { KAMAJI_CONTROL_PLANE_TYPE, type KamajiControlPlane } from '../api/kamajicontrolplane.js';

/** Plugins kube-apiserver no longer has: upstream's samples still list them, a TenantControlPlane refuses them. */
export const REMOVED_ADMISSION_CONTROLLERS: readonly string[] = ['PodSecurityPolicy', 'SecurityContextDeny', 'PersistentVolumeLabel'];

/**
 * Labels and annotations are copied (upstream does too: e.g. kamaji.clastix.io/kubeconfig-secret-key reaches the
 * TenantControlPlane this way), except kubectl's client-side apply bookkeeping, which describes the
 * KamajiControlPlane, not its TenantControlPlane, and clusterctl's: block-move on the KamajiControlPlane is its own
 * hold on a move (kamajicontrolplane-move.ts), which a copy on the TenantControlPlane would make permanent.
 */
const NOT_COPIED_ANNOTATIONS = new Set(['kubectl.kubernetes.io/last-applied-configuration']);
const NOT_COPIED_ANNOTATION_PREFIX = 'clusterctl.cluster.x-k8s.io/';

export interface TenantControlPlaneBuild {
  tcp: TenantControlPlane;
  /** Admission controllers removed from the list, so the user can be told through an Event. */
  droppedAdmissionControllers: string[];
}

type DeploymentSpec = NonNullable<TenantControlPlaneSpec['controlPlane']['deployment']>;
type NetworkProfile = NonNullable<TenantControlPlaneSpec['networkProfile']>;

/** Drops undefined values and empty objects, so the applied object names only the fields we set. */
function compact<T>(value: T): T {
  if (Array.isArray(value)) return (value as unknown[]).map((v) => compact(v)) as T;
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const c = compact(v);
    if (c === undefined) continue;
    if (c !== null && typeof c === 'object' && !Array.isArray(c) && Object.keys(c).length === 0) continue;
    out[k] = c;
  }
  return out as T;
}

/** Upstream treats an empty string like an unset field. */
const nonEmpty = (s: string | undefined): string | undefined => (s === '' ? undefined : s);

/** A hostname from "host" or "host:port" (upstream accepts both for ingress and gateway hostnames). */
function hostOnly(hostname: string): string {
  const m = /^(.*):(\d+)$/.exec(hostname);
  return m && !m[1]?.includes(':') ? (m[1] ?? hostname) : hostname;
}

function networkProfile(kcp: KamajiControlPlane, cluster: Cluster): NetworkProfile {
  const net = kcp.spec.network;
  const clusterNetwork = cluster.spec?.clusterNetwork;
  const services = clusterNetwork?.services?.cidrBlocks ?? [];
  const pods = clusterNetwork?.pods?.cidrBlocks ?? [];
  const exposedHost = net?.ingress?.hostname ?? net?.gateway?.hostname;
  const certSANs = [...(net?.certSANs ?? []), ...(exposedHost ? [hostOnly(exposedHost)] : [])];
  return {
    port: clusterNetwork?.apiServerPort,
    serviceCidr: services[0],
    serviceCidrs: services.length > 1 ? services : undefined,
    podCidr: pods[0],
    podCidrs: pods.length > 1 ? pods : undefined,
    clusterDomain: clusterNetwork?.serviceDomain,
    // addons.coreDNS.dnsServiceIPs wins over network.dnsServiceIPs, as upstream.
    dnsServiceIPs: kcp.spec.addons?.coreDNS?.dnsServiceIPs ?? net?.dnsServiceIPs,
    address: nonEmpty(net?.serviceAddress),
    advertiseAddress: nonEmpty(net?.advertiseAddress),
    certSANs: certSANs.length > 0 ? [...new Set(certSANs)] : undefined,
    loadBalancerClass: net?.loadBalancerConfig?.loadBalancerClass,
    loadBalancerSourceRanges: net?.loadBalancerConfig?.loadBalancerSourceRanges,
  };
}

function deployment(kcp: KamajiControlPlane): DeploymentSpec {
  const s = kcp.spec;
  const d = s.deployment;
  return {
    replicas: s.replicas,
    registrySettings: {
      registry: s.registry,
      apiServerImage: s.apiServer?.containerImageName,
      controllerManagerImage: s.controllerManager?.containerImageName,
      schedulerImage: s.scheduler?.containerImageName,
    },
    extraArgs: { apiServer: s.apiServer?.extraArgs, controllerManager: s.controllerManager?.extraArgs, scheduler: s.scheduler?.extraArgs },
    resources: { apiServer: s.apiServer?.resources, controllerManager: s.controllerManager?.resources, scheduler: s.scheduler?.resources },
    additionalVolumeMounts: {
      apiServer: s.apiServer?.extraVolumeMounts,
      controllerManager: s.controllerManager?.extraVolumeMounts,
      scheduler: s.scheduler?.extraVolumeMounts,
    },
    probes: {
      liveness: d?.probes?.liveness,
      readiness: d?.probes?.readiness,
      startup: d?.probes?.startup,
      apiServer: s.apiServer?.probes,
      controllerManager: s.controllerManager?.probes,
      scheduler: s.scheduler?.probes,
    },
    nodeSelector: d?.nodeSelector,
    runtimeClassName: d?.runtimeClassName,
    serviceAccountName: d?.serviceAccountName,
    additionalMetadata: d?.additionalMetadata,
    podAdditionalMetadata: d?.podAdditionalMetadata,
    strategy: d?.strategy,
    affinity: d?.affinity,
    tolerations: d?.tolerations,
    topologySpreadConstraints: d?.topologySpreadConstraints,
    additionalInitContainers: d?.extraInitContainers,
    additionalContainers: d?.extraContainers,
    additionalVolumes: d?.extraVolumes,
    hardening: d?.hardening,
  };
}

function controlPlane(kcp: KamajiControlPlane): TenantControlPlaneSpec['controlPlane'] {
  const net = kcp.spec.network;
  const ingress = net?.ingress;
  const gateway = net?.gateway;
  return {
    deployment: deployment(kcp),
    service: {
      serviceType: net?.serviceType ?? 'LoadBalancer',
      allocateLoadBalancerNodePorts: net?.allocateLoadBalancerNodePorts,
      additionalMetadata: { labels: net?.serviceLabels, annotations: net?.serviceAnnotations },
      additionalPorts: net?.additionalServicePorts,
    },
    ...(ingress
      ? {
          ingress: {
            ingressClassName: ingress.className,
            hostname: ingress.hostname,
            additionalMetadata: { labels: ingress.extraLabels, annotations: ingress.extraAnnotations },
          },
        }
      : {}),
    ...(gateway
      ? {
          gateway: {
            hostname: hostOnly(gateway.hostname),
            parentRefs: [{ name: gateway.name, namespace: gateway.namespace, sectionName: gateway.sectionName, port: gateway.port }],
            additionalMetadata: { labels: gateway.extraLabels, annotations: gateway.extraAnnotations },
          },
        }
      : {}),
  };
}

/** Splits the admission controllers into those kept and those kube-apiserver no longer has. */
export function filterAdmissionControllers(list: readonly string[] | undefined): { kept: AdmissionController[] | undefined; dropped: string[] } {
  if (!list) return { kept: undefined, dropped: [] };
  const dropped = list.filter((a) => REMOVED_ADMISSION_CONTROLLERS.includes(a));
  const kept = list.filter((a) => !REMOVED_ADMISSION_CONTROLLERS.includes(a)) as AdmissionController[];
  // Nothing left but removed plugins: the TenantControlPlane's default list beats running with no plugin at all.
  return { kept: kept.length === 0 && dropped.length > 0 ? undefined : kept, dropped };
}

export function buildTenantControlPlane(kcp: KamajiControlPlane, cluster: Cluster, version: string): TenantControlPlaneBuild {
  const s = kcp.spec;
  const admission = filterAdmissionControllers(s.admissionControllers);
  const annotations = Object.fromEntries(
    Object.entries(kcp.metadata.annotations ?? {}).filter(([k]) => !NOT_COPIED_ANNOTATIONS.has(k) && !k.startsWith(NOT_COPIED_ANNOTATION_PREFIX)),
  );
  const coreDNS = s.addons?.coreDNS;
  const spec: TenantControlPlaneSpec = {
    dataStore: nonEmpty(s.dataStoreName),
    dataStoreSchema: nonEmpty(s.dataStoreSchema),
    dataStoreUsername: nonEmpty(s.dataStoreUsername),
    controlPlane: controlPlane(kcp),
    kubernetes: {
      version,
      kubelet: {
        preferredAddressTypes: s.kubelet?.preferredAddressTypes,
        cgroupfs: s.kubelet?.cgroupfs,
        configurationJSONPatches: s.kubelet?.configurationJSONPatches,
      },
      admissionControllers: admission.kept,
      // kvcloud's structured apiserver configuration sits under spec.apiServer on the KamajiControlPlane.
      authentication: s.apiServer?.authentication,
      authorization: s.apiServer?.authorization,
    },
    networkProfile: networkProfile(kcp, cluster),
    addons: {
      // An empty coreDNS {} turns the addon on, so it survives compaction as {}.
      coreDNS: coreDNS ? { imageRepository: coreDNS.imageRepository, imageTag: coreDNS.imageTag } : undefined,
      konnectivity: s.addons?.konnectivity,
      kubeProxy: s.addons?.kubeProxy,
    },
  };
  const compacted = compact(spec);
  // Enabled addons are objects that may legitimately be empty: put them back after compaction.
  const addons = { ...compacted.addons };
  if (coreDNS) addons.coreDNS = compact({ imageRepository: coreDNS.imageRepository, imageTag: coreDNS.imageTag });
  if (s.addons?.kubeProxy) addons.kubeProxy = compact(s.addons.kubeProxy);
  if (s.addons?.konnectivity) addons.konnectivity = compact(s.addons.konnectivity);
  compacted.addons = Object.keys(addons).length > 0 ? addons : undefined;
  if (!compacted.addons) delete compacted.addons;
  // A kubelet section is required by the schema even when nothing is set.
  compacted.kubernetes = { ...compacted.kubernetes, kubelet: { ...compacted.kubernetes.kubelet } };
  // controlPlane.service.serviceType is required and always set; the deployment may compact away entirely.
  const tcp: TenantControlPlane = {
    apiVersion: API_VERSION,
    kind: TENANT_CONTROL_PLANE_KIND,
    metadata: {
      name: kcp.metadata.name,
      namespace: kcp.metadata.namespace,
      ...(kcp.metadata.labels && Object.keys(kcp.metadata.labels).length > 0 ? { labels: { ...kcp.metadata.labels } } : {}),
      ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
      // Objects from a list carry no apiVersion and kind of their own.
      ownerReferences: [ownerReferenceTo({ ...kcp, ...KAMAJI_CONTROL_PLANE_TYPE }, { controller: true })],
    },
    spec: compacted,
  };
  return { tcp, droppedAdmissionControllers: admission.dropped };
}
