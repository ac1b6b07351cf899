// The differences between what Kamaji and kvcloud's control plane provider make from the same TenantControlPlane (as
// e2e/peers/kamaji.peer.ts prints them), as rules over the printed lines, each with why kvcloud differs. A rule marked
// `open` is a gap kvcloud should close (reported to providers/controlplane, not a design choice): listed so the oracle
// stays usable while it is open, and failing as "gone" once it is closed, so the rule is removed with the fix.
// A difference no rule explains fails the suite, and so does a rule that explains nothing.

export interface DifferenceRule {
  pattern: RegExp;
  reason: string;
  open?: true;
}

const line = (text: string) => new RegExp(`^(?:${text})$`);

export const DIFFERENCE_RULES: readonly DifferenceRule[] = [
  // Design choices.
  {
    pattern: line(String.raw`\S+ [^:]+: annotation kvcloud\.io/applied-hash: Kamaji \(none\), kvcloud "<opaque>"`),
    reason: 'kvcloud judges "changed" by a hash of what it last applied, so steady state writes nothing; Kamaji compares checksums it keeps in its own annotations',
  },
  {
    pattern: line(String.raw`(Deployment tenant-00: (annotation kube-apiserver\.kamaji\.clastix\.io/args|template annotation storage\.kamaji\.clastix\.io/(certificate|config)|template annotation kamaji\.clastix\.io/checksum|template label component\.kamaji\.clastix\.io/[a-z-]+)|ConfigMap tenant-00-konnectivity-egress-selector-configuration: annotation kamaji\.clastix\.io/checksum): .*`),
    reason: "each operator rolls the control plane pods on a change of their inputs through its own template annotations (Kamaji one label per Secret checksum and its args; kvcloud one checksum of all); nothing outside the operator reads them",
  },
  {
    pattern: line(String.raw`TenantControlPlane tenant-00: (status fields: .*|status\.conditions \w+: Kamaji \(none\), kvcloud "[^"]+")`),
    reason: 'kvcloud reports conditions (Ready and one per step, Paused) on TenantControlPlanes and DataStores, which `kubectl wait --for=condition=Ready` and runbooks can use; Kamaji reports the version status only. Every Kamaji status field kvcloud lacks is listed on its own below',
  },
  {
    pattern: line(String.raw`DataStore default: (status\.conditions (AuthEnabled|Connected|Ready): Kamaji \(none\), kvcloud "True \(\w+\)"|status\.conditions kamaji\.clastix\.io/DataStoreValidation: Kamaji "True \(DataStoreIsValid\)", kvcloud \(none\))`),
    reason: "kvcloud's DataStore conditions say what it checked (connection, etcd auth); Kamaji's one validation condition is covered by them. status.ready, which tools read, is the same",
  },
  {
    pattern: line(String.raw`(Deployment tenant-00: annotation deployment\.kubernetes\.io/revision: Kamaji "\d+", kvcloud "1"|DaemonSet \(tenant\) kube-system/konnectivity-agent: annotation deprecated\.daemonset\.template\.generation: Kamaji "\d+", kvcloud "1"|TenantControlPlane tenant-00: status\.observedGeneration: Kamaji "\d+", kvcloud "1")`),
    reason: 'Kamaji rolls the control plane Deployment (and updates the Konnectivity agent) several times while it provisions, and its webhook rewrites the spec once (podCidrs/serviceCidrs); kvcloud writes each object once, so the revisions and generations stay at 1',
  },
  {
    pattern: line(String.raw`(ClusterRole|ClusterRoleBinding) \(tenant\) kvcloud:node-pod-routes: only kvcloud makes it`),
    reason: "kvcloud's worker VMs route pods host-gw style and need to list Nodes (providers/controlplane/tenant/bootstrap.ts); Kamaji leaves pod routing to a CNI",
  },
  {
    pattern: line(String.raw`ConfigMap \(tenant\) kube-system/kvcloud-serving-control-plane: only kvcloud makes it`),
    reason: 'the marker a `clusterctl move` hand-over reads to learn which management cluster serves the tenant (controllers/move-handover.ts); Kamaji has no hand-over',
  },
  {
    pattern: line(String.raw`DaemonSet \(tenant\) kube-system/konnectivity-agent: container konnectivity-agent arg (-v: Kamaji "8", kvcloud \(none\)|--v: Kamaji \(none\), kvcloud "2")`),
    reason: "Kamaji runs the Konnectivity agent at klog verbosity 8 (request-level logging in every tenant node); kvcloud at 2",
  },
  // Gaps kvcloud should close.
  {
    pattern: line(String.raw`Deployment \(tenant\) kube-system/coredns: container coredns image: Kamaji "registry\.k8s\.io/coredns/coredns:v1\.14\.2", kvcloud "registry\.k8s\.io/coredns/coredns:v1\.12\.1"`),
    reason: "Kamaji takes kubeadm's CoreDNS tag for the tenant's minor; kvcloud pins one tag for every minor (the one the local cloud builds, COREDNS_VERSION), so a tenant moved from Kamaji gets another CoreDNS unless it sets spec.addons.coreDNS.imageTag",
    open: true,
  },
  {
    pattern: line(String.raw`\S+( \(tenant\))? .+?: label kamaji\.clastix\.io/(project|component|name|certificate_lifecycle_controller): Kamaji "[^"]+", kvcloud \(none\)`),
    reason: "Kamaji's labels on everything it makes (project, component, name) and on the Secrets its certificate lifecycle controller watches: users' selectors and that controller read them",
    open: true,
  },
  {
    pattern: line(String.raw`\S+ \(tenant\) .+?: owner ClusterRoleBinding: Kamaji "(system:coredns|kubeadm:node-proxier)", kvcloud \(none\)`),
    reason: "Kamaji owns each addon's objects by its ClusterRoleBinding, so disabling an addon removes them by garbage collection",
    open: true,
  },
  {
    pattern: line(String.raw`(ClusterRoleBinding \(tenant\) system:konnectivity-server: label (addonmanager\.kubernetes\.io/mode|kubernetes\.io/cluster-service): .*|Service \(tenant\) kube-system/kube-dns: (annotation prometheus\.io/(port|scrape)|label kubernetes\.io/cluster-service): .*|DaemonSet \(tenant\) kube-system/konnectivity-agent: label k8s-app: Kamaji \(none\), kvcloud "konnectivity-agent")`),
    reason: "the addons' labels and annotations as upstream's manifests (and Kamaji) set them",
    open: true,
  },
  {
    pattern: line(String.raw`Deployment \(tenant\) kube-system/coredns: container coredns port (liveness|readiness)-probe: .*`),
    reason: "kubeadm's CoreDNS Deployment names its probe ports (Kamaji installs it as kubeadm does)",
    open: true,
  },
  {
    pattern: line(String.raw`ClusterRoleBinding \(tenant\) kubeadm:apiserver-kubelet-client: only Kamaji makes it`),
    reason: 'kubeadm binds the apiserver-kubelet-client identity to system:kubelet-api-admin, which `kubectl logs/exec` on nodes needs unless that certificate carries system:masters',
    open: true,
  },
  {
    pattern: line(String.raw`Secret tenant-00-ca: data keys: Kamaji "ca\.crt,ca\.key,tls\.crt,tls\.key", kvcloud "ca\.crt,ca\.key"`),
    reason: "Kamaji's CA Secret also carries the tls.crt/tls.key keys that Cluster API and cert-manager style consumers read",
    open: true,
  },
  {
    pattern: line(String.raw`Secret tenant-00-konnectivity-certificate: type: Kamaji "kubernetes\.io/tls", kvcloud "Opaque"`),
    reason: "Kamaji's Konnectivity certificate Secret is of type kubernetes.io/tls",
    open: true,
  },
  {
    pattern: line(String.raw`(Secret tenant-00-datastore-config: only Kamaji makes it|TenantControlPlane tenant-00: status\.storage\.config\.(checksum|secretName): .*)`),
    reason: 'Kamaji records the DataStore connection the tenant uses in the <tcp>-datastore-config Secret and status.storage.config',
    open: true,
  },
  {
    pattern: line(String.raw`(ConfigMap tenant-00-kubeadmconfig: only Kamaji makes it|TenantControlPlane tenant-00: status\.kubeadmconfig\.(checksum|configmapName): .*)`),
    reason: "Kamaji keeps the tenant's kubeadm configuration in the <tcp>-kubeadmconfig ConfigMap of the management cluster and names it in status.kubeadmconfig.configmapName; kvcloud names the tenant's own kubeadm-config there",
    open: true,
  },
  {
    pattern: line(String.raw`TenantControlPlane tenant-00: status\.(storage\.setup\.(checksum|schema|user)): .*|Deployment tenant-00: container kube-apiserver arg --etcd-prefix: Kamaji "/<uid>", kvcloud "/default_tenant_00/"`),
    reason: "Kamaji names the tenant's etcd prefix, user and role after the TenantControlPlane's UID; kvcloud after <namespace>_<name>. A TenantControlPlane moved from Kamaji keeps its status.storage.setup, which kvcloud must honour",
    open: true,
  },
  {
    pattern: line(String.raw`TenantControlPlane tenant-00: status\.[\w.]*lastUpdate: Kamaji "<time>", kvcloud \(none\)`),
    reason: "Kamaji stamps lastUpdate on every status entry it reconciles",
    open: true,
  },
  {
    pattern: line(String.raw`TenantControlPlane tenant-00: status\.(addons\.konnectivity\.[\w.]+|kubeadmPhase\.bootstrapToken\.checksum|kubernetesResources\.deployment\.(conditions\.\w+|observedGeneration|terminatingReplicas)): Kamaji "[^"]+", kvcloud \(none\)`),
    reason: "status Kamaji fills and kvcloud's schema has but leaves empty: the Konnectivity addon's objects, the bootstrap-token phase, the Deployment's own conditions and generation",
    open: true,
  },
  {
    pattern: line(String.raw`TenantControlPlane tenant-00: spec\.networkProfile\.(podCidrs|serviceCidrs)\.0: Kamaji "<ip>/16", kvcloud \(none\)`),
    reason: "Kamaji's webhook copies the deprecated podCidr/serviceCidr into podCidrs/serviceCidrs",
    open: true,
  },
  {
    pattern: line(String.raw`(TenantControlPlane tenant-00: finalizers: Kamaji "finalizer\.kamaji\.clastix\.io,finalizer\.kamaji\.clastix\.io/soot", kvcloud "kamaji\.clastix\.io/finalizer"|DataStore default: finalizers: Kamaji "kamaji\.clastix\.io/TenantControlPlane", kvcloud "kamaji\.clastix\.io/datastore")`),
    reason: "kvcloud's finalizer names are not Kamaji's: objects made under Kamaji (a drop-in replacement on a live cluster) keep Kamaji's finalizers, which kvcloud never removes, so their deletion hangs",
    open: true,
  },
  {
    pattern: line(String.raw`Deployment tenant-00: (pod (containers|volumes)|container [\w-]+ (arg --[\w-]+|mount \S+|port [\w-]+)): .*`),
    reason: "the control plane pod's layout differs from Kamaji's (container order, volume names, mount paths of the kubeconfigs and the egress selector, the CA bundle mounts, port names, flags kvcloud sets that Kamaji leaves at their defaults): extraArgs and additional volumes written for Kamaji's paths and port names do not carry over",
    open: true,
  },
  {
    pattern: line(String.raw`DaemonSet \(tenant\) kube-system/konnectivity-agent: container konnectivity-agent arg --sync-(forever|interval|interval-cap): Kamaji \(none\), kvcloud "[^"]+"`),
    reason: "kvcloud sets the agent's sync flags, which Kamaji leaves at their defaults",
    open: true,
  },
  {
    pattern: line(String.raw`Deployment tenant-00: label kamaji\.clastix\.io/component: Kamaji "deployment", kvcloud \(none\)|Deployment tenant-00: template label kamaji\.clastix\.io/component: Kamaji "deployment", kvcloud \(none\)`),
    reason: "Kamaji's component label on the control plane Deployment and its pods",
    open: true,
  },
  {
    pattern: line(String.raw`Secret tenant-00-konnectivity-kubeconfig: annotation certs\.kamaji\.clastix\.io/rotate: Kamaji "<time>", kvcloud \(none\)`),
    reason: "Kamaji marks the Konnectivity kubeconfig as rotated once at creation",
    open: true,
  },
];

/** The lines no rule explains. */
export function unexplained(found: readonly string[]): string[] {
  return found.filter((l) => !DIFFERENCE_RULES.some((r) => r.pattern.test(l)));
}

/** The rules that explain none of the lines: a difference that is gone, whose rule goes with it. */
export function explainingNothing(found: readonly string[]): DifferenceRule[] {
  return DIFFERENCE_RULES.filter((r) => !found.some((l) => r.pattern.test(l)));
}
