// One tenant's whole PKI set as the operator generates it (CAs, leaves, the service-account key pair and the
// kubeconfigs), from the operator's own builders: what the PKI suite checks with openssl and a real kube-apiserver,
// and what bench/tenant-pki.ts times per key algorithm.
import { certificatePem } from '../../lib/pki/x509.js';
import {
  buildAdminKubeconfigs,
  buildControllerManagerKubeconfig,
  buildKonnectivityKubeconfig,
  buildSchedulerKubeconfig,
  type KubeconfigTarget,
} from '../../providers/controlplane/kubeconfig/index.js';
import {
  API_SERVER,
  API_SERVER_KUBELET_CLIENT,
  apiServerSANs,
  buildClusterCA,
  buildFrontProxyCA,
  buildLeaf,
  buildServiceAccountKeyPair,
  CA_SECRET,
  FRONT_PROXY_CA_SECRET,
  FRONT_PROXY_CLIENT,
  KONNECTIVITY,
  loadCA,
  type PKIOptions,
  type SecretData,
} from '../../providers/controlplane/pki/index.js';

/** Every certificate and key of one tenant, as the operator generates them. */
export async function tenantPKI(opts: PKIOptions, apiPort: number) {
  const caData = await buildClusterCA(opts);
  const ca = await loadCA(caData, CA_SECRET);
  const frontProxyCAData = await buildFrontProxyCA(opts);
  const frontProxyCA = await loadCA(frontProxyCAData, FRONT_PROXY_CA_SECRET);
  const sans = apiServerSANs({
    name: 'acme',
    namespace: 'tenants',
    clusterDomain: 'cluster.local',
    serviceCIDRs: ['10.96.0.0/16'],
    endpointAddresses: ['127.0.0.1'],
    certSANs: ['api.acme.example'],
  });
  const target: KubeconfigTarget = { tenant: 'acme', namespace: 'tenants', port: apiPort, endpointHost: '127.0.0.1', endpointPort: apiPort };
  const konnectivity = await buildLeaf(KONNECTIVITY, ca, opts);
  return {
    ca,
    sans,
    secrets: {
      ca: caData,
      'front-proxy-ca-certificate': frontProxyCAData,
      'api-server-certificate': await buildLeaf(API_SERVER, ca, opts, sans),
      'api-server-kubelet-client-certificate': await buildLeaf(API_SERVER_KUBELET_CLIENT, ca, opts),
      'front-proxy-client-certificate': await buildLeaf(FRONT_PROXY_CLIENT, frontProxyCA, opts),
      'konnectivity-certificate': konnectivity,
      'sa-certificate': await buildServiceAccountKeyPair(opts),
      'admin-kubeconfig': await buildAdminKubeconfigs(target, ca, opts),
      'controller-manager-kubeconfig': await buildControllerManagerKubeconfig(target, ca, opts),
      'scheduler-kubeconfig': await buildSchedulerKubeconfig(target, ca, opts),
      'konnectivity-kubeconfig': buildKonnectivityKubeconfig(target, certificatePem(ca.cert), konnectivity),
    } as Record<string, SecretData>,
  };
}
