import { expect } from 'chai';
import type { V1VolumeProjection } from '@kubernetes/client-node';
import type { AuthenticationSpec, AuthorizationSpec } from '../api/apiserver-auth.js';
import { AUTHENTICATION_CONFIG_ANNOTATION, AUTHORIZATION_CONFIG_ANNOTATION } from '../api/labels.js';
import { buildDeployment } from './deployment.js';
import { renderFlags } from './flags.js';
import {
  authenticationConfiguration,
  authorizationConfiguration,
  structuredAuthAnnotations,
  structuredAuthVolume,
  withStructuredAuthFlags,
} from './structured-auth.js';
import type { TenantControlPlane } from '../api/index.js';
import { DEPLOYMENT_INPUTS } from './deployment-inputs.testdata.js';

const authentication: AuthenticationSpec = {
  jwt: [
    {
      issuer: { url: 'https://issuer.example', certificateAuthority: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n', audiences: ['acme'] },
      claimValidationRules: [{ expression: "claims.hd == 'example.org'", message: 'wrong domain' }],
      claimMappings: { username: { claim: 'sub', prefix: 'oidc:' }, groups: { claim: 'groups', prefix: 'oidc:' } },
    },
  ],
};

const webhook = {
  timeout: '3s',
  authorizedTTL: '5m0s',
  unauthorizedTTL: '30s',
  subjectAccessReviewVersion: 'v1' as const,
  matchConditionSubjectAccessReviewVersion: 'v1' as const,
  failurePolicy: 'NoOpinion' as const,
  connectionInfo: { type: 'KubeConfigFile' as const, kubeConfigSecretRef: { name: 'policy-webhook', key: 'config' } },
  matchConditions: [{ expression: "request.user.startsWith('oidc:')" }],
};

const authorization: AuthorizationSpec = {
  authorizers: [
    { type: 'Node', name: 'node' },
    { type: 'Webhook', name: 'policy', webhook },
    { type: 'RBAC', name: 'rbac' },
  ],
};

describe('management/structured-auth', () => {
  it('renders the AuthenticationConfiguration with its apiVersion and kind and the spec fields unchanged', () => {
    expect(authenticationConfiguration(authentication)).to.deep.equal({
      apiVersion: 'apiserver.config.k8s.io/v1',
      kind: 'AuthenticationConfiguration',
      jwt: authentication.jwt,
    });
  });

  it('renders jwt as an empty list when only anonymous access is configured, as the v1 schema requires it', () => {
    const doc = authenticationConfiguration({ anonymous: { enabled: true, conditions: [{ path: '/livez' }] } });
    expect(doc).to.deep.equal({
      apiVersion: 'apiserver.config.k8s.io/v1',
      kind: 'AuthenticationConfiguration',
      jwt: [],
      anonymous: { enabled: true, conditions: [{ path: '/livez' }] },
    });
  });

  it('keeps the authorizers in order and turns a webhook Secret reference into the kubeConfigFile the volume projects', () => {
    const { connectionInfo: _, ...rest } = webhook;
    expect(authorizationConfiguration(authorization)).to.deep.equal({
      apiVersion: 'apiserver.config.k8s.io/v1',
      kind: 'AuthorizationConfiguration',
      authorizers: [
        { type: 'Node', name: 'node' },
        { type: 'Webhook', name: 'policy', webhook: { ...rest, connectionInfo: { type: 'KubeConfigFile', kubeConfigFile: '/etc/kubernetes/apiserver-auth/webhooks/policy.kubeconfig' } } },
        { type: 'RBAC', name: 'rbac' },
      ],
    });
  });

  const flagCases = [
    { name: 'neither field keeps --authorization-mode', auth: {}, has: ['--authorization-mode=Node,RBAC'], hasNot: ['--authentication-config', '--authorization-config'] },
    {
      name: 'authentication adds --authentication-config and keeps --authorization-mode',
      auth: { authentication },
      has: ['--authentication-config=/etc/kubernetes/apiserver-auth/authentication-configuration.json', '--authorization-mode=Node,RBAC'],
      hasNot: ['--authorization-config'],
    },
    {
      name: 'authorization replaces --authorization-mode with --authorization-config',
      auth: { authorization },
      has: ['--authorization-config=/etc/kubernetes/apiserver-auth/authorization-configuration.json'],
      hasNot: ['--authorization-mode', '--authentication-config'],
    },
  ];
  for (const tc of flagCases) {
    it(`flags: ${tc.name}`, () => {
      const rendered = renderFlags(withStructuredAuthFlags(new Map([['authorization-mode', 'Node,RBAC']]), tc.auth));
      for (const f of tc.has) expect(rendered).to.include(f);
      for (const f of tc.hasNot) expect(rendered.some((r) => r.startsWith(f)), f).to.equal(false);
    });
  }

  const volumeCases: { name: string; auth: Parameters<typeof structuredAuthVolume>[0]; sources: V1VolumeProjection[] | undefined }[] = [
    { name: 'no volume without either field', auth: {}, sources: undefined },
    {
      name: 'the authentication document from its annotation',
      auth: { authentication },
      sources: [
        { downwardAPI: { items: [{ path: 'authentication-configuration.json', fieldRef: { apiVersion: 'v1', fieldPath: `metadata.annotations['${AUTHENTICATION_CONFIG_ANNOTATION}']` } }] } },
      ],
    },
    {
      name: 'both documents and each webhook kubeconfig from its Secret key',
      auth: { authentication, authorization },
      sources: [
        { downwardAPI: { items: [{ path: 'authentication-configuration.json', fieldRef: { apiVersion: 'v1', fieldPath: `metadata.annotations['${AUTHENTICATION_CONFIG_ANNOTATION}']` } }] } },
        { downwardAPI: { items: [{ path: 'authorization-configuration.json', fieldRef: { apiVersion: 'v1', fieldPath: `metadata.annotations['${AUTHORIZATION_CONFIG_ANNOTATION}']` } }] } },
        { secret: { name: 'policy-webhook', items: [{ key: 'config', path: 'webhooks/policy.kubeconfig' }] } },
      ],
    },
  ];
  for (const tc of volumeCases) {
    it(`volume: ${tc.name}`, () => {
      expect(structuredAuthVolume(tc.auth)?.volume.projected?.sources).to.deep.equal(tc.sources);
    });
  }

  it('defaults a webhook Secret key to kubeconfig', () => {
    const ref = { name: 'w' };
    const v = structuredAuthVolume({ authorization: { authorizers: [{ type: 'Webhook', name: 'w', webhook: { ...webhook, connectionInfo: { type: 'KubeConfigFile', kubeConfigSecretRef: ref } } }] } });
    expect(v?.volume.projected?.sources?.[1]).to.deep.equal({ secret: { name: 'w', items: [{ key: 'kubeconfig', path: 'webhooks/w.kubeconfig' }] } });
  });

  it('annotates only what is configured, with the exact JSON the apiserver reads', () => {
    expect(structuredAuthAnnotations({})).to.deep.equal({});
    const a = structuredAuthAnnotations({ authorization });
    expect(Object.keys(a)).to.deep.equal([AUTHORIZATION_CONFIG_ANNOTATION]);
    expect(JSON.parse(a[AUTHORIZATION_CONFIG_ANNOTATION] ?? '')).to.deep.equal(authorizationConfiguration(authorization));
  });
});

describe('management/deployment with structured authentication and authorization', () => {
  const inputs = DEPLOYMENT_INPUTS;
  const tcp = (kubernetes: Partial<TenantControlPlane['spec']['kubernetes']>): TenantControlPlane => ({
    apiVersion: 'kamaji.clastix.io/v1alpha1',
    kind: 'TenantControlPlane',
    metadata: { name: 'acme', namespace: 'tenants' },
    spec: {
      controlPlane: { service: { serviceType: 'LoadBalancer' }, deployment: { podAdditionalMetadata: { annotations: { [AUTHENTICATION_CONFIG_ANNOTATION]: 'user value' } } } },
      kubernetes: { version: 'v1.37.2', kubelet: {}, ...kubernetes },
    },
  });

  it('mounts the configuration into the apiserver only, and its annotation wins over a user annotation of the same key', () => {
    const d = buildDeployment(tcp({ authentication, authorization }), inputs);
    const pod = d.spec?.template;
    const [api, kcm, scheduler] = pod?.spec?.containers ?? [];
    expect(api?.volumeMounts).to.deep.include({ name: 'apiserver-auth-config', mountPath: '/etc/kubernetes/apiserver-auth', readOnly: true, recursiveReadOnly: 'IfPossible' });
    for (const c of [kcm, scheduler]) expect(c?.volumeMounts?.some((m) => m.name === 'apiserver-auth-config')).to.equal(false);
    expect(pod?.spec?.volumes?.filter((v) => v.name === 'apiserver-auth-config')).to.have.length(1);
    expect(pod?.metadata?.annotations?.[AUTHENTICATION_CONFIG_ANNOTATION]).to.equal(JSON.stringify(authenticationConfiguration(authentication)));
    expect(api?.args).to.include('--authorization-config=/etc/kubernetes/apiserver-auth/authorization-configuration.json');
    expect(api?.args?.some((a) => a.startsWith('--authorization-mode'))).to.equal(false);
  });

  it('changes the pod template when the configuration changes, so the pods roll onto it', () => {
    const before = buildDeployment(tcp({ authentication }), inputs).spec?.template;
    const changed = structuredClone(authentication);
    for (const j of changed.jwt ?? []) j.issuer.audiences = ['other'];
    const after = buildDeployment(tcp({ authentication: changed }), inputs).spec?.template;
    expect(after?.metadata?.annotations?.[AUTHENTICATION_CONFIG_ANNOTATION]).to.not.equal(before?.metadata?.annotations?.[AUTHENTICATION_CONFIG_ANNOTATION]);
  });

  it('leaves the pod untouched without either field', () => {
    const d = buildDeployment(tcp({}), inputs);
    expect(d.spec?.template.spec?.volumes?.some((v) => v.name === 'apiserver-auth-config')).to.equal(false);
    expect(d.spec?.template.spec?.containers[0]?.args).to.include('--authorization-mode=Node,RBAC');
  });
});
