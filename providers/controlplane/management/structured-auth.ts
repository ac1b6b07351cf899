// The tenant apiserver's structured authentication and authorization: spec.kubernetes.authentication and
// .authorization rendered as apiserver.config.k8s.io/v1 documents, the pod-template annotations that carry them,
// the one volume that turns them (and each webhook's kubeconfig Secret) into files, and the flags pointing there.
import type { V1Volume, V1VolumeMount, V1VolumeProjection } from '@kubernetes/client-node';
import type { AuthenticationSpec, AuthorizationSpec } from '../api/apiserver-auth.js';
import { AUTHENTICATION_CONFIG_ANNOTATION, AUTHORIZATION_CONFIG_ANNOTATION } from '../api/labels.js';
import type { Flags } from './flags.js';
import { CREDENTIAL_FILE_MODE } from './hardening.js';

export const STRUCTURED_AUTH_VOLUME = 'apiserver-auth-config';
export const STRUCTURED_AUTH_DIR = '/etc/kubernetes/apiserver-auth';
export const AUTHENTICATION_CONFIG_FILE = 'authentication-configuration.json';
export const AUTHORIZATION_CONFIG_FILE = 'authorization-configuration.json';
const CONFIG_API_VERSION = 'apiserver.config.k8s.io/v1';

/** Where a webhook authorizer's kubeconfig lands: its name is a DNS label and unique, so paths never collide. */
export const webhookKubeconfigPath = (authorizer: string): string => `${STRUCTURED_AUTH_DIR}/webhooks/${authorizer}.kubeconfig`;

export interface StructuredAuth {
  authentication?: AuthenticationSpec | undefined;
  authorization?: AuthorizationSpec | undefined;
}

export function authenticationConfiguration(spec: AuthenticationSpec): Record<string, unknown> {
  // jwt is required by the v1 schema even when only anonymous access is configured.
  return { apiVersion: CONFIG_API_VERSION, kind: 'AuthenticationConfiguration', jwt: spec.jwt ?? [], ...(spec.anonymous ? { anonymous: spec.anonymous } : {}) };
}

export function authorizationConfiguration(spec: AuthorizationSpec): Record<string, unknown> {
  return {
    apiVersion: CONFIG_API_VERSION,
    kind: 'AuthorizationConfiguration',
    authorizers: spec.authorizers.map(({ type, name, webhook }) => {
      if (!webhook) return { type, name };
      // The Secret reference is ours; the apiserver reads the kubeconfig from where the volume projects it.
      const { connectionInfo, ...rest } = webhook;
      return { type, name, webhook: { ...rest, connectionInfo: { type: connectionInfo.type, kubeConfigFile: webhookKubeconfigPath(name) } } };
    }),
  };
}

/** The pod-template annotations holding the rendered documents (compact JSON, which the apiserver reads as YAML). */
export function structuredAuthAnnotations(auth: StructuredAuth): Record<string, string> {
  return {
    ...(auth.authentication ? { [AUTHENTICATION_CONFIG_ANNOTATION]: JSON.stringify(authenticationConfiguration(auth.authentication)) } : {}),
    ...(auth.authorization ? { [AUTHORIZATION_CONFIG_ANNOTATION]: JSON.stringify(authorizationConfiguration(auth.authorization)) } : {}),
  };
}

/** Sets --authentication-config / --authorization-config; the latter replaces the default --authorization-mode. */
export function withStructuredAuthFlags(flags: Flags, auth: StructuredAuth): Flags {
  const out = new Map(flags);
  if (auth.authentication) out.set('authentication-config', `${STRUCTURED_AUTH_DIR}/${AUTHENTICATION_CONFIG_FILE}`);
  if (auth.authorization) {
    out.delete('authorization-mode');
    out.set('authorization-config', `${STRUCTURED_AUTH_DIR}/${AUTHORIZATION_CONFIG_FILE}`);
  }
  return out;
}

/** The volume with both documents and every webhook kubeconfig, or none when neither field is set. */
export function structuredAuthVolume(auth: StructuredAuth): { volume: V1Volume; mount: V1VolumeMount } | undefined {
  const sources: V1VolumeProjection[] = [];
  const annotationFile = (annotation: string, path: string): V1VolumeProjection => ({
    downwardAPI: { items: [{ path, fieldRef: { apiVersion: 'v1', fieldPath: `metadata.annotations['${annotation}']` } }] },
  });
  if (auth.authentication) sources.push(annotationFile(AUTHENTICATION_CONFIG_ANNOTATION, AUTHENTICATION_CONFIG_FILE));
  if (auth.authorization) {
    sources.push(annotationFile(AUTHORIZATION_CONFIG_ANNOTATION, AUTHORIZATION_CONFIG_FILE));
    for (const { name, webhook } of auth.authorization.authorizers) {
      if (!webhook) continue;
      const ref = webhook.connectionInfo.kubeConfigSecretRef;
      sources.push({ secret: { name: ref.name, items: [{ key: ref.key ?? 'kubeconfig', path: `webhooks/${name}.kubeconfig` }] } });
    }
  }
  if (sources.length === 0) return undefined;
  return {
    volume: { name: STRUCTURED_AUTH_VOLUME, projected: { defaultMode: CREDENTIAL_FILE_MODE, sources } },
    mount: { name: STRUCTURED_AUTH_VOLUME, mountPath: STRUCTURED_AUTH_DIR, readOnly: true },
  };
}
