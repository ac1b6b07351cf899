// Knobs of the tenant PKI: key algorithm (ECDSA P-256 by default: generation is where a hosted control plane
// operator spends its CPU at scale), lifetimes and when to renew.
import type { KeyAlgorithm } from '../../../lib/pki/x509.js';

const DAY = 86_400_000;

export interface PKIOptions {
  keyAlgorithm: KeyAlgorithm;
  /** Lifetime of the cluster CA and the front-proxy CA. */
  caValidity: number;
  /** Lifetime of every leaf certificate and kubeconfig client certificate. */
  certificateValidity: number;
  /** A leaf expiring within this window is reissued. */
  rotationThreshold: number;
}

export const DEFAULT_PKI_OPTIONS: PKIOptions = {
  keyAlgorithm: 'ECDSA-P256',
  caValidity: 10 * 365 * DAY,
  certificateValidity: 365 * DAY,
  rotationThreshold: 30 * DAY,
};
