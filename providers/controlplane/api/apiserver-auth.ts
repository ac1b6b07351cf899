// The tenant apiserver's structured authentication and authorization (apiserver.config.k8s.io/v1
// AuthenticationConfiguration and AuthorizationConfiguration) as first-class fields, with upstream's JSON names.
// The operator renders them into files passed with --authentication-config / --authorization-config; the rules
// here refuse at admission what kube-apiserver would refuse at startup, so a mistake never becomes a crash loop.
import { Type, type Static } from '@sinclair/typebox';
import { rule, type ValidationRule } from '../../../lib/crd/validation-rules.js';
import { DNS1123_LABEL } from '../../../lib/crd/dns-names.js';

const CEL_EXPRESSION = Type.String({ minLength: 1, maxLength: 4096 });
const httpsURL = (field: string) =>
  Type.String({
    minLength: 1,
    maxLength: 2048,
    'x-kubernetes-validations': [
      rule("self.startsWith('https://') && isURL(self)", `${field} must be an https:// URL: kube-apiserver only fetches keys over TLS`),
    ],
  });

// --- AuthenticationConfiguration --------------------------------------------------------------------------------

const jwtIssuer = (p: string) => Type.Object(
  {
    url: httpsURL(`${p}.url`),
    discoveryURL: Type.Optional(httpsURL(`${p}.discoveryURL`)),
    certificateAuthority: Type.Optional(
      Type.String({
        maxLength: 65536,
        description: 'PEM CA bundle that verifies the issuer (and discoveryURL) serving certificate; the system roots when empty.',
        'x-kubernetes-validations': [rule("self == '' || self.contains('-----BEGIN CERTIFICATE-----')", `${p}.certificateAuthority must be PEM certificates`)],
      }),
    ),
    audiences: Type.Array(Type.String({ minLength: 1, maxLength: 1024 }), { minItems: 1, maxItems: 32, 'x-kubernetes-list-type': 'set' }),
    audienceMatchPolicy: Type.Optional(Type.Literal('MatchAny')),
  },
  {
    'x-kubernetes-validations': [
      rule('!has(self.discoveryURL) || self.discoveryURL != self.url', `${p}.discoveryURL must differ from url (leave it unset to discover at url)`),
      rule(
        "size(self.audiences) < 2 || (has(self.audienceMatchPolicy) && self.audienceMatchPolicy == 'MatchAny')",
        `${p}.audienceMatchPolicy must be MatchAny when more than one audience is listed`,
      ),
    ],
  },
);

const claimValidationRule = (p: string) => Type.Object(
  {
    claim: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    requiredValue: Type.Optional(Type.String({ maxLength: 1024 })),
    expression: Type.Optional(CEL_EXPRESSION),
    message: Type.Optional(Type.String({ maxLength: 1024 })),
  },
  {
    'x-kubernetes-validations': [
      rule('has(self.claim) != has(self.expression)', `${p} sets exactly one of claim (with requiredValue) or expression (with message)`),
      rule('!has(self.requiredValue) || has(self.claim)', `${p}.requiredValue goes with claim, not with expression`),
      rule('!has(self.message) || has(self.expression)', `${p}.message goes with expression, not with claim`),
    ],
  },
);

const claimMappings = (p: string) => Type.Object({
  username: Type.Object(
    {
      claim: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
      prefix: Type.Optional(Type.String({ maxLength: 256 })),
      expression: Type.Optional(CEL_EXPRESSION),
    },
    {
      'x-kubernetes-validations': [
        rule('has(self.claim) != has(self.expression)', `${p}.username sets exactly one of claim or expression`),
        rule('!has(self.claim) || has(self.prefix)', `${p}.username.prefix is required with claim (use "" for no prefix)`),
        rule('!has(self.prefix) || has(self.claim)', `${p}.username.prefix goes with claim; an expression builds the whole name`),
      ],
    },
  ),
  groups: Type.Optional(
    Type.Object(
      {
        claim: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
        prefix: Type.Optional(Type.String({ maxLength: 256 })),
        expression: Type.Optional(CEL_EXPRESSION),
      },
      {
        'x-kubernetes-validations': [
          rule('!(has(self.claim) && has(self.expression))', `${p}.groups sets claim or expression, not both`),
          rule('!has(self.prefix) || has(self.claim)', `${p}.groups.prefix goes with claim; an expression builds the whole names`),
        ],
      },
    ),
  ),
  uid: Type.Optional(
    Type.Object(
      { claim: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })), expression: Type.Optional(CEL_EXPRESSION) },
      { 'x-kubernetes-validations': [rule('!(has(self.claim) && has(self.expression))', `${p}.uid sets claim or expression, not both`)] },
    ),
  ),
  extra: Type.Optional(
    Type.Array(
      Type.Object({
        key: Type.String({
          minLength: 1,
          maxLength: 512,
          'x-kubernetes-validations': [
            rule("self.matches('^[a-z0-9]([-a-z0-9.]*[a-z0-9])?/[a-z0-9._~/-]*$')", `${p}.extra[].key must be a lowercase domain-prefixed path, e.g. example.org/team`),
          ],
        }),
        valueExpression: CEL_EXPRESSION,
      }),
      { maxItems: 32, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['key'] },
    ),
  ),
});

const UserValidationRule = Type.Object({ expression: CEL_EXPRESSION, message: Type.Optional(Type.String({ maxLength: 1024 })) });

const jwtAuthenticator = (p: string) =>
  Type.Object({
    issuer: jwtIssuer(`${p}.issuer`),
    claimValidationRules: Type.Optional(Type.Array(claimValidationRule(`${p}.claimValidationRules[]`), { maxItems: 32 })),
    claimMappings: claimMappings(`${p}.claimMappings`),
    userValidationRules: Type.Optional(Type.Array(UserValidationRule, { maxItems: 32 })),
  });

/** The schema at `path` (spec.kubernetes.authentication, spec.apiServer.authentication): messages name the field there. */
export const authenticationSchema = (path: string) => Type.Object(
  {
    jwt: Type.Optional(
      Type.Array(jwtAuthenticator(`${path}.jwt[]`), {
        maxItems: 16,
        'x-kubernetes-validations': [rule('self.all(a, self.exists_one(b, b.issuer.url == a.issuer.url))', `${path}.jwt[].issuer.url must be unique`)],
      }),
    ),
    anonymous: Type.Optional(
      Type.Object({
        enabled: Type.Boolean(),
        conditions: Type.Optional(
          Type.Array(Type.Object({ path: Type.String({ minLength: 1, maxLength: 1024 }) }), {
            maxItems: 32,
            'x-kubernetes-list-type': 'map',
            'x-kubernetes-list-map-keys': ['path'],
          }),
        ),
      }, {
        'x-kubernetes-validations': [rule('self.enabled || !has(self.conditions) || size(self.conditions) == 0', `${path}.anonymous.conditions apply only when enabled`)],
      }),
    ),
  },
  {
    description:
      'The tenant apiserver\'s AuthenticationConfiguration (apiserver.config.k8s.io/v1) without apiVersion/kind: JWT issuers and anonymous ' +
      'access. Rendered to a file passed with --authentication-config; client certificates, bootstrap tokens and ServiceAccount tokens keep working.',
  },
);
export type AuthenticationSpec = Static<ReturnType<typeof authenticationSchema>>;

// --- AuthorizationConfiguration ---------------------------------------------------------------------------------

export const AUTHORIZER_TYPES = ['Node', 'RBAC', 'Webhook', 'AlwaysAllow', 'AlwaysDeny'] as const;

/** The tenant's kubelets need Node, and kubeadm, the operator's admin kubeconfig and the bootstrap flow need RBAC. */
export const REQUIRED_AUTHORIZERS = ['Node', 'RBAC'] as const;

const duration = (field: string, max?: string) =>
  Type.String({
    maxLength: 32,
    'x-kubernetes-validations': [
      rule(
        `self.matches('^([0-9]+(\\\\.[0-9]+)?(ns|us|ms|s|m|h))+$') && duration(self) > duration('0s')${max ? ` && duration(self) <= duration('${max}')` : ''}`,
        `${field} must be a positive duration such as 3s or 5m0s${max ? ` (at most ${max})` : ''}`,
      ),
    ],
  });

const webhookAuthorizer = (p: string) => Type.Object({
  timeout: duration(`${p}.timeout`, '30s'),
  authorizedTTL: Type.Optional({ ...duration(`${p}.authorizedTTL`), default: '5m0s' }),
  unauthorizedTTL: Type.Optional({ ...duration(`${p}.unauthorizedTTL`), default: '30s' }),
  subjectAccessReviewVersion: Type.Union([Type.Literal('v1'), Type.Literal('v1beta1')]),
  matchConditionSubjectAccessReviewVersion: Type.Literal('v1'),
  failurePolicy: Type.Union([Type.Literal('NoOpinion'), Type.Literal('Deny')]),
  connectionInfo: Type.Object({
    type: Type.Literal('KubeConfigFile', {
      description:
        'Only KubeConfigFile: the apiserver pod runs in the management cluster without a ServiceAccount token, so InClusterConfig has nothing to use.',
    }),
    kubeConfigSecretRef: Type.Object(
      {
        name: Type.String({ minLength: 1, maxLength: 253 }),
        key: Type.Optional(Type.String({ minLength: 1, maxLength: 253, default: 'kubeconfig' })),
      },
      {
        description:
          'Replaces upstream\'s kubeConfigFile: a Secret in the TenantControlPlane\'s namespace holding the webhook kubeconfig, mounted into the ' +
          'apiserver pod and passed as kubeConfigFile. Certificates in it must be inline (certificate-authority-data, client-certificate-data).',
      },
    ),
  }),
  matchConditions: Type.Optional(Type.Array(Type.Object({ expression: CEL_EXPRESSION }), { maxItems: 64 })),
});

const authorizer = (p: string) => Type.Object(
  {
    type: Type.Union(AUTHORIZER_TYPES.map((t) => Type.Literal(t))),
    name: Type.String({
      minLength: 1,
      maxLength: 63,
      'x-kubernetes-validations': [rule(`self.matches('${DNS1123_LABEL}')`, `${p}.name must be a DNS label (lowercase letters, digits, -)`)],
    }),
    webhook: Type.Optional(webhookAuthorizer(`${p}.webhook`)),
  },
  {
    'x-kubernetes-validations': [
      rule("(self.type == 'Webhook') == has(self.webhook)", `${p}.webhook is required for type Webhook and allowed only there`),
    ],
  },
);

/** The schema at `path` (spec.kubernetes.authorization, spec.apiServer.authorization): messages name the field there. */
export const authorizationSchema = (path: string) => Type.Object(
  {
    authorizers: Type.Array(authorizer(`${path}.authorizers[]`), {
      minItems: 1,
      maxItems: 16,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['name'],
      'x-kubernetes-validations': [
        rule(
          REQUIRED_AUTHORIZERS.map((t) => `self.exists_one(a, a.type == '${t}')`).join(' && '),
          `${path}.authorizers must list Node and RBAC exactly once each: the tenant's kubelets are authorized by Node, kubeadm and the operator by RBAC`,
        ),
      ],
    }),
  },
  {
    description:
      'The tenant apiserver\'s AuthorizationConfiguration (apiserver.config.k8s.io/v1) without apiVersion/kind: authorizers asked in order. ' +
      'Rendered to a file passed with --authorization-config instead of --authorization-mode=Node,RBAC.',
  },
);
export type AuthorizationSpec = Static<ReturnType<typeof authorizationSchema>>;

// --- extraArgs that contradict the structured configuration ----------------------------------------------------

const anyFlag = (args: string, names: readonly string[]) => `${args}.exists(a, ${names.map((n) => `a.startsWith('--${n}')`).join(' || ')})`;

export interface StructuredAuthPaths {
  /** CEL paths, relative to the node carrying the rules, of the authentication and authorization fields. */
  authn: string;
  authz: string;
  /** CEL path of the apiserver extraArgs list, and the CEL condition that it is present (each parent checked). */
  args: string;
  argsPresent: string;
  /** The extraArgs field as users write it, and as a fieldPath relative to the node carrying the rules. */
  argsName: string;
  fieldPath: string;
}

/** Refuses apiserver extraArgs that kube-apiserver rejects next to --authentication-config / --authorization-config. */
export function structuredAuthFlagRules(p: StructuredAuthPaths): ValidationRule[] {
  const opts = { fieldPath: p.fieldPath };
  return [
    rule(
      `!has(${p.authn}) || !(${p.argsPresent}) || !${anyFlag(p.args, ['oidc-', 'authentication-config'])}`,
      `${p.argsName} cannot set --oidc-* or --authentication-config together with the structured authentication: move OIDC issuers into its jwt list`,
      opts,
    ),
    rule(
      `!has(${p.authn}) || !has(${p.authn}.anonymous) || !(${p.argsPresent}) || !${anyFlag(p.args, ['anonymous-auth'])}`,
      `${p.argsName} cannot set --anonymous-auth when the structured authentication sets anonymous: keep one of them`,
      opts,
    ),
    rule(
      `!has(${p.authz}) || !(${p.argsPresent}) || ` +
        `!${anyFlag(p.args, ['authorization-mode', 'authorization-webhook-', 'authorization-policy-file', 'authorization-config'])}`,
      `${p.argsName} cannot set --authorization-mode, --authorization-webhook-*, --authorization-policy-file or --authorization-config ` +
        'together with the structured authorization: list the authorizers there instead',
      opts,
    ),
  ];
}
