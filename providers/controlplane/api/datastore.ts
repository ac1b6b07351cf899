// DataStore (kamaji.clastix.io/v1alpha1, cluster-scoped): a shared backing store for tenant control planes.
// Field names and CEL rules are Kamaji's; kvcloud runs the etcd driver and refuses the kine-based drivers for now.
import { Type, type Static } from '@sinclair/typebox';
import type { ObjectMeta } from '../../../lib/kube/object.js';
import { RootObjectMeta } from '../../../lib/crd/kube-schemas.js';
import { ConditionSchema } from '../../../lib/crd/kube-schemas.js';
import { rule } from '../../../lib/crd/validation-rules.js';
import { unsupportedMessage } from './validation.js';

export const DRIVERS = ['etcd', 'MySQL', 'PostgreSQL', 'NATS'] as const;
export type Driver = (typeof DRIVERS)[number];
/** The drivers this release of kvcloud runs; the others are refused at admission, never accepted and ignored. */
export const SUPPORTED_DRIVERS: readonly Driver[] = ['etcd'];

export const SecretReference = Type.Object(
  {
    name: Type.Optional(Type.String({ description: 'Name of the Secret.' })),
    namespace: Type.Optional(Type.String({ description: 'Namespace of the Secret.' })),
    keyPath: Type.String({ minLength: 1, description: 'Key of the Secret holding the content.' }),
  },
  {
    'x-kubernetes-map-type': 'atomic',
    'x-kubernetes-validations': [
      rule("has(self.name) && self.name != ''", 'secretReference.name is required: the Secret the content is read from', { fieldPath: '.name' }),
      rule(
        "has(self.namespace) && self.namespace != ''",
        'secretReference.namespace is required: a DataStore is cluster-scoped, so the Secret namespace must be explicit',
        { fieldPath: '.namespace' },
      ),
    ],
  },
);
export type SecretReference = Static<typeof SecretReference>;

/** Bare content (base64 in JSON) or a reference to a Secret key; the content wins when both are set. */
export const ContentRef = Type.Object(
  {
    content: Type.Optional(Type.String({ format: 'byte', description: 'Bare content of the file, base64 encoded.' })),
    secretReference: Type.Optional(SecretReference),
  },
);
export type ContentRef = Static<typeof ContentRef>;

const contentOrReference = (path: string) =>
  rule('has(self.content) || has(self.secretReference)', `${path} needs either content or secretReference`);

const CertKeyPair = Type.Object({
  certificate: Type.Object(ContentRef.properties, { 'x-kubernetes-validations': [contentOrReference('certificate')] }),
  privateKey: Type.Optional(Type.Object(ContentRef.properties, { 'x-kubernetes-validations': [contentOrReference('privateKey')] })),
});

const ClientCertificate = Type.Object({
  certificate: Type.Object(ContentRef.properties, { 'x-kubernetes-validations': [contentOrReference('certificate')] }),
  privateKey: Type.Object(ContentRef.properties, { 'x-kubernetes-validations': [contentOrReference('privateKey')] }),
});

export const TLSConfig = Type.Object({
  certificateAuthority: CertKeyPair,
  clientCertificate: Type.Optional(ClientCertificate),
});
export type TLSConfig = Static<typeof TLSConfig>;

export const BasicAuth = Type.Object({ username: ContentRef, password: ContentRef });
export type BasicAuth = Static<typeof BasicAuth>;

const notEtcd = 'self.driver != "etcd"';

export const DataStoreSpec = Type.Object(
  {
    driver: Type.Union(
      DRIVERS.map((d) => Type.Literal(d)),
      {
        description: 'The driver used to connect to the shared datastore.',
        'x-kubernetes-validations': [
          rule('self == oldSelf', 'Datastore driver is immutable'),
          rule(
            `self in [${SUPPORTED_DRIVERS.map((d) => `'${d}'`).join(', ')}]`,
            unsupportedMessage('the spec.driver value', `only ${SUPPORTED_DRIVERS.join(', ')} DataStores are implemented (kine drivers come later)`),
          ),
        ],
      },
    ),
    endpoints: Type.Array(Type.String({ maxLength: 256, minLength: 1 }), {
      minItems: 1,
      maxItems: 64,
      description: 'Endpoints of the shared datastore, bare host:port without a scheme.',
      'x-kubernetes-validations': [
        rule("self.all(e, e.startsWith('[') || e.split(':').size() <= 2)", 'an IPv6 endpoint address must be bracketed, e.g. [2001:db8::1]:2379'),
        rule("self.all(e, !e.contains('://'))", 'spec.endpoints entries are host:port without a scheme (no http:// or https://)'),
        rule("self.all(e, e.matches('^.+:[0-9]{1,5}$'))", 'spec.endpoints entries need a port, e.g. etcd-0.etcd.svc:2379'),
      ],
    }),
    basicAuth: Type.Optional(BasicAuth),
    tlsConfig: Type.Optional(TLSConfig),
  },
  {
    'x-kubernetes-validations': [
      rule(
        '(self.driver == "etcd") ? (has(self.tlsConfig) && has(self.tlsConfig.certificateAuthority.privateKey) && (has(self.tlsConfig.certificateAuthority.privateKey.secretReference) || has(self.tlsConfig.certificateAuthority.privateKey.content))) : true',
        'certificateAuthority privateKey must have secretReference or content when driver is etcd',
      ),
      rule(
        '(self.driver == "etcd") ? (has(self.tlsConfig) && has(self.tlsConfig.clientCertificate) && (has(self.tlsConfig.clientCertificate.certificate.secretReference) || has(self.tlsConfig.clientCertificate.certificate.content))) : true',
        'clientCertificate must have secretReference or content when driver is etcd',
      ),
      rule(
        '(self.driver == "etcd") ? (has(self.tlsConfig) && has(self.tlsConfig.clientCertificate) && (has(self.tlsConfig.clientCertificate.privateKey.secretReference) || has(self.tlsConfig.clientCertificate.privateKey.content))) : true',
        'clientCertificate privateKey must have secretReference or content when driver is etcd',
      ),
      rule(
        `(${notEtcd} && has(self.tlsConfig) && has(self.tlsConfig.clientCertificate)) ? (has(self.tlsConfig.clientCertificate.certificate.secretReference) || has(self.tlsConfig.clientCertificate.certificate.content)) : true`,
        'When driver is not etcd and tlsConfig exists, clientCertificate must be null or contain valid content',
      ),
      rule(
        `(${notEtcd} && has(self.basicAuth)) ? (has(self.basicAuth.username.secretReference) || has(self.basicAuth.username.content)) : true`,
        'When driver is not etcd and basicAuth exists, username must have secretReference or content',
      ),
      rule(
        `(${notEtcd} && has(self.basicAuth)) ? (has(self.basicAuth.password.secretReference) || has(self.basicAuth.password.content)) : true`,
        'When driver is not etcd and basicAuth exists, password must have secretReference or content',
      ),
      rule(`(${notEtcd}) ? (has(self.tlsConfig) || has(self.basicAuth)) : true`, 'When driver is not etcd, either tlsConfig or basicAuth must be provided'),
      rule(
        '!has(self.basicAuth) || self.driver != "etcd"',
        unsupportedMessage('spec.basicAuth with the etcd driver', 'tenants authenticate to etcd with client certificates kvcloud issues'),
        { fieldPath: '.basicAuth' },
      ),
    ],
  },
);
export type DataStoreSpec = Static<typeof DataStoreSpec>;

export const DataStoreStatus = Type.Object({
  conditions: Type.Optional(Type.Array(ConditionSchema, { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] })),
  observedGeneration: Type.Optional(Type.Integer({ format: 'int64' })),
  ready: Type.Optional(Type.Boolean({ description: 'The DataStore is validated and ready to be used.' })),
  usedBy: Type.Optional(Type.Array(Type.String(), { description: 'namespace/name of the TenantControlPlanes using this DataStore.' })),
});
export type DataStoreStatus = Static<typeof DataStoreStatus>;

export const DataStoreSchema = Type.Object({
  apiVersion: Type.Optional(Type.String()),
  kind: Type.Optional(Type.String()),
  metadata: Type.Optional(RootObjectMeta),
  spec: DataStoreSpec,
  status: Type.Optional(DataStoreStatus),
});

export interface DataStore {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec: DataStoreSpec;
  status?: DataStoreStatus;
}
