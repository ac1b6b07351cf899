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
    expect(flags).to.deep.include({ tenantKubeconfig: '/t/value', tenantManifests: '/m/tenant.yaml' });
  });

  const refused = [
    { name: 'tenant manifests without a tenant kubeconfig (the default one is the infra cluster)', argv: ['--run-node-service=false', '--infra-cluster-namespace=a', '--infra-cluster-labels=a=b', '--tenant-manifests=/m.yaml'], want: /--tenant-manifests needs --tenant-cluster-kubeconfig/ },
    { name: 'tenant manifests without the controller service', argv: ['--run-controller-service=false', '--node-id=a/vm', '--tenant-cluster-kubeconfig=/t', '--tenant-manifests=/m.yaml'], want: /--run-controller-service=false turns off/ },
    { name: 'a controller without its infra namespace', argv: ['--run-node-service=false', '--infra-cluster-labels=a=b'], want: /--infra-cluster-namespace is required/ },
    { name: 'a controller without tenant labels', argv: ['--run-node-service=false', '--infra-cluster-namespace=acme'], want: /--infra-cluster-labels is required/ },
    { name: 'a node plugin that cannot name its node', argv: ['--run-controller-service=false'], want: /--node-name \(or --node-id\) is required/ },
    { name: 'a registration socket without the node service', argv: ['--run-node-service=false', '--infra-cluster-namespace=a', '--infra-cluster-labels=a=b', '--registration-socket=/r.sock'], want: /--run-node-service=false turns off/ },
    { name: 'a boolean flag that is neither true nor false', argv: ['--run-node-service=maybe'], want: /"maybe" is not true or false/ },
    { name: 'an unknown flag', argv: ['--run-node-service=false', '--infra-cluster-namespace=a', '--infra-cluster-labels=a=b', '--bogus=1'], want: /Unknown option '--bogus'/ },
  ];
  for (const tc of refused) it(`refuses ${tc.name}`, () => expect(() => parseDriverFlags(tc.argv)).to.throw(tc.want));
});
