// The Deployment `<tcp>`: kube-apiserver, kube-controller-manager (with the bootstrapsigner and tokencleaner
// controllers that bootstrap tokens need) and kube-scheduler in one pod, plus the Konnectivity server sidecar
// when that addon is on. Certificates and kubeconfigs come from the operator's Secrets; their checksum is on
// the pod template, so rotating any of them rolls the pods.
import type { V1Container, V1DeploymentSpec, V1SecurityContext, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import type { KubeObject } from '../../../lib/kube/object.js';
import { CHECKSUM_ANNOTATION } from '../api/labels.js';
import { renderFlags, withExtraArgs, type Flags } from './flags.js';
import { containerSecurityContext, CREDENTIAL_FILE_MODE, hardenedMount, hardeningOf, podSecurityContext, type Hardening } from './hardening.js';
import { CONTROLLER_MANAGER_CONF, deploymentName, KONNECTIVITY_CONF, SCHEDULER_CONF, selectorLabels } from './names.js';
import { apiServerPort, clusterDomain, podCIDRs, serviceCIDRs } from './network.js';
import { componentProbes } from './probes.js';
import { konnectivityPort } from './service.js';
import { structuredAuthAnnotations, structuredAuthVolume, withStructuredAuthFlags } from './structured-auth.js';
import type { TenantControlPlane } from '../api/index.js';

export interface Deployment extends KubeObject {
  spec?: V1DeploymentSpec;
  status?: { replicas?: number; readyReplicas?: number; updatedReplicas?: number; availableReplicas?: number; observedGeneration?: number };
}

/** The Secrets (and their data keys, kubeadm's file names) the pod mounts. */
export interface ControlPlaneSecrets {
  /** ca.crt, ca.key */
  ca: string;
  /** apiserver.crt, apiserver.key */
  apiServer: string;
  /** apiserver-kubelet-client.crt, apiserver-kubelet-client.key */
  apiServerKubeletClient: string;
  /** front-proxy-ca.crt (front-proxy-ca.key unused by the pod) */
  frontProxyCA: string;
  /** front-proxy-client.crt, front-proxy-client.key */
  frontProxyClient: string;
  /** sa.pub, sa.key */
  serviceAccount: string;
  /** ca.crt, server.crt, server.key: the apiserver's client certificate for the DataStore */
  dataStoreCertificate: string;
  /** controller-manager.conf */
  controllerManagerKubeconfig: string;
  /** scheduler.conf */
  schedulerKubeconfig: string;
  /** konnectivity-server.conf, when Konnectivity is on */
  konnectivityKubeconfig?: string | undefined;
}

export interface DeploymentInputs {
  secrets: ControlPlaneSecrets;
  /** Changes whenever any mounted Secret's content changes. */
  secretsChecksum: string;
  /** https://host:port of each DataStore endpoint. */
  etcdServers: string[];
  /** /<schema>/ */
  etcdPrefix: string;
  /** The apiserver's --advertise-address: networkProfile.advertiseAddress, else the endpoint address. */
  advertiseAddress: string | undefined;
  /** The ConfigMap holding the EgressSelectorConfiguration, when Konnectivity is on. */
  egressSelectorConfigMap?: string | undefined;
  /**
   * Whether the management cluster runs pods with hostUsers: false (see userNamespacesSupported in hardening.ts);
   * unknown means no, so spec.controlPlane.deployment.hardening.userNamespaces waits for this to be true.
   */
  userNamespaces?: boolean | undefined;
}

export const DEFAULT_ADMISSION_CONTROLLERS = [
  'CertificateApproval',
  'CertificateSigning',
  'CertificateSubjectRestriction',
  'DefaultIngressClass',
  'DefaultStorageClass',
  'DefaultTolerationSeconds',
  'LimitRanger',
  'MutatingAdmissionWebhook',
  'NamespaceLifecycle',
  'PersistentVolumeClaimResize',
  'Priority',
  'ResourceQuota',
  'RuntimeClass',
  'ServiceAccount',
  'StorageObjectInUseProtection',
  'TaintNodesByCondition',
  'ValidatingAdmissionWebhook',
];
export const DEFAULT_KONNECTIVITY_VERSION = 'v0.36.0';
export const KONNECTIVITY_SERVER_IMAGE = 'registry.k8s.io/kas-network-proxy/proxy-server';
export const KONNECTIVITY_UDS_DIR = '/run/konnectivity';
export const KONNECTIVITY_UDS = `${KONNECTIVITY_UDS_DIR}/konnectivity-server.socket`;
const KONNECTIVITY_ADMIN_PORT = 8133;
const KONNECTIVITY_HEALTH_PORT = 8134;

const PKI = '/etc/kubernetes/pki';
const KCM_DIR = '/etc/kubernetes/controller-manager';
const SCHEDULER_DIR = '/etc/kubernetes/scheduler';
const KONNECTIVITY_DIR = '/etc/kubernetes/konnectivity';
const EGRESS_DIR = '/etc/kubernetes/egress-selector';
const EGRESS_FILE = 'egress-selector-configuration.yaml';
/** How long a terminating apiserver keeps serving while its endpoint is removed (--shutdown-delay-duration). */
export const API_SERVER_SHUTDOWN_DELAY = '5s';
const KCM_PORT = 10257;
const SCHEDULER_PORT = 10259;

function image(tcp: TenantControlPlane, which: 'apiServerImage' | 'controllerManagerImage' | 'schedulerImage', fallback: string): string {
  const rs = tcp.spec.controlPlane.deployment?.registrySettings;
  const registry = rs?.registry ?? 'registry.k8s.io';
  return `${registry}/${rs?.[which] ?? fallback}:${tcp.spec.kubernetes.version}${rs?.tagSuffix ?? ''}`;
}

function pkiVolume(s: ControlPlaneSecrets): V1Volume {
  const pair = (secretName: string, base: string, withKey = true) => ({
    secret: { name: secretName, items: [{ key: `${base}.crt`, path: `${base}.crt` }, ...(withKey ? [{ key: `${base}.key`, path: `${base}.key` }] : [])] },
  });
  return {
    name: 'pki',
    projected: {
      defaultMode: CREDENTIAL_FILE_MODE,
      sources: [
        pair(s.ca, 'ca'),
        pair(s.apiServer, 'apiserver'),
        pair(s.apiServerKubeletClient, 'apiserver-kubelet-client'),
        pair(s.frontProxyCA, 'front-proxy-ca', false),
        pair(s.frontProxyClient, 'front-proxy-client'),
        { secret: { name: s.serviceAccount, items: [{ key: 'sa.pub', path: 'sa.pub' }, { key: 'sa.key', path: 'sa.key' }] } },
        {
          secret: {
            name: s.dataStoreCertificate,
            items: [
              { key: 'ca.crt', path: 'etcd/ca.crt' },
              { key: 'server.crt', path: 'etcd/server.crt' },
              { key: 'server.key', path: 'etcd/server.key' },
            ],
          },
        },
      ],
    },
  };
}

function apiServerFlags(tcp: TenantControlPlane, inputs: DeploymentInputs): Flags {
  const np = tcp.spec.networkProfile;
  const admission = tcp.spec.kubernetes.admissionControllers?.length ? tcp.spec.kubernetes.admissionControllers : DEFAULT_ADMISSION_CONTROLLERS;
  const flags: Flags = new Map([
    ['allow-privileged', 'true'],
    ['authorization-mode', 'Node,RBAC'],
    ['client-ca-file', `${PKI}/ca.crt`],
    ['enable-admission-plugins', admission.join(',')],
    ['enable-bootstrap-token-auth', 'true'],
    // Compaction is etcd-wide and keeps its revision under compact_rev_key, outside the tenant's prefix, which
    // its etcd user may not touch: the shared etcd compacts itself (--auto-compaction-*), not each tenant.
    ['etcd-compaction-interval', '0'],
    ['etcd-cafile', `${PKI}/etcd/ca.crt`],
    ['etcd-certfile', `${PKI}/etcd/server.crt`],
    ['etcd-keyfile', `${PKI}/etcd/server.key`],
    ['etcd-prefix', inputs.etcdPrefix],
    ['etcd-servers', inputs.etcdServers.join(',')],
    ['kubelet-client-certificate', `${PKI}/apiserver-kubelet-client.crt`],
    ['kubelet-client-key', `${PKI}/apiserver-kubelet-client.key`],
    ['kubelet-preferred-address-types', (tcp.spec.kubernetes.kubelet.preferredAddressTypes ?? ['InternalIP', 'ExternalIP', 'Hostname']).join(',')],
    ['proxy-client-cert-file', `${PKI}/front-proxy-client.crt`],
    ['proxy-client-key-file', `${PKI}/front-proxy-client.key`],
    ['requestheader-allowed-names', 'front-proxy-client'],
    ['requestheader-client-ca-file', `${PKI}/front-proxy-ca.crt`],
    ['requestheader-extra-headers-prefix', 'X-Remote-Extra-'],
    ['requestheader-group-headers', 'X-Remote-Group'],
    ['requestheader-username-headers', 'X-Remote-User'],
    ['secure-port', String(apiServerPort(np))],
    ['service-account-issuer', `https://kubernetes.default.svc.${clusterDomain(np)}`],
    ['service-account-key-file', `${PKI}/sa.pub`],
    ['service-account-signing-key-file', `${PKI}/sa.key`],
    ['service-cluster-ip-range', serviceCIDRs(np).join(',')],
    // On SIGTERM the apiserver fails /readyz at once but keeps accepting for this long, so the Service drops the
    // pod from its endpoints before the listener closes: a rolling update (an upgrade, a certificate rotation)
    // costs clients no refused connection. Within the default 30 s grace period, with room to drain.
    ['shutdown-delay-duration', API_SERVER_SHUTDOWN_DELAY],
    ['tls-cert-file', `${PKI}/apiserver.crt`],
    ['tls-private-key-file', `${PKI}/apiserver.key`],
  ]);
  if (inputs.advertiseAddress) flags.set('advertise-address', inputs.advertiseAddress);
  if (tcp.spec.addons?.konnectivity) flags.set('egress-selector-config-file', `${EGRESS_DIR}/${EGRESS_FILE}`);
  return withExtraArgs(withStructuredAuthFlags(flags, tcp.spec.kubernetes), tcp.spec.controlPlane.deployment?.extraArgs?.apiServer);
}

function controllerManagerFlags(tcp: TenantControlPlane): Flags {
  const np = tcp.spec.networkProfile;
  const kubeconfig = `${KCM_DIR}/${CONTROLLER_MANAGER_CONF}`;
  const flags: Flags = new Map([
    ['allocate-node-cidrs', 'true'],
    ['authentication-kubeconfig', kubeconfig],
    ['authorization-kubeconfig', kubeconfig],
    ['bind-address', '0.0.0.0'],
    ['client-ca-file', `${PKI}/ca.crt`],
    ['cluster-cidr', podCIDRs(np).join(',')],
    ['cluster-name', tcp.metadata.name ?? ''],
    ['cluster-signing-cert-file', `${PKI}/ca.crt`],
    ['cluster-signing-key-file', `${PKI}/ca.key`],
    ['controllers', '*,bootstrapsigner,tokencleaner'],
    ['kubeconfig', kubeconfig],
    ['leader-elect', 'true'],
    ['requestheader-client-ca-file', `${PKI}/front-proxy-ca.crt`],
    ['root-ca-file', `${PKI}/ca.crt`],
    ['secure-port', String(KCM_PORT)],
    ['service-account-private-key-file', `${PKI}/sa.key`],
    ['service-cluster-ip-range', serviceCIDRs(np).join(',')],
    ['use-service-account-credentials', 'true'],
  ]);
  return withExtraArgs(flags, tcp.spec.controlPlane.deployment?.extraArgs?.controllerManager);
}

function schedulerFlags(tcp: TenantControlPlane): Flags {
  const kubeconfig = `${SCHEDULER_DIR}/${SCHEDULER_CONF}`;
  const flags: Flags = new Map([
    ['authentication-kubeconfig', kubeconfig],
    ['authorization-kubeconfig', kubeconfig],
    ['bind-address', '0.0.0.0'],
    ['kubeconfig', kubeconfig],
    ['leader-elect', 'true'],
    ['secure-port', String(SCHEDULER_PORT)],
  ]);
  return withExtraArgs(flags, tcp.spec.controlPlane.deployment?.extraArgs?.scheduler);
}

/** Replicas of the control plane Deployment: Kamaji's default is 2. */
const replicasOf = (tcp: TenantControlPlane): number => tcp.spec.controlPlane.deployment?.replicas ?? 2;

function konnectivityServer(tcp: TenantControlPlane, agentPort: number, h: Hardening): V1Container {
  const server = tcp.spec.addons?.konnectivity?.server;
  const flags: Flags = new Map([
    ['admin-port', String(KONNECTIVITY_ADMIN_PORT)],
    ['agent-namespace', 'kube-system'],
    ['agent-port', String(agentPort)],
    ['agent-service-account', 'konnectivity-agent'],
    ['authentication-audience', 'system:konnectivity-server'],
    ['cluster-cert', `${PKI}/apiserver.crt`],
    ['cluster-key', `${PKI}/apiserver.key`],
    ['health-port', String(KONNECTIVITY_HEALTH_PORT)],
    ['kubeconfig', `${KONNECTIVITY_DIR}/${KONNECTIVITY_CONF}`],
    ['mode', 'grpc'],
    ['proxy-strategies', 'destHost,default'],
    // An agent behind the Service keeps dialling until it holds this many distinct servers. Left at its default
    // of 1, each agent stops at whichever replica it reached first, and the apiserver of every other replica
    // answers "No agent available" for nodes, logs and exec, as Kamaji avoids by passing the replica count.
    ['server-count', String(replicasOf(tcp))],
    ['server-port', '0'],
    ['uds-name', KONNECTIVITY_UDS],
  ]);
  return {
    name: 'konnectivity-server',
    image: `${server?.image ?? KONNECTIVITY_SERVER_IMAGE}:${server?.version ?? DEFAULT_KONNECTIVITY_VERSION}`,
    command: ['/proxy-server'],
    args: renderFlags(withExtraArgs(flags, server?.extraArgs)),
    ports: [
      { name: 'agent', containerPort: agentPort, protocol: 'TCP' },
      { name: 'admin', containerPort: KONNECTIVITY_ADMIN_PORT, protocol: 'TCP' },
      { name: 'health', containerPort: KONNECTIVITY_HEALTH_PORT, protocol: 'TCP' },
    ],
    livenessProbe: { httpGet: { path: '/healthz', port: KONNECTIVITY_HEALTH_PORT, scheme: 'HTTP' }, periodSeconds: 10, timeoutSeconds: 1, failureThreshold: 3 },
    ...(server?.resources ? { resources: server.resources } : {}),
    ...withSecurityContext(containerSecurityContext(h, server?.securityContext)),
    volumeMounts: [
      { name: 'pki', mountPath: PKI, readOnly: true },
      { name: 'konnectivity-kubeconfig', mountPath: KONNECTIVITY_DIR, readOnly: true },
      { name: 'konnectivity-uds', mountPath: KONNECTIVITY_UDS_DIR },
    ].map((m) => hardenedMount(h, m)),
  };
}

const withSecurityContext = (sc: V1SecurityContext | undefined) => (sc ? { securityContext: sc } : {});

export function buildDeployment(tcp: TenantControlPlane, inputs: DeploymentInputs): Deployment {
  const name = tcp.metadata.name ?? '';
  const d = tcp.spec.controlPlane.deployment ?? {};
  const konnectivity = tcp.spec.addons?.konnectivity !== undefined;
  const apiPort = apiServerPort(tcp.spec.networkProfile);
  const structuredAuth = structuredAuthVolume(tcp.spec.kubernetes);
  const h = hardeningOf(d.hardening, inputs.userNamespaces);
  const mounts = (component: 'apiServer' | 'controllerManager' | 'scheduler', own: V1VolumeMount[]): V1VolumeMount[] => [
    ...own.map((m) => hardenedMount(h, m)),
    ...(d.additionalVolumeMounts?.[component] ?? []),
  ];

  const apiServer: V1Container = {
    name: 'kube-apiserver',
    image: image(tcp, 'apiServerImage', 'kube-apiserver'),
    command: ['kube-apiserver'],
    args: renderFlags(apiServerFlags(tcp, inputs)),
    ports: [{ name: 'kube-apiserver', containerPort: apiPort, protocol: 'TCP' }],
    ...componentProbes('apiServer', apiPort, d.probes),
    volumeMounts: mounts('apiServer', [
      { name: 'pki', mountPath: PKI, readOnly: true },
      ...(konnectivity
        ? [
            { name: 'egress-selector', mountPath: EGRESS_DIR, readOnly: true },
            { name: 'konnectivity-uds', mountPath: KONNECTIVITY_UDS_DIR },
          ]
        : []),
      ...(structuredAuth ? [structuredAuth.mount] : []),
    ]),
    ...(d.resources?.apiServer ? { resources: d.resources.apiServer } : {}),
    ...withSecurityContext(containerSecurityContext(h, d.containerSecurityContexts?.apiServer)),
  };
  const controllerManager: V1Container = {
    name: 'kube-controller-manager',
    image: image(tcp, 'controllerManagerImage', 'kube-controller-manager'),
    command: ['kube-controller-manager'],
    args: renderFlags(controllerManagerFlags(tcp)),
    ...componentProbes('controllerManager', KCM_PORT, d.probes),
    volumeMounts: mounts('controllerManager', [
      { name: 'pki', mountPath: PKI, readOnly: true },
      { name: 'controller-manager-kubeconfig', mountPath: KCM_DIR, readOnly: true },
    ]),
    ...(d.resources?.controllerManager ? { resources: d.resources.controllerManager } : {}),
    ...withSecurityContext(containerSecurityContext(h, d.containerSecurityContexts?.controllerManager)),
  };
  const scheduler: V1Container = {
    name: 'kube-scheduler',
    image: image(tcp, 'schedulerImage', 'kube-scheduler'),
    command: ['kube-scheduler'],
    args: renderFlags(schedulerFlags(tcp)),
    ...componentProbes('scheduler', SCHEDULER_PORT, d.probes),
    volumeMounts: mounts('scheduler', [{ name: 'scheduler-kubeconfig', mountPath: SCHEDULER_DIR, readOnly: true }]),
    ...(d.resources?.scheduler ? { resources: d.resources.scheduler } : {}),
    ...withSecurityContext(containerSecurityContext(h, d.containerSecurityContexts?.scheduler)),
  };

  const s = inputs.secrets;
  const volumes: V1Volume[] = [
    pkiVolume(s),
    { name: 'controller-manager-kubeconfig', secret: { secretName: s.controllerManagerKubeconfig, defaultMode: CREDENTIAL_FILE_MODE } },
    { name: 'scheduler-kubeconfig', secret: { secretName: s.schedulerKubeconfig, defaultMode: CREDENTIAL_FILE_MODE } },
  ];
  if (structuredAuth) volumes.push(structuredAuth.volume);
  const containers = [apiServer, controllerManager, scheduler];
  const kPort = konnectivityPort(tcp);
  if (kPort !== undefined) {
    if (!s.konnectivityKubeconfig || !inputs.egressSelectorConfigMap) {
      throw new Error('konnectivity is enabled but its kubeconfig Secret or egress selector ConfigMap was not given');
    }
    volumes.push(
      { name: 'konnectivity-kubeconfig', secret: { secretName: s.konnectivityKubeconfig, defaultMode: CREDENTIAL_FILE_MODE } },
      { name: 'egress-selector', configMap: { name: inputs.egressSelectorConfigMap, defaultMode: CREDENTIAL_FILE_MODE } },
      { name: 'konnectivity-uds', emptyDir: { medium: 'Memory' } },
    );
    containers.push(konnectivityServer(tcp, kPort, h));
  }
  containers.push(...(d.additionalContainers ?? []));
  volumes.push(...(d.additionalVolumes ?? []));

  const ports = [apiPort, KCM_PORT, SCHEDULER_PORT, ...(kPort !== undefined ? [kPort, KONNECTIVITY_ADMIN_PORT, KONNECTIVITY_HEALTH_PORT] : [])];
  const podSecurity = podSecurityContext(h, ports, d.podSecurityContext);
  const labels = selectorLabels(name);
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: deploymentName(name),
      namespace: tcp.metadata.namespace,
      labels: { ...d.additionalMetadata?.labels, ...labels },
      ...(d.additionalMetadata?.annotations ? { annotations: d.additionalMetadata.annotations } : {}),
    },
    spec: {
      replicas: replicasOf(tcp),
      selector: { matchLabels: labels },
      strategy: d.strategy ?? { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: '100%' } },
      template: {
        metadata: {
          labels: { ...d.podAdditionalMetadata?.labels, ...labels },
          annotations: {
            ...d.podAdditionalMetadata?.annotations,
            [CHECKSUM_ANNOTATION]: inputs.secretsChecksum,
            ...structuredAuthAnnotations(tcp.spec.kubernetes),
          },
        },
        spec: {
          serviceAccountName: d.serviceAccountName ?? 'default',
          // The apiserver needs no management-cluster credentials; keep them out of the pod.
          automountServiceAccountToken: false,
          containers,
          volumes,
          ...(d.additionalInitContainers?.length ? { initContainers: d.additionalInitContainers } : {}),
          ...(d.nodeSelector ? { nodeSelector: d.nodeSelector } : {}),
          ...(d.runtimeClassName ? { runtimeClassName: d.runtimeClassName } : {}),
          ...(d.tolerations ? { tolerations: d.tolerations } : {}),
          ...(d.affinity ? { affinity: d.affinity } : {}),
          ...(d.topologySpreadConstraints
            ? { topologySpreadConstraints: d.topologySpreadConstraints.map((c) => Object.assign({}, c, { labelSelector: c.labelSelector ?? { matchLabels: labels } })) }
            : {}),
          ...(podSecurity ? { securityContext: podSecurity } : {}),
          ...(h.userNamespaces ? { hostUsers: false } : {}),
        },
      },
    },
  };
}

/** The EgressSelectorConfiguration the apiserver reads when Konnectivity is on: cluster traffic via the UDS. */
export function egressSelectorConfiguration(): Record<string, string> {
  return {
    [EGRESS_FILE]: [
      'apiVersion: apiserver.k8s.io/v1beta1',
      'kind: EgressSelectorConfiguration',
      'egressSelections:',
      '- name: cluster',
      '  connection:',
      '    proxyProtocol: GRPC',
      '    transport:',
      '      uds:',
      `        udsName: ${KONNECTIVITY_UDS}`,
      '',
    ].join('\n'),
  };
}
