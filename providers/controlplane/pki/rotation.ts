// When leaf certificates and kubeconfigs are reissued before their checks would ask for it: on request (the
// rotate annotation, on the TenantControlPlane for all of them or on one Secret, Kamaji's way) and ahead of
// expiry (the earliest renewal due, so the reconciler can come back exactly then: time cannot be watched).
import { X509Certificate } from 'node:crypto';
import { ROTATE_ANNOTATION } from '../api/labels.js';
import { ROTATED_FOR_ANNOTATION } from './secrets.js';

export type Annotations = Record<string, string> | undefined;

/**
 * The Secrets (by suffix) to reissue now, with the reason. A Secret annotated with an empty rotate value is
 * reissued (Kamaji: the annotation then carries the rotation time). A value `v` on the TenantControlPlane
 * reissues every Secret not yet issued under `v`; the Secret records `v` when written, so each value rotates
 * each Secret once and a settled rotation costs nothing.
 */
export function rotationRequests(suffixes: readonly string[], stored: Record<string, Annotations>, tcpRequest: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const suffix of suffixes) {
    const annotations = stored[suffix];
    if (annotations?.[ROTATE_ANNOTATION] === '') out[suffix] = `${ROTATE_ANNOTATION} is set on the Secret`;
    else if (tcpRequest !== undefined && annotations?.[ROTATED_FOR_ANNOTATION] !== tcpRequest) {
      out[suffix] = `${ROTATE_ANNOTATION}=${JSON.stringify(tcpRequest)} is set on the TenantControlPlane`;
    }
  }
  return out;
}

/** Annotations a (re)written leaf Secret carries so `rotationRequests` sees the request as handled. */
export function rotationAnnotations(requested: boolean, tcpRequest: string | undefined, now: Date): Record<string, string> {
  return {
    ...(requested ? { [ROTATE_ANNOTATION]: now.toISOString().replace(/\.\d+Z$/, 'Z') } : {}),
    ...(tcpRequest !== undefined ? { [ROTATED_FOR_ANNOTATION]: tcpRequest } : {}),
  };
}

/** Splits a PEM bundle into its certificates, in order. */
export function splitCertificates(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)?.map((c) => `${c}\n`) ?? [];
}

/**
 * The earliest time one of the given certificates (PEM; bundles count by their first, the leaf) enters its
 * renewal window, in epoch ms; undefined when none is given.
 */
export function renewalDue(certPems: Iterable<string>, threshold: number): number | undefined {
  let due: number | undefined;
  for (const pem of certPems) {
    const [leaf] = splitCertificates(pem);
    if (!leaf) continue;
    const at = new X509Certificate(leaf).validToDate.getTime() - threshold;
    if (due === undefined || at < due) due = at;
  }
  return due;
}
