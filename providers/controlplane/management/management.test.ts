import { expect } from 'chai';
import { CHECKSUM_ANNOTATION } from '../api/labels.js';
import { buildDeployment, DEFAULT_ADMISSION_CONTROLLERS, type DeploymentInputs } from './deployment.js';
import { addressInCIDR, dnsServiceIPs, kubernetesServiceIP } from './network.js';
import { buildService, endpointAddress, joinHostPort, type Service } from './service.js';
import type { TenantControlPlane } from '../api/index.js';
import { DEPLOYMENT_INPUTS } from './deployment-inputs.testdata.js';

function tcp(patch: (t: TenantControlPlane) => void = () => undefined): TenantControlPlane {
  const t: TenantControlPlane = {
    apiVersion: 'kamaji.clastix.io/v1alpha1',
    kind: 'TenantControlPlane',
    metadata: { name: 'acme', namespace: 'tenants' },
    spec: { controlPlane: { service: { serviceType: 'LoadBalancer' } }, kubernetes: { version: 'v1.37.2', kubelet: {} } },
  };
  patch(t);
  return t;
}

const inputs = DEPLOYMENT_INPUTS;

function args(t: TenantControlPlane, container: string, extra: Partial<DeploymentInputs> = {}): string[] {
  const d = buildDeployment(t, { ...inputs, ...extra });
  const c = d.spec?.template.spec?.containers.find((x) => x.name === container);
  if (!c) throw new Error(`no container ${container}`);
  return c.args ?? [];
}

describe('management/network', () => {
  const cases = [
    { name: 'IPv4 /16 tenth address', cidr: '10.96.0.0/16', offset: 10, want: '10.96.0.10' },
    { name: 'IPv4 with host bits set', cidr: '10.96.3.7/16', offset: 1, want: '10.96.0.1' },
    { name: 'IPv6 /64', cidr: '2001:db8:abcd::/64', offset: 10, want: '2001:db8:abcd::a' },
    { name: 'IPv6 /112', cidr: 'fd00:10:96::/112', offset: 1, want: 'fd00:10:96::1' },
  ];
  for (const tc of cases) it(`computes ${tc.name}`, () => expect(addressInCIDR(tc.cidr, tc.offset)).to.equal(tc.want));
  it('refuses a value that is no CIDR', () => expect(() => addressInCIDR('10.0.0.1', 1)).to.throw(/is not a CIDR/));

  it('defaults the DNS and kubernetes Service IPs from the first Service CIDR', () => {
    expect(dnsServiceIPs(undefined)).to.deep.equal(['10.95.0.10']);
    expect(dnsServiceIPs({ serviceCidrs: ['10.100.0.0/16', 'fd00::/108'] })).to.deep.equal(['10.100.0.10']);
    expect(dnsServiceIPs({ dnsServiceIPs: ['10.100.0.53'] })).to.deep.equal(['10.100.0.53']);
    expect(kubernetesServiceIP({ serviceCidr: '' })).to.equal('10.95.0.1');
  });
});

describe('management/service', () => {
  const cases: { name: string; tcp: TenantControlPlane; check: (s: Service) => void }[] = [
    {
      name: 'exposes the apiserver port 6443 by default with the tenant selector',
      tcp: tcp((t) => (t.spec.controlPlane.service.serviceType = 'ClusterIP')),
      check: (s) => {
        expect(s.metadata.name).to.equal('acme');
        expect(s.spec?.type).to.equal('ClusterIP');
        expect(s.spec?.selector).to.deep.equal({ 'kamaji.clastix.io/name': 'acme' });
        expect(s.spec?.ports).to.deep.equal([{ name: 'kube-apiserver', protocol: 'TCP', port: 6443, targetPort: 6443 }]);
        expect(s.spec?.loadBalancerClass).to.equal(undefined);
      },
    },
    {
      name: 'uses networkProfile.port as the Service port and the apiserver port behind it',
      tcp: tcp((t) => (t.spec.networkProfile = { port: 443 })),
      check: (s) => expect(s.spec?.ports?.[0]).to.include({ port: 443, targetPort: 443 }),
    },
    {
      name: 'carries loadBalancerClass, source ranges and the requested address for LoadBalancer',
      tcp: tcp((t) => (t.spec.networkProfile = { address: '10.255.255.9', loadBalancerClass: 'kvcloud.io/lb', loadBalancerSourceRanges: ['10.0.0.0/8'] })),
      check: (s) => {
        expect(s.spec?.type).to.equal('LoadBalancer');
        expect(s.spec?.loadBalancerClass).to.equal('kvcloud.io/lb');
        expect(s.spec?.loadBalancerSourceRanges).to.deep.equal(['10.0.0.0/8']);
        expect(s.spec?.loadBalancerIP).to.equal('10.255.255.9');
      },
    },
    {
      name: 'adds the konnectivity port and additional ports',
      tcp: tcp((t) => {
        t.spec.addons = { konnectivity: { server: { port: 8132 } } };
        t.spec.controlPlane.service.additionalPorts = [{ name: 'metrics', port: 9000, targetPort: 'metrics' }];
      }),
      check: (s) =>
        expect(s.spec?.ports?.map((p) => [p.name, p.port, p.targetPort])).to.deep.equal([
          ['kube-apiserver', 6443, 6443],
          ['konnectivity-server', 8132, 8132],
          ['metrics', 9000, 'metrics'],
        ]),
    },
    {
      name: 'puts the address in externalIPs for NodePort when allowed',
      tcp: tcp((t) => {
        t.spec.controlPlane.service.serviceType = 'NodePort';
        t.spec.networkProfile = { address: '192.0.2.10', allowAddressAsExternalIP: true };
      }),
      check: (s) => {
        expect(s.spec?.externalIPs).to.deep.equal(['192.0.2.10']);
        expect(s.spec?.loadBalancerIP).to.equal(undefined);
      },
    },
  ];
  for (const tc of cases) it(tc.name, () => { tc.check(buildService(tc.tcp)); });

  it('takes the endpoint from the address, else the LB ingress, else the ClusterIP', () => {
    const lb: Service = { metadata: {}, spec: { clusterIP: '10.96.4.4' }, status: { loadBalancer: { ingress: [{ ip: '10.255.255.3' }] } } };
    expect(endpointAddress(tcp((t) => (t.spec.networkProfile = { address: '1.2.3.4' })), lb)).to.equal('1.2.3.4');
    expect(endpointAddress(tcp(), lb)).to.equal('10.255.255.3');
    expect(endpointAddress(tcp(), { metadata: {}, spec: {} })).to.equal(undefined);
    expect(endpointAddress(tcp((t) => (t.spec.controlPlane.service.serviceType = 'ClusterIP')), lb)).to.equal('10.96.4.4');
    expect(joinHostPort('fd00::1', 6443)).to.equal('[fd00::1]:6443');
  });
});

describe('management/deployment', () => {
  it('runs apiserver, controller-manager and scheduler from registry.k8s.io at the spec version', () => {
    const d = buildDeployment(tcp(), inputs);
    const containers = d.spec?.template.spec?.containers ?? [];
    expect(containers.map((c) => [c.name, c.image, c.command?.[0]])).to.deep.equal([
      ['kube-apiserver', 'registry.k8s.io/kube-apiserver:v1.37.2', 'kube-apiserver'],
      ['kube-controller-manager', 'registry.k8s.io/kube-controller-manager:v1.37.2', 'kube-controller-manager'],
      ['kube-scheduler', 'registry.k8s.io/kube-scheduler:v1.37.2', 'kube-scheduler'],
    ]);
    expect(d.spec?.replicas).to.equal(2);
    expect(d.spec?.selector.matchLabels).to.deep.equal({ 'kamaji.clastix.io/name': 'acme' });
  });

  it('honours registrySettings', () => {
    const t = tcp((x) => (x.spec.controlPlane.deployment = { registrySettings: { registry: 'mirror.local/k8s', apiServerImage: 'apiserver', tagSuffix: '-fips' } }));
    const images = buildDeployment(t, inputs).spec?.template.spec?.containers.map((c) => c.image);
    expect(images).to.deep.equal(['mirror.local/k8s/apiserver:v1.37.2-fips', 'mirror.local/k8s/kube-controller-manager:v1.37.2-fips', 'mirror.local/k8s/kube-scheduler:v1.37.2-fips']);
  });

  const flagCases: { name: string; t: TenantControlPlane; container: string; want: string[]; absent?: string[] }[] = [
    {
      name: 'apiserver: etcd, RBAC+Node, bootstrap tokens, certs and CIDRs',
      t: tcp(),
      container: 'kube-apiserver',
      want: [
        '--etcd-servers=https://10.0.0.5:2379',
        '--etcd-prefix=/tenants_acme/',
        '--etcd-certfile=/etc/kubernetes/pki/etcd/server.crt',
        '--authorization-mode=Node,RBAC',
        '--enable-bootstrap-token-auth=true',
        '--client-ca-file=/etc/kubernetes/pki/ca.crt',
        '--tls-cert-file=/etc/kubernetes/pki/apiserver.crt',
        '--service-cluster-ip-range=10.95.0.0/16',
        '--advertise-address=10.255.255.10',
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--enable-admission-plugins=${DEFAULT_ADMISSION_CONTROLLERS.join(',')}`,
        '--secure-port=6443',
        '--shutdown-delay-duration=5s',
      ],
      absent: ['--egress-selector-config-file'],
    },
    {
      name: 'apiserver: admission controllers, CIDRs and preferred address types from the spec',
      t: tcp((x) => {
        x.spec.kubernetes.admissionControllers = ['NamespaceLifecycle', 'ServiceAccount'];
        x.spec.kubernetes.kubelet = { preferredAddressTypes: ['Hostname', 'InternalIP'] };
        x.spec.networkProfile = { serviceCidrs: ['10.100.0.0/16', 'fd00:100::/108'], clusterDomain: 'acme.local' };
      }),
      container: 'kube-apiserver',
      want: [
        '--enable-admission-plugins=NamespaceLifecycle,ServiceAccount',
        '--kubelet-preferred-address-types=Hostname,InternalIP',
        '--service-cluster-ip-range=10.100.0.0/16,fd00:100::/108',
        '--service-account-issuer=https://kubernetes.default.svc.acme.local',
      ],
    },
    {
      name: 'apiserver: extraArgs replace a generated flag instead of repeating it',
      t: tcp((x) => (x.spec.controlPlane.deployment = { extraArgs: { apiServer: ['--authorization-mode=RBAC', '--v=4', '--profiling'] } })),
      container: 'kube-apiserver',
      want: ['--authorization-mode=RBAC', '--v=4', '--profiling'],
      absent: ['--authorization-mode=Node,RBAC'],
    },
    {
      name: 'apiserver: the shutdown delay that keeps a rolling update from refusing connections can be overridden',
      t: tcp((x) => (x.spec.controlPlane.deployment = { extraArgs: { apiServer: ['--shutdown-delay-duration=15s'] } })),
      container: 'kube-apiserver',
      want: ['--shutdown-delay-duration=15s'],
      absent: ['--shutdown-delay-duration=5s'],
    },
    {
      name: 'controller-manager: bootstrapsigner and tokencleaner, signing CA, pod CIDR',
      t: tcp((x) => (x.spec.networkProfile = { podCidr: '10.50.0.0/16' })),
      container: 'kube-controller-manager',
      want: [
        '--controllers=*,bootstrapsigner,tokencleaner',
        '--cluster-signing-cert-file=/etc/kubernetes/pki/ca.crt',
        '--cluster-signing-key-file=/etc/kubernetes/pki/ca.key',
        '--cluster-cidr=10.50.0.0/16',
        '--kubeconfig=/etc/kubernetes/controller-manager/controller-manager.conf',
        '--use-service-account-credentials=true',
        '--cluster-name=acme',
      ],
    },
    {
      name: 'scheduler: its kubeconfig and leader election',
      t: tcp((x) => (x.spec.controlPlane.deployment = { extraArgs: { scheduler: ['--v=2'] } })),
      container: 'kube-scheduler',
      want: ['--kubeconfig=/etc/kubernetes/scheduler/scheduler.conf', '--leader-elect=true', '--v=2'],
    },
  ];
  for (const tc of flagCases) {
    it(tc.name, () => {
      const a = args(tc.t, tc.container);
      expect(a).to.include.members(tc.want);
      for (const flag of tc.absent ?? []) expect(a.some((x) => x.startsWith(flag))).to.equal(false, `${flag} should be absent`);
      expect(a).to.deep.equal([...a].sort(), 'flags render sorted so the template is stable');
    });
  }

  it('probes the apiserver over HTTPS on /livez and /readyz and the others on /healthz', () => {
    const [api, kcm, sched] = buildDeployment(tcp(), inputs).spec?.template.spec?.containers ?? [];
    expect(api?.livenessProbe?.httpGet).to.deep.include({ path: '/livez', scheme: 'HTTPS', port: 6443 });
    expect(api?.readinessProbe?.httpGet).to.deep.include({ path: '/readyz', scheme: 'HTTPS', port: 6443 });
    expect(kcm?.livenessProbe?.httpGet).to.deep.include({ path: '/healthz', scheme: 'HTTPS', port: 10257 });
    expect(sched?.livenessProbe?.httpGet).to.deep.include({ path: '/healthz', scheme: 'HTTPS', port: 10259 });
  });

  it('tunes the probes from spec.controlPlane.deployment.probes, every component first, then its own', () => {
    const t = tcp((x) => (x.spec.controlPlane.deployment = { probes: { readiness: { failureThreshold: 5 }, liveness: { timeoutSeconds: 20 }, scheduler: { liveness: { timeoutSeconds: 30 } } } }));
    const [api, kcm, sched] = buildDeployment(t, inputs).spec?.template.spec?.containers ?? [];
    expect(api?.readinessProbe).to.deep.include({ failureThreshold: 5, periodSeconds: 1, timeoutSeconds: 15 });
    expect([api, kcm, sched].map((c) => c?.livenessProbe?.timeoutSeconds)).to.deep.equal([20, 20, 30]);
  });

  it('puts the Secrets checksum on the pod template so a rotation rolls the pods', () => {
    const a = buildDeployment(tcp(), inputs).spec?.template.metadata?.annotations;
    const b = buildDeployment(tcp(), { ...inputs, secretsChecksum: 'def456' }).spec?.template.metadata?.annotations;
    expect(a?.[CHECKSUM_ANNOTATION]).to.equal('abc123');
    expect(b?.[CHECKSUM_ANNOTATION]).to.equal('def456');
  });

  it('mounts every certificate from its Secret, the datastore client cert under pki/etcd', () => {
    const pki = buildDeployment(tcp(), inputs).spec?.template.spec?.volumes?.find((v) => v.name === 'pki');
    const paths = (pki?.projected?.sources ?? []).flatMap((s) => (s.secret?.items ?? []).map((i) => `${s.secret?.name ?? ''}:${i.path}`));
    expect(paths).to.include.members([
      'acme-ca:ca.crt',
      'acme-ca:ca.key',
      'acme-api-server-certificate:apiserver.key',
      'acme-sa-certificate:sa.pub',
      'acme-datastore-certificate:etcd/server.crt',
      'acme-front-proxy-ca-certificate:front-proxy-ca.crt',
    ]);
    expect(paths).not.to.include('acme-front-proxy-ca-certificate:front-proxy-ca.key');
  });

  it('applies per-component resources and additional containers and volumes', () => {
    const t = tcp((x) => {
      x.spec.controlPlane.deployment = {
        replicas: 1,
        resources: { apiServer: { requests: { cpu: '250m' } } },
        additionalContainers: [{ name: 'sidecar', image: 'busybox' }],
        additionalVolumes: [{ name: 'extra', emptyDir: {} }],
        additionalVolumeMounts: { scheduler: [{ name: 'extra', mountPath: '/extra' }] },
      };
    });
    const spec = buildDeployment(t, inputs).spec;
    expect(spec?.replicas).to.equal(1);
    expect(spec?.template.spec?.containers[0]?.resources).to.deep.equal({ requests: { cpu: '250m' } });
    expect(spec?.template.spec?.containers.map((c) => c.name)).to.include('sidecar');
    expect(spec?.template.spec?.volumes?.map((v) => v.name)).to.include('extra');
    expect(spec?.template.spec?.containers[2]?.volumeMounts?.map((m) => m.mountPath)).to.include('/extra');
  });

  it('adds the konnectivity server sidecar and egress selector when the addon is on', () => {
    const t = tcp((x) => (x.spec.addons = { konnectivity: { server: { port: 8132 } } }));
    const d = buildDeployment(t, inputs);
    const names = d.spec?.template.spec?.containers.map((c) => c.name);
    expect(names).to.deep.equal(['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'konnectivity-server']);
    const k = d.spec?.template.spec?.containers[3];
    expect(k?.image).to.equal('registry.k8s.io/kas-network-proxy/proxy-server:v0.36.0');
    expect(k?.args).to.include.members(['--agent-port=8132', '--uds-name=/run/konnectivity/konnectivity-server.socket', '--mode=grpc', '--server-count=2']);
    expect(args(t, 'kube-apiserver')).to.include('--egress-selector-config-file=/etc/kubernetes/egress-selector/egress-selector-configuration.yaml');
    expect(() => buildDeployment(t, { ...inputs, egressSelectorConfigMap: undefined })).to.throw(/egress selector/);
  });

  it('tells the konnectivity server how many replicas there are, so each agent connects to every one of them', () => {
    const three = tcp((x) => {
      x.spec.addons = { konnectivity: { server: { port: 8132 } } };
      x.spec.controlPlane.deployment = { replicas: 3 };
    });
    const d = buildDeployment(three, inputs);
    expect(d.spec?.replicas).to.equal(3);
    expect(d.spec?.template.spec?.containers.find((c) => c.name === 'konnectivity-server')?.args).to.include('--server-count=3');
  });
});
