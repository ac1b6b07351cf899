// The fields of a TenantControlPlane the workload and tenant builders read, with Kamaji's JSON names. The API
// (../api) keeps pod-level fields (Container, Volume, Affinity...) opaque for admission; here they carry the
// Kubernetes model types the builders put into Deployments, so the reconciler hands its object over as this view.
import type {
  V1Affinity,
  V1Container,
  V1DeploymentStrategy,
  V1PodSecurityContext,
  V1ResourceRequirements,
  V1SecurityContext,
  V1Toleration,
  V1TopologySpreadConstraint,
  V1Volume,
  V1VolumeMount,
} from '@kubernetes/client-node';
import type { KubeObject } from '../../../lib/kube/object.js';
import type { AuthenticationSpec, AuthorizationSpec } from '../api/apiserver-auth.js';
import type { PodHardening } from '../api/pod-hardening.js';

export interface AdditionalMetadata {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface PerComponent<T> {
  apiServer?: T;
  controllerManager?: T;
  scheduler?: T;
}

export interface RegistrySettings {
  registry?: string;
  apiServerImage?: string;
  controllerManagerImage?: string;
  schedulerImage?: string;
  tagSuffix?: string;
}

export interface ImageOverride {
  imageRepository?: string;
  imageTag?: string;
}

export interface KonnectivitySpec {
  server?: { port?: number; version?: string; image?: string; resources?: V1ResourceRequirements; extraArgs?: string[]; securityContext?: V1SecurityContext };
  agent?: {
    image?: string;
    version?: string;
    tolerations?: V1Toleration[];
    extraArgs?: string[];
    hostNetwork?: boolean;
    mode?: 'DaemonSet' | 'Deployment';
    replicas?: number;
  };
}

export interface NetworkProfileView {
  address?: string;
  advertiseAddress?: string;
  port?: number;
  certSANs?: string[];
  clusterDomain?: string;
  serviceCidr?: string;
  podCidr?: string;
  serviceCidrs?: string[];
  podCidrs?: string[];
  dnsServiceIPs?: string[];
  loadBalancerClass?: string;
  loadBalancerSourceRanges?: string[];
  allowAddressAsExternalIP?: boolean;
}

export interface TenantControlPlaneView extends KubeObject {
  spec: {
    writePermissions?: { blockCreation?: boolean; blockUpdate?: boolean; blockDeletion?: boolean };
    dataStore?: string;
    dataStoreSchema?: string;
    dataStoreUsername?: string;
    controlPlane: {
      deployment?: {
        replicas?: number;
        strategy?: V1DeploymentStrategy;
        registrySettings?: RegistrySettings;
        nodeSelector?: Record<string, string>;
        runtimeClassName?: string;
        tolerations?: V1Toleration[];
        affinity?: V1Affinity;
        topologySpreadConstraints?: V1TopologySpreadConstraint[];
        resources?: PerComponent<V1ResourceRequirements>;
        extraArgs?: PerComponent<string[]>;
        additionalMetadata?: AdditionalMetadata;
        podAdditionalMetadata?: AdditionalMetadata;
        additionalInitContainers?: V1Container[];
        additionalContainers?: V1Container[];
        additionalVolumes?: V1Volume[];
        additionalVolumeMounts?: PerComponent<V1VolumeMount[]>;
        serviceAccountName?: string;
        containerSecurityContexts?: PerComponent<V1SecurityContext>;
        podSecurityContext?: V1PodSecurityContext;
        hardening?: PodHardening;
      };
      service: {
        serviceType: 'ClusterIP' | 'NodePort' | 'LoadBalancer';
        additionalMetadata?: AdditionalMetadata;
        additionalPorts?: { name: string; protocol?: string; appProtocol?: string; port: number; targetPort: number | string }[];
        allocateLoadBalancerNodePorts?: boolean;
      };
      ingress?: { additionalMetadata?: AdditionalMetadata; ingressClassName?: string; hostname?: string };
      gateway?: {
        additionalMetadata?: AdditionalMetadata;
        parentRefs?: Record<string, unknown>[];
        hostname?: string;
      };
    };
    kubernetes: {
      version: string;
      kubelet?: { preferredAddressTypes?: string[]; configurationJSONPatches?: { op: string; path: string; value?: unknown; from?: string }[]; cgroupfs?: string };
      admissionControllers?: string[];
      authentication?: AuthenticationSpec;
      authorization?: AuthorizationSpec;
    };
    networkProfile?: NetworkProfileView;
    addons?: {
      coreDNS?: ImageOverride;
      kubeProxy?: ImageOverride;
      konnectivity?: KonnectivitySpec;
    };
  };
}
