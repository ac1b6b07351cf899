// KamajiControlPlane (controlplane.cluster.x-k8s.io, short name ktcp) and KamajiControlPlaneTemplate (ktcpt): the
// Cluster API control plane kinds of cluster-api-control-plane-provider-kamaji, served as v1alpha1 and v1alpha2.
import { Type, type Static } from '@sinclair/typebox';
import type { ObjectMeta, TypeMeta } from '../../../lib/kube/object.js';
import { RootObjectMeta, StringMap } from '../../../lib/crd/kube-schemas.js';
import { KUBELET_DEFAULT_V1ALPHA1, KUBELET_DEFAULT_V1ALPHA2, kamajiControlPlaneFields } from './kamajicontrolplane-fields.js';
import { KamajiControlPlaneStatus } from './kamajicontrolplane-status.js';
import { supportedVersionRule } from './kubernetes-versions.js';
import { rule } from '../../../lib/crd/validation-rules.js';
import { DNS1035_LABEL } from '../../../lib/crd/dns-names.js';

export const KAMAJI_CONTROL_PLANE_GROUP = 'controlplane.cluster.x-k8s.io';
export const KAMAJI_CONTROL_PLANE_VERSIONS = ['v1alpha1', 'v1alpha2'] as const;
export type KamajiControlPlaneVersion = (typeof KAMAJI_CONTROL_PLANE_VERSIONS)[number];
/** The storage version and the one the controller reads and writes. */
export const KAMAJI_CONTROL_PLANE_API_VERSION = `${KAMAJI_CONTROL_PLANE_GROUP}/v1alpha2`;
export const KAMAJI_CONTROL_PLANE_KIND = 'KamajiControlPlane';
export const KAMAJI_CONTROL_PLANE_TYPE: TypeMeta = { apiVersion: KAMAJI_CONTROL_PLANE_API_VERSION, kind: KAMAJI_CONTROL_PLANE_KIND };
export const KAMAJI_CONTROL_PLANE_PLURAL = 'kamajicontrolplanes';
export const KAMAJI_CONTROL_PLANE_TEMPLATE_KIND = 'KamajiControlPlaneTemplate';
export const KAMAJI_CONTROL_PLANE_TEMPLATE_PLURAL = 'kamajicontrolplanetemplates';

// Upstream writes versions with or without the leading v (its samples say 1.27.0); CEL reads the numbers back.
const VERSION_REGEX = '^v?[0-9]+[.][0-9]+[.][0-9]+(-[0-9A-Za-z.-]+)?$';
const num = (v: string, i: number) => `int((${v}.startsWith('v') ? ${v}.substring(1) : ${v}).split('-')[0].split('.')[${String(i)}])`;
const notOlder =
  `${num('self', 0)} > ${num('oldSelf', 0)} || (${num('self', 0)} == ${num('oldSelf', 0)} && ` +
  `(${num('self', 1)} > ${num('oldSelf', 1)} || (${num('self', 1)} == ${num('oldSelf', 1)} && ${num('self', 2)} >= ${num('oldSelf', 2)})))`;

export const KubernetesVersion = Type.String({
  maxLength: 64,
  description: 'Desired Kubernetes version; an upgrade of several minors is walked one minor at a time.',
  'x-kubernetes-validations': [
    rule(`self.matches('${VERSION_REGEX}')`, 'spec.version must be a Kubernetes release such as v1.37.2'),
    supportedVersionRule('spec.version', VERSION_REGEX, num('self', 0), num('self', 1)),
    {
      rule: `!self.matches('${VERSION_REGEX}') || !oldSelf.matches('${VERSION_REGEX}') || ${notOlder}`,
      messageExpression: "'spec.version cannot be downgraded from ' + oldSelf + ' to ' + self + ': a control plane only moves to newer versions'",
      message: 'spec.version cannot be downgraded: a control plane only moves to newer versions',
    },
  ],
});

const APIEndpoint = Type.Object({
  host: Type.String({ maxLength: 512 }),
  port: Type.Integer({ format: 'int32', minimum: 0, maximum: 65535 }),
});

function specSchema(kubeletDefault: typeof KUBELET_DEFAULT_V1ALPHA2) {
  return Type.Object({
    ...kamajiControlPlaneFields(kubeletDefault),
    controlPlaneEndpoint: Type.Optional(APIEndpoint),
    replicas: Type.Optional(
      Type.Integer({ format: 'int32', minimum: 0, default: 2, description: '0 puts the tenant control plane to sleep.' }),
    ),
    version: KubernetesVersion,
  });
}

function rootSchema(kubeletDefault: typeof KUBELET_DEFAULT_V1ALPHA2) {
  return Type.Object(
    {
      apiVersion: Type.Optional(Type.String()),
      kind: Type.Optional(Type.String()),
      metadata: Type.Optional(RootObjectMeta),
      spec: specSchema(kubeletDefault),
      status: Type.Optional(KamajiControlPlaneStatus),
    },
    {
      'x-kubernetes-validations': [
        // The TenantControlPlane created for it has the same name, which must be a DNS-1035 label.
        rule(
          `size(self.metadata.name) <= 63 && self.metadata.name.matches('${DNS1035_LABEL}')`,
          'metadata.name of a KamajiControlPlane must be a DNS-1035 label (lowercase letters, digits and -, starting with a letter, at most 63 characters): its TenantControlPlane has the same name',
        ),
      ],
    },
  );
}

function templateSchema(kubeletDefault: typeof KUBELET_DEFAULT_V1ALPHA2) {
  return Type.Object({
    apiVersion: Type.Optional(Type.String()),
    kind: Type.Optional(Type.String()),
    metadata: Type.Optional(RootObjectMeta),
    spec: Type.Object({
      template: Type.Object({
        metadata: Type.Optional(Type.Object({ labels: Type.Optional(StringMap()), annotations: Type.Optional(StringMap()) })),
        spec: Type.Object(kamajiControlPlaneFields(kubeletDefault)),
      }),
    }),
  });
}

export const KamajiControlPlaneSchemaV1Alpha1 = rootSchema(KUBELET_DEFAULT_V1ALPHA1);
export const KamajiControlPlaneSchemaV1Alpha2 = rootSchema(KUBELET_DEFAULT_V1ALPHA2);
export const KamajiControlPlaneTemplateSchemaV1Alpha1 = templateSchema(KUBELET_DEFAULT_V1ALPHA1);
export const KamajiControlPlaneTemplateSchemaV1Alpha2 = templateSchema(KUBELET_DEFAULT_V1ALPHA2);

export type KamajiControlPlaneSpec = Static<ReturnType<typeof specSchema>>;
export type KamajiControlPlaneTemplateSpec = Static<ReturnType<typeof templateSchema>>['spec'];

export interface KamajiControlPlane {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec: KamajiControlPlaneSpec;
  status?: KamajiControlPlaneStatus;
}

export interface KamajiControlPlaneTemplate {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec: KamajiControlPlaneTemplateSpec;
}
