// The DeploymentInputs the management builder tests share: a tenant "acme" with Kamaji's Secret names, on one etcd,
// with the Konnectivity kubeconfig and egress selector ready for tests that enable the addon.
import type { DeploymentInputs } from './deployment.js';

export const DEPLOYMENT_INPUTS: DeploymentInputs = {
  secrets: {
    ca: 'acme-ca',
    apiServer: 'acme-api-server-certificate',
    apiServerKubeletClient: 'acme-api-server-kubelet-client-certificate',
    frontProxyCA: 'acme-front-proxy-ca-certificate',
    frontProxyClient: 'acme-front-proxy-client-certificate',
    serviceAccount: 'acme-sa-certificate',
    dataStoreCertificate: 'acme-datastore-certificate',
    controllerManagerKubeconfig: 'acme-controller-manager-kubeconfig',
    schedulerKubeconfig: 'acme-scheduler-kubeconfig',
    konnectivityKubeconfig: 'acme-konnectivity-kubeconfig',
  },
  secretsChecksum: 'abc123',
  etcdServers: ['https://10.0.0.5:2379'],
  etcdPrefix: '/tenants_acme/',
  advertiseAddress: '10.255.255.10',
  egressSelectorConfigMap: 'acme-konnectivity-egress-selector-configuration',
};
