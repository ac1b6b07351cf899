// CRDs of KamajiControlPlane and KamajiControlPlaneTemplate. Both versions are served with conversion strategy None:
// their specs have the same fields and the one status schema holds both versions' fields (kamajicontrolplane-status.ts),
// so no conversion webhook is needed; only the kubelet default and the Initialized column differ per version.
import { ageColumn, type CRDSpec, type PrinterColumn } from '../../../lib/crd/crd.js';
import {
  KAMAJI_CONTROL_PLANE_GROUP,
  KAMAJI_CONTROL_PLANE_KIND,
  KAMAJI_CONTROL_PLANE_PLURAL,
  KAMAJI_CONTROL_PLANE_TEMPLATE_KIND,
  KAMAJI_CONTROL_PLANE_TEMPLATE_PLURAL,
  KamajiControlPlaneSchemaV1Alpha1,
  KamajiControlPlaneSchemaV1Alpha2,
  KamajiControlPlaneTemplateSchemaV1Alpha1,
  KamajiControlPlaneTemplateSchemaV1Alpha2,
} from './kamajicontrolplane.js';

// Cluster API picks the newest version listed for the contract it speaks: v1beta2 readers get v1alpha2.
const CONTRACT_LABELS = { 'cluster.x-k8s.io/v1beta1': 'v1alpha1_v1alpha2', 'cluster.x-k8s.io/v1beta2': 'v1alpha2' };
const CATEGORIES = ['cluster-api', 'kamaji'];
const SCALE = { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' };

function columns(initializedPath: string): PrinterColumn[] {
  return [
    { name: 'Version', type: 'string', jsonPath: '.spec.version', description: 'The desired Kubernetes version' },
    { name: 'Initialized', type: 'boolean', jsonPath: initializedPath, description: 'Check if the Kamaji Control Plane has been initialized' },
    { name: 'Ready', type: 'boolean', jsonPath: '.status.ready', description: 'Check if the Kamaji Control Plane is up and running' },
    ageColumn('Age'),
  ];
}

export const kamajiControlPlaneCRD: CRDSpec = {
  group: KAMAJI_CONTROL_PLANE_GROUP,
  kind: KAMAJI_CONTROL_PLANE_KIND,
  plural: KAMAJI_CONTROL_PLANE_PLURAL,
  shortNames: ['ktcp'],
  categories: CATEGORIES,
  scope: 'Namespaced',
  labels: CONTRACT_LABELS,
  versions: [
    {
      name: 'v1alpha1',
      storage: false,
      schema: KamajiControlPlaneSchemaV1Alpha1,
      subresources: { status: true, scale: SCALE },
      printerColumns: columns('.status.initialized'),
    },
    {
      name: 'v1alpha2',
      storage: true,
      schema: KamajiControlPlaneSchemaV1Alpha2,
      subresources: { status: true, scale: SCALE },
      printerColumns: columns('.status.initialization.controlPlaneInitialized'),
    },
  ],
};

export const kamajiControlPlaneTemplateCRD: CRDSpec = {
  group: KAMAJI_CONTROL_PLANE_GROUP,
  kind: KAMAJI_CONTROL_PLANE_TEMPLATE_KIND,
  plural: KAMAJI_CONTROL_PLANE_TEMPLATE_PLURAL,
  shortNames: ['ktcpt'],
  categories: CATEGORIES,
  scope: 'Namespaced',
  labels: CONTRACT_LABELS,
  versions: [
    { name: 'v1alpha1', storage: false, schema: KamajiControlPlaneTemplateSchemaV1Alpha1 },
    { name: 'v1alpha2', storage: true, schema: KamajiControlPlaneTemplateSchemaV1Alpha2 },
  ],
};

export const kamajiControlPlaneCRDs: readonly CRDSpec[] = [kamajiControlPlaneCRD, kamajiControlPlaneTemplateCRD];
