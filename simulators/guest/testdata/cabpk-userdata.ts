// Bootstrap data shaped exactly as the kubeadm bootstrap provider (CABPK v1.14) renders it for a worker
// KubeadmConfig: the jinja cloud-config (write_files with the JoinConfiguration at /run/kubeadm, the
// /run/cluster-api placeholder, runcmd `kubeadm join ... && echo success > sentinel`, users), and the Ignition
// 2.3 JSON its Container Linux Config path produces (kubeadm.service running /etc/kubeadm.sh with /etc/kubeadm.yml).

export interface WorkerBootstrap {
  /** host:port of the control plane endpoint. */
  endpoint: string;
  token: string;
  caCertHash: string;
  /** kubeletExtraArgs as v1beta4 lists them; values may hold jinja. */
  kubeletExtraArgs?: { name: string; value: string }[];
  /** nodeRegistration.name; CABPK users commonly set '{{ ds.meta_data.local_hostname }}'. */
  nodeName?: string;
  sshAuthorizedKey?: string;
}

function joinConfiguration(b: WorkerBootstrap): string {
  const args = b.kubeletExtraArgs ?? [];
  return [
    'apiVersion: kubeadm.k8s.io/v1beta4',
    'discovery:',
    '  bootstrapToken:',
    `    apiServerEndpoint: ${b.endpoint}`,
    '    caCertHashes:',
    `    - ${b.caCertHash}`,
    `    token: ${b.token}`,
    'kind: JoinConfiguration',
    'nodeRegistration:',
    ...(args.length > 0 ? ['  kubeletExtraArgs:', ...args.flatMap((a) => [`  - name: ${a.name}`, `    value: ${a.value}`])] : []),
    ...(b.nodeName ? [`  name: '${b.nodeName}'`] : []),
    // Cluster API v1.14 registers workers tainted until its Machine controller has synced the Node.
    '  taints:',
    '  - effect: NoSchedule',
    '    key: node.cluster.x-k8s.io/uninitialized',
    '',
  ].join('\n');
}

const indent = (text: string, n: number) =>
  text
    .split('\n')
    .map((l) => ' '.repeat(n) + l)
    .join('\n');

export function cabpkWorkerCloudConfig(b: WorkerBootstrap): string {
  return [
    '## template: jinja',
    '#cloud-config',
    '',
    'write_files:',
    '-   path: /run/kubeadm/kubeadm-join-config.yaml',
    '    owner: root:root',
    "    permissions: '0640'",
    '    content: |',
    '      ---',
    indent(joinConfiguration(b), 6),
    '-   path: /run/cluster-api/placeholder',
    '    owner: root:root',
    "    permissions: '0640'",
    '    content: "This placeholder file is used to create the /run/cluster-api sub directory in a way that is compatible with both Linux and Windows (mkdir -p /run/cluster-api does not work with Windows)"',
    'runcmd:',
    '  - kubeadm join --config /run/kubeadm/kubeadm-join-config.yaml  && echo success > /run/cluster-api/bootstrap-success.complete',
    'users:',
    '  - name: capk',
    '    sudo: ALL=(ALL) NOPASSWD:ALL',
    '    ssh_authorized_keys:',
    `      - ${b.sshAuthorizedKey ?? 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKvcloudtestkey capk'}`,
    '',
  ].join('\n');
}

// The Container Linux Config transpiler writes file contents as percent-escaped data URLs and modes in decimal.
const dataURL = (text: string) => `data:,${encodeURIComponent(text).replace(/'/g, '%27')}`;

export function cabpkWorkerIgnition(b: WorkerBootstrap): string {
  const script = [
    '#!/bin/bash',
    'set -e',
    '',
    'kubeadm join --config /etc/kubeadm.yml ',
    'mkdir -p /run/cluster-api && echo success > /run/cluster-api/bootstrap-success.complete',
    'mv /etc/kubeadm.yml /tmp/',
    '',
  ].join('\n');
  return JSON.stringify({
    ignition: { config: {}, security: { tls: {} }, timeouts: {}, version: '2.3.0' },
    networkd: {},
    passwd: { users: [{ name: 'capk', sshAuthorizedKeys: [b.sshAuthorizedKey ?? 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKvcloudtestkey capk'] }] },
    storage: {
      files: [
        { filesystem: 'root', path: '/etc/sudoers.d/capk', contents: { source: dataURL('capk ALL=(ALL) NOPASSWD:ALL\n'), verification: {} }, mode: 384 },
        { filesystem: 'root', path: '/etc/kubeadm.sh', contents: { source: dataURL(script), verification: {} }, mode: 448 },
        { filesystem: 'root', path: '/etc/kubeadm.yml', contents: { source: dataURL(`---\n${joinConfiguration(b)}\n`), verification: {} }, mode: 384 },
      ],
    },
    systemd: {
      units: [
        {
          contents:
            '[Unit]\nDescription=kubeadm\n# Run only once. After successful run, this file is moved to /tmp/.\nConditionPathExists=/etc/kubeadm.yml\nAfter=network.target\n[Service]\n# To not restart the unit when it exits, as it is expected.\nType=oneshot\nExecStart=/etc/kubeadm.sh\n[Install]\nWantedBy=multi-user.target\n',
          enabled: true,
          name: 'kubeadm.service',
        },
      ],
    },
  });
}

export interface ControlPlaneInit {
  clusterName: string;
  /** host:port, ClusterConfiguration.controlPlaneEndpoint. */
  endpoint: string;
  /** PEM pairs CABPK copies from the cluster's <cluster>-ca, -etcd, -proxy and -sa Secrets. */
  ca: { cert: string; key: string };
  etcdCA: { cert: string; key: string };
  frontProxyCA: { cert: string; key: string };
  serviceAccount: { pub: string; key: string };
  /** A bootstrap token created at init, for workers to join with. */
  token: string;
  kubernetesVersion: string;
}

/** CABPK's userdata for the first control-plane machine: the CA material, kubeadm.yaml, `kubeadm init`. */
export function cabpkControlPlaneInitCloudConfig(c: ControlPlaneInit): string {
  const file = (path: string, content: string, permissions: string) => [
    `-   path: ${path}`,
    '    owner: root:root',
    `    permissions: '${permissions}'`,
    '    content: |',
    indent(content.trimEnd(), 6),
  ];
  const kubeadmYaml = [
    'apiVersion: kubeadm.k8s.io/v1beta4',
    `clusterName: ${c.clusterName}`,
    `controlPlaneEndpoint: ${c.endpoint}`,
    'kind: ClusterConfiguration',
    `kubernetesVersion: ${c.kubernetesVersion}`,
    'networking:',
    '  podSubnet: 192.168.0.0/16',
    '---',
    'apiVersion: kubeadm.k8s.io/v1beta4',
    'bootstrapTokens:',
    '- groups:',
    '  - system:bootstrappers:kubeadm:default-node-token',
    `  token: ${c.token}`,
    '  ttl: 24h0m0s',
    '  usages: [signing, authentication]',
    'kind: InitConfiguration',
    'nodeRegistration:',
    '  imagePullPolicy: IfNotPresent',
    "  name: '{{ ds.meta_data.local_hostname }}'",
  ].join('\n');
  return [
    '## template: jinja',
    '#cloud-config',
    '',
    'write_files:',
    ...file('/etc/kubernetes/pki/ca.crt', c.ca.cert, '0640'),
    ...file('/etc/kubernetes/pki/ca.key', c.ca.key, '0600'),
    ...file('/etc/kubernetes/pki/etcd/ca.crt', c.etcdCA.cert, '0640'),
    ...file('/etc/kubernetes/pki/etcd/ca.key', c.etcdCA.key, '0600'),
    ...file('/etc/kubernetes/pki/front-proxy-ca.crt', c.frontProxyCA.cert, '0640'),
    ...file('/etc/kubernetes/pki/front-proxy-ca.key', c.frontProxyCA.key, '0600'),
    ...file('/etc/kubernetes/pki/sa.pub', c.serviceAccount.pub, '0640'),
    ...file('/etc/kubernetes/pki/sa.key', c.serviceAccount.key, '0600'),
    '-   path: /run/kubeadm/kubeadm.yaml',
    '    owner: root:root',
    "    permissions: '0640'",
    '    content: |',
    '      ---',
    indent(kubeadmYaml, 6),
    '-   path: /run/cluster-api/placeholder',
    '    owner: root:root',
    "    permissions: '0640'",
    '    content: "This placeholder file is used to create the /run/cluster-api sub directory in a way that is compatible with both Linux and Windows (mkdir -p /run/cluster-api does not work with Windows)"',
    'runcmd:',
    '  - kubeadm init --config /run/kubeadm/kubeadm.yaml  && echo success > /run/cluster-api/bootstrap-success.complete',
    '',
  ].join('\n');
}
