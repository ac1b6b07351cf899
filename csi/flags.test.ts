import { expect } from 'chai';
import { parseDriverFlags } from './flags.js';

describe('csi/flags', () => {
  it("runs kubevirt/csi-driver's controller command line unchanged", () => {
    const flags = parseDriverFlags(['--endpoint=unix:///csi/csi.sock', '--infra-cluster-namespace=acme', '--infra-cluster-labels=csi-driver/tenant=acme', '--run-node-service=false', '--volume-prefix=pvc'], { KVCLOUD_CACHE: '/c' });
    expect(flags).to.deep.include({ endpoint: 'unix:///csi/csi.sock', runControllerService: true, runNodeService: false, infraNamespace: 'acme', infraLabels: { 'csi-driver/tenant': 'acme' }, csiProto: '/c/bin/csi-spec-v1.13.0/csi.proto' });
  });

  it('runs the node plugin alone with a node name or an explicit node ID', () => {
    expect(parseDriverFlags(['--run-controller-service=false', '--node-name=worker-1']).nodeName).to.equal('worker-1');
    expect(parseDriverFlags(['--run-controller-service=false', '--node-id=acme/vm']).nodeId).to.equal('acme/vm');
  });

  it('registers the node plugin with the kubelet itself when given a registration socket', () => {
    const flags = parseDriverFlags(['--run-controller-service=false', '--node-id=acme/vm', '--registration-socket=/registry/csi.kubevirt.io-reg.sock'], { KVCLOUD_CACHE: '/c' });
    expect(flags).to.deep.include({ registrationSocket: '/registry/csi.kubevirt.io-reg.sock', kubeletRegistrationPath: undefined, registrationProto: '/c/bin/csi-registration-v0.37.2/api.proto' });
  });

  it('applies the tenant objects only with the tenant kubeconfig it names', () => {
    const flags = parseDriverFlags(['--run-node-service=false', '--infra-cluster-namespace=a', '--infra-cluster-labels=a=b', '--tenant-cluster-kubeconfig=/t/value', '--tenant-manifests=/m/tenant.yaml']);
    expect(flags).to.deep.include({ tenantKubeconfig: '/t/value', tenantManifests: '/m/tenant.yaml', tenantSnapshotCrds: false });
  });

  it('applies the VolumeSnapshot CRDs shipped beside the program only when asked, or those --snapshot-crds names', () => {
    const controller = ['--run-node-service=false', '--infra-cluster-namespace=a', '--infra-cluster-labels=a=b', '--tenant-cluster-kubeconfig=/t/value'];
    expect(parseDriverFlags([...controller, '--tenant-snapshot-crds=true'], { KVCLOUD_CACHE: '/c' })).to.deep.include({ tenantSnapshotCrds: true, snapshotCrds: '/c/bin/csi-snapshotter-v8.7.0/crds.yaml' });
    expect(parseDriverFlags([...controller, '--tenant-snapshot-crds=true', '--snapshot-crds=/s/crds.yaml'])).to.deep.include({ tenantSnapshotCrds: true, snapshotCrds: '/s/crds.yaml' });
  });

  it('tells the tenant\'s VMs by its Cluster name, and serves metrics only where told', () => {
    const controller = ['--run-node-service=false', '--infra-cluster-namespace=shared', '--infra-cluster-labels=csi-driver/cluster=acme'];
    expect(parseDriverFlags([...controller, '--cluster-name=acme', '--metrics-bind-address=127.0.0.1:0'])).to.deep.include({ clusterName: 'acme', metricsBindAddress: '127.0.0.1:0' });
    expect(parseDriverFlags(controller)).to.deep.include({ clusterName: undefined, metricsBindAddress: '0' });
  });

  it('keeps the sidecars\' kubeconfig where told, and does the tenant side once with --setup-only', () => {
    const controller = ['--run-node-service=false', '--infra-cluster-namespace=a', '--infra-cluster-labels=a=b', '--tenant-cluster-kubeconfig=/t/value'];
    expect(parseDriverFlags([...controller, '--sidecar-kubeconfig-dir=/s', '--setup-only=true'])).to.deep.include({ sidecarKubeconfigDir: '/s', setupOnly: true });
    expect(parseDriverFlags(controller)).to.deep.include({ sidecarKubeconfigDir: undefined, setupOnly: false });
    // snapshot-controller's Pod: a process that only keeps its kubeconfig, for its own ServiceAccount.
    const keeper = parseDriverFlags(['--run-node-service=false', '--run-controller-service=false', '--tenant-cluster-kubeconfig=/t/value', '--sidecar-kubeconfig-dir=/s', '--sidecar-service-account=kubevirt-csi-driver/kubevirt-csi-snapshot-controller-sa']);
    expect(keeper.sidecarServiceAccount).to.deep.equal({ namespace: 'kubevirt-csi-driver', name: 'kubevirt-csi-snapshot-controller-sa' });
    expect(parseDriverFlags(controller).sidecarServiceAccount).to.deep.equal({ namespace: 'kubevirt-csi-driver', name: 'kubevirt-csi-controller-sa' });
    // The init container's setup runs no controller service, so it needs no infra namespace or labels.
    expect(parseDriverFlags(['--run-node-service=false', '--tenant-cluster-kubeconfig=/t/value', '--sidecar-kubeconfig-dir=/s', '--setup-only=true'])).to.deep.include({ setupOnly: true, infraNamespace: undefined });
  });

  it('places volumes by zone only with --topology, a controller flag', () => {
    const controller = ['--run-node-service=false', '--infra-cluster-namespace=a', '--infra-cluster-labels=a=b'];
    expect(parseDriverFlags([...controller, '--topology=true']).topology).to.equal(true);
    expect(parseDriverFlags(controller).topology).to.equal(false);
  });

  const refused = [
    { name: 'topology without the controller service', argv: ['--run-controller-service=false', '--node-name=worker-1', '--topology=true'], want: /--topology places volumes in zones, which the controller service does/ },
    { name: 'a sidecar kubeconfig without a tenant kubeconfig (the default one is the infra cluster)', argv: ['--run-node-service=false', '--infra-cluster-namespace=a', '--infra-cluster-labels=a=b', '--sidecar-kubeconfig-dir=/s'], want: /--sidecar-kubeconfig-dir needs --tenant-cluster-kubeconfig/ },
    { name: 'a sidecar kubeconfig kept by the node plugin', argv: ['--run-controller-service=false', '--node-id=a/vm', '--tenant-cluster-kubeconfig=/t', '--sidecar-kubeconfig-dir=/s'], want: /not the node plugin/ },
    { name: 'a sidecar ServiceAccount that is not <namespace>/<name>', argv: ['--run-node-service=false', '--run-controller-service=false', '--tenant-cluster-kubeconfig=/t', '--sidecar-kubeconfig-dir=/s', '--sidecar-service-account=sa'], want: /"sa" is not <namespace>\/<name>/ },
    { name: 'a setup with nothing to set up', argv: ['--run-node-service=false', '--infra-cluster-namespace=a', '--infra-cluster-labels=a=b', '--setup-only=true'], want: /--setup-only has nothing to do/ },
    { name: 'an empty cluster name (no VM would be the tenant\'s)', argv: ['--run-node-service=false', '--infra-cluster-namespace=a', '--infra-cluster-labels=a=b', '--cluster-name='], want: /--cluster-name: empty/ },
    { name: 'tenant manifests without a tenant kubeconfig (the default one is the infra cluster)', argv: ['--run-node-service=false', '--infra-cluster-namespace=a', '--infra-cluster-labels=a=b', '--tenant-manifests=/m.yaml'], want: /--tenant-manifests needs --tenant-cluster-kubeconfig/ },
    { name: 'tenant manifests without the controller service', argv: ['--run-controller-service=false', '--node-id=a/vm', '--tenant-cluster-kubeconfig=/t', '--tenant-manifests=/m.yaml'], want: /--run-controller-service=false turns off/ },
    { name: 'snapshot CRDs without a tenant kubeconfig', argv: ['--run-node-service=false', '--infra-cluster-namespace=a', '--infra-cluster-labels=a=b', '--tenant-snapshot-crds=true'], want: /--tenant-snapshot-crds needs --tenant-cluster-kubeconfig/ },
    { name: 'snapshot CRDs without the controller service', argv: ['--run-controller-service=false', '--node-id=a/vm', '--tenant-cluster-kubeconfig=/t', '--tenant-snapshot-crds=true'], want: /--tenant-snapshot-crds is applied by the controller service/ },
    { name: 'a controller without its infra namespace', argv: ['--run-node-service=false', '--infra-cluster-labels=a=b'], want: /--infra-cluster-namespace is required/ },
    { name: 'a controller without tenant labels', argv: ['--run-node-service=false', '--infra-cluster-namespace=acme'], want: /--infra-cluster-labels is required/ },
    { name: 'a node plugin that cannot name its node', argv: ['--run-controller-service=false'], want: /--node-name \(or --node-id\) is required/ },
    { name: 'a registration socket without the node service', argv: ['--run-node-service=false', '--infra-cluster-namespace=a', '--infra-cluster-labels=a=b', '--registration-socket=/r.sock'], want: /--run-node-service=false turns off/ },
    { name: 'a boolean flag that is neither true nor false', argv: ['--run-node-service=maybe'], want: /"maybe" is not true or false/ },
    { name: 'an unknown flag', argv: ['--run-node-service=false', '--infra-cluster-namespace=a', '--infra-cluster-labels=a=b', '--bogus=1'], want: /Unknown option '--bogus'/ },
  ];
  for (const tc of refused) it(`refuses ${tc.name}`, () => expect(() => parseDriverFlags(tc.argv)).to.throw(tc.want));
});
