// The control plane provider's CRDs (kamaji.clastix.io, controlplane.cluster.x-k8s.io), as `make generate` renders them.
import { ageColumn, type CRDSpec } from '../../../lib/crd/crd.js';
import { DataStoreSchema } from './datastore.js';
import { kamajiControlPlaneCRDs } from './kamajicontrolplane-crds.js';
import { DATASTORE_KIND, DATASTORE_PLURAL, GROUP, TENANT_CONTROL_PLANE_KIND, TENANT_CONTROL_PLANE_PLURAL, VERSION } from './groupversion.js';
import { TenantControlPlaneSchema } from './tenantcontrolplane.js';

// The Cluster API contract label every kvcloud CRD carries (ARCHITECTURE.md), naming the served version.
const CONTRACT_LABELS = { 'cluster.x-k8s.io/v1beta2': VERSION };

export const tenantControlPlaneCRD: CRDSpec = {
  group: GROUP,
  kind: TENANT_CONTROL_PLANE_KIND,
  plural: TENANT_CONTROL_PLANE_PLURAL,
  shortNames: ['tcp'],
  categories: ['kamaji'],
  scope: 'Namespaced',
  labels: CONTRACT_LABELS,
  versions: [
    {
      name: VERSION,
      schema: TenantControlPlaneSchema,
      subresources: {
        status: true,
        scale: {
          specReplicasPath: '.spec.controlPlane.deployment.replicas',
          statusReplicasPath: '.status.kubernetesResources.deployment.replicas',
          labelSelectorPath: '.status.kubernetesResources.deployment.selector',
        },
      },
      printerColumns: [
        { name: 'Version', type: 'string', jsonPath: '.spec.kubernetes.version', description: 'Kubernetes version' },
        { name: 'Installed Version', type: 'string', jsonPath: '.status.kubernetesResources.version.version', description: 'The installed Kubernetes version' },
        { name: 'Status', type: 'string', jsonPath: '.status.kubernetesResources.version.status', description: 'Status' },
        { name: 'Control-Plane endpoint', type: 'string', jsonPath: '.status.controlPlaneEndpoint', description: 'Tenant Control Plane Endpoint (API server)' },
        { name: 'Kubeconfig', type: 'string', jsonPath: '.status.kubeconfig.admin.secretName', description: 'Secret which contains admin kubeconfig' },
        { name: 'Datastore', type: 'string', jsonPath: '.status.storage.dataStoreName', description: 'DataStore actually used' },
        ageColumn('Age'),
      ],
    },
  ],
};

export const dataStoreCRD: CRDSpec = {
  group: GROUP,
  kind: DATASTORE_KIND,
  plural: DATASTORE_PLURAL,
  scope: 'Cluster',
  labels: CONTRACT_LABELS,
  versions: [
    {
      name: VERSION,
      schema: DataStoreSchema,
      subresources: { status: true },
      printerColumns: [
        { name: 'Driver', type: 'string', jsonPath: '.spec.driver', description: 'Kamaji data store driver' },
        { name: 'Ready', type: 'boolean', jsonPath: '.status.ready', description: 'DataStore validated and ready for use' },
        ageColumn('Age'),
      ],
    },
  ],
};

export const controlPlaneCRDs: readonly CRDSpec[] = [tenantControlPlaneCRD, dataStoreCRD, ...kamajiControlPlaneCRDs];
