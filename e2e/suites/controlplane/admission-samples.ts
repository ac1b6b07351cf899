// Kamaji's own sample manifests (clastix/kamaji config/samples), kept verbatim as test data: users coming from Kamaji
// apply exactly these, so kvcloud must accept the ones for features it runs and refuse the others by name.

/** Accepted unchanged. */
export const acceptedSamples: Record<string, string> = {
  'kamaji_v1alpha1_datastore_etcd.yaml': `apiVersion: kamaji.clastix.io/v1alpha1
kind: DataStore
metadata:
  name: etcd
spec:
  driver: etcd
  endpoints:
    - etcd-0.etcd.kamaji-system.svc.cluster.local:2379
    - etcd-1.etcd.kamaji-system.svc.cluster.local:2379
    - etcd-2.etcd.kamaji-system.svc.cluster.local:2379
  basicAuth: null
  tlsConfig:
    certificateAuthority:
      certificate:
        secretReference:
          name: etcd-certs
          namespace: kamaji-system
          keyPath: "ca.crt"
      privateKey:
        secretReference:
          name: etcd-certs
          namespace: kamaji-system
          keyPath: "ca.key"
    clientCertificate:
      certificate:
        secretReference:
          name: root-client-certs
          namespace: kamaji-system
          keyPath: "tls.crt"
      privateKey:
        secretReference:
          name: root-client-certs
          namespace: kamaji-system
          keyPath: "tls.key"
`,
  'kamaji_v1alpha1_tenantcontrolplane.yaml': `apiVersion: kamaji.clastix.io/v1alpha1
kind: TenantControlPlane
metadata:
  name: k8s-136
  labels:
    tenant.clastix.io: k8s-136
spec:
  controlPlane:
    deployment:
      replicas: 2
    service:
      serviceType: LoadBalancer
  kubernetes:
    version: "v1.36.3"
    kubelet:
      configurationJSONPatches:
        - op: add
          path: /featureGates
          value:
            KubeletCrashLoopBackOffMax: false
            KubeletEnsureSecretPulledImages: false
        - op: add
          path: /cgroupDriver
          value: systemd
  networkProfile:
    port: 6443
  addons:
    coreDNS: {}
    kubeProxy: {}
    konnectivity:
      server:
        port: 8132
      agent:
        mode: DaemonSet
`,
  'kamaji_v1alpha1_tenantcontrolplane_additionalvolumes.yaml': `apiVersion: kamaji.clastix.io/v1alpha1
kind: TenantControlPlane
metadata:
  name: additional-volumes
spec:
  controlPlane:
    deployment:
      replicas: 1
      additionalVolumes:
        - name: api-server-volume
          configMap:
            name: api-server-extra-cm
        - name: controller-manager-volume
          configMap:
            name: controller-manager-extra-cm
        - name: scheduler-volume
          configMap:
            name: scheduler-extra-cm
      additionalVolumeMounts:
        apiServer:
          - name: api-server-volume
            mountPath: "/tmp/api-server"
        controllerManager:
          - name: controller-manager-volume
            mountPath: "/tmp/controller-manager"
        scheduler:
          - name: scheduler-volume
            mountPath: "/tmp/scheduler"
    service:
      serviceType: LoadBalancer
  kubernetes:
    version: "v1.26.0"
    kubelet:
      cgroupfs: systemd
  networkProfile:
    port: 6443
  addons:
    coreDNS: {}
    kubeProxy: {}
---
apiVersion: v1
data:
  api-server: "This is an API Server volume"
kind: ConfigMap
metadata:
  name: api-server-extra-cm
---
apiVersion: v1
data:
  controller-manager: "This is a Controller Manager volume"
kind: ConfigMap
metadata:
  name: controller-manager-extra-cm
---
apiVersion: v1
data:
  controller-manager: "This is a Scheduler volume"
kind: ConfigMap
metadata:
  name: scheduler-extra-cm
`,
  'kamaji_v1alpha1_tenantcontrolplane_konnectivity_hostnetwork.yaml': `apiVersion: kamaji.clastix.io/v1alpha1
kind: TenantControlPlane
metadata:
  name: example-hostnetwork-tcp
  namespace: tenant-system
spec:
  controlPlane:
    deployment:
      replicas: 2
    service:
      serviceType: LoadBalancer
  kubernetes:
    version: v1.29.0
    kubelet:
      cgroupfs: systemd
      preferredAddressTypes: ["InternalIP", "ExternalIP"]
  networkProfile:
    address: "10.0.0.100"
    port: 6443
    serviceCidr: "10.96.0.0/16"
    podCidr: "10.244.0.0/16"
  addons:
    coreDNS: {}
    konnectivity:
      server:
        port: 8132
      agent:
        hostNetwork: true
        tolerations:
          - key: "CriticalAddonsOnly"
            operator: "Exists"
          - key: "node.kubernetes.io/not-ready"
            operator: "Exists"
            effect: "NoExecute"
            tolerationSeconds: 300
    kubeProxy: {}
`,
  // Verbatim, including the stray empty \`spec:\` key inside spec.
  'kamaji_v1alpa_tenantcontrolplane_dualstack.yaml': `apiVersion: kamaji.clastix.io/v1alpha1
kind: TenantControlPlane
metadata:
  name: k8s-133
  labels:
    tenant.clastix.io: k8s-133
spec:
  spec:
  controlPlane:
    deployment:
      replicas: 2
    service:
      serviceType: LoadBalancer
  kubernetes:
    version: "v1.33.0"
    kubelet:
      configurationJSONPatches:
        - op: add
          path: /featureGates
          value:
            KubeletCrashLoopBackOffMax: false
            KubeletEnsureSecretPulledImages: false
        - op: replace
          path: /cgroupDriver
          value: systemd
  networkProfile:
    port: 6443
    podCidrs:
      - 10.244.0.0/16
      - fd00:244::/56
    serviceCidrs:
      - 10.96.0.0/16
      - fd00::/120
    dnsServiceIPs:
      - 10.96.0.10
      - fd00::10
  addons:
    coreDNS: {}
    kubeProxy: {}
    konnectivity:
     server:
       port: 8132
     agent:
       mode: DaemonSet`,
  'kamaji_v1alpha1_tenantcontrolplane_gateway.yaml': `apiVersion: kamaji.clastix.io/v1alpha1
kind: TenantControlPlane
metadata:
  name: demo-tcp-1
spec:
  addons:
    coreDNS: {}
    kubeProxy: {}
    konnectivity: {}
  dataStore: default
  controlPlane:
    gateway:
      hostname: "c11.cluster.dev"
      parentRefs:
      - name: gateway
        namespace: default
    deployment:
      replicas: 1
    service:
      serviceType: ClusterIP
  kubernetes:
    version: v1.35.7
    kubelet:
      cgroupfs: systemd
  networkProfile:
    port: 6443
    certSANs:
    - "c11.cluster.dev"
`,
};

/** Refused, each with the reason a user must read: the features they use are not part of kvcloud yet. */
export const refusedSamples: { file: string; yaml: string; message: RegExp }[] = [
  {
    file: 'kamaji_v1alpha1_datastore_postgresql.yaml',
    message: /kvcloud does not support the spec\.driver value/,
    yaml: `apiVersion: kamaji.clastix.io/v1alpha1
kind: DataStore
metadata:
  name: postgresql
spec:
  driver: PostgreSQL
  endpoints:
    - postgresql-rw.kamaji-system.svc:5432
  basicAuth:
    username:
      secretReference:
        name: postgresql-superuser
        namespace: kamaji-system
        keyPath: username
    password:
      secretReference:
        name: postgresql-superuser
        namespace: kamaji-system
        keyPath: password
  tlsConfig:
    certificateAuthority:
      certificate:
        secretReference:
          name: postgresql-ca
          namespace: kamaji-system
          keyPath: ca.crt
    clientCertificate:
      certificate:
        secretReference:
          name: postgres-root-cert
          namespace: kamaji-system
          keyPath: tls.crt
      privateKey:
        secretReference:
          name: postgres-root-cert
          namespace: kamaji-system
          keyPath: tls.key
`,
  },
  {
    file: 'kamaji_v1alpha1_tenantcontrolplane_kine.yaml',
    message: /spec\.dataStore: DataStore postgresql-bronze does not exist/,
    yaml: `apiVersion: kamaji.clastix.io/v1alpha1
kind: TenantControlPlane
metadata:
  name: kine
spec:
  addons:
    coreDNS: {}
    kubeProxy: {}
  controlPlane:
    deployment:
      replicas: 1
    service:
      serviceType: LoadBalancer
  dataStore: postgresql-bronze
  kubernetes:
    kubelet:
      cgroupfs: systemd
    version: v1.26.0
`,
  },
];
