import { expect } from 'chai';
import { runSpecific, type Observable } from './observed-objects.js';
import { observeControlPlaneObjects, tenantRunSpecific } from './tenant-control-plane-objects.js';

const placeholders = tenantRunSpecific(runSpecific('acme'));

describe('observeControlPlaneObjects', () => {
  it('adds the TenantControlPlane spec and status as leaf paths, conditions by type without times or messages', () => {
    const tcp = {
      kind: 'TenantControlPlane',
      metadata: { name: 'acme', finalizers: ['kamaji.clastix.io/finalizer'] },
      spec: { networkProfile: { certSANs: ['acme.example'], port: 6443 } },
      status: {
        controlPlaneEndpoint: '10.255.255.1:6443',
        kubernetesResources: { deployment: { conditions: [{ type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', lastUpdateTime: '2026-12-08T02:00:00Z', message: 'ReplicaSet "acme-5d8f7c" ok' }] } },
      },
    } as unknown as Observable;
    const fields = observeControlPlaneObjects([tcp], placeholders).get('TenantControlPlane acme');
    expect(Object.fromEntries(fields ?? [])).to.include({
      finalizers: 'kamaji.clastix.io/finalizer',
      'spec.networkProfile.certSANs.0': 'acme.example',
      'spec.networkProfile.port': '6443',
      'status.controlPlaneEndpoint': '<ip>:6443',
      'status.kubernetesResources.deployment.conditions.Available': 'True (MinimumReplicasAvailable)',
    });
  });

  it("lists each container's flags by name, ports and mounts, so two operators' pods compare flag by flag", () => {
    const deployment = {
      kind: 'Deployment',
      metadata: { name: 'acme' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'acme' } },
        template: {
          spec: {
            containers: [
              {
                name: 'kube-apiserver',
                image: 'registry.k8s.io/kube-apiserver:v1.36.0',
                command: ['kube-apiserver'],
                args: ['--secure-port=6443', '--allow-privileged', 'positional'],
                ports: [{ name: 'https', containerPort: 6443 }],
                volumeMounts: [{ name: 'pki', mountPath: '/etc/kubernetes/pki', readOnly: true }],
              },
            ],
            volumes: [{ name: 'pki' }],
          },
        },
      },
    } as unknown as Observable;
    const fields = Object.fromEntries(observeControlPlaneObjects([deployment], placeholders).get('Deployment acme') ?? []);
    expect(fields).to.include({
      'spec.selector': 'matchLabels={"app":"acme"}',
      'pod containers': 'kube-apiserver',
      'container kube-apiserver arg --secure-port': '6443',
      'container kube-apiserver arg --allow-privileged': 'true',
      'container kube-apiserver arg #2': 'positional',
      'container kube-apiserver port https': '6443/TCP',
      'container kube-apiserver mount /etc/kubernetes/pki': 'pki (ro)',
    });
  });
});
