// Knobs of the tenant PKI: key algorithm (ECDSA P-256 by default: generation is where a hosted control plane
// operator spends its CPU at scale), lifetimes and when to renew.
import { parseDuration } from '../../../lib/controller/manager-flags.js';
import type { KeyAlgorithm } from '../../../lib/pki/x509.js';

const DAY = 86_400_000;

export interface PKIOptions {
  keyAlgorithm: KeyAlgorithm;
  /** Lifetime of the cluster CA and the front-proxy CA. */
  caValidity: number;
  /** Lifetime of every leaf certificate and kubeconfig client certificate. */
  certificateValidity: number;
  /** A leaf expiring within this window is reissued (manager flag --certificate-expiration-deadline). */
  rotationThreshold: number;
  /** Minimum time between a new CA starting to sign and the old one's retirement (--ca-rotation-soak). */
  caRotationSoak: number;
}

export const DEFAULT_PKI_OPTIONS: PKIOptions = {
  keyAlgorithm: 'ECDSA-P256',
  caValidity: 10 * 365 * DAY,
  certificateValidity: 365 * DAY,
  rotationThreshold: 30 * DAY,
  caRotationSoak: 3_600_000,
};

/**
 * The --certificate-expiration-deadline value (Kamaji's flag name): a Go duration ("720h", "90m") or whole days
 * ("30d", the spelling Kamaji's documentation uses although Go itself has no day unit).
 */
export function parseExpirationDeadline(value: string): number {
  const days = /^(\d+)d$/.exec(value);
  const ms = days ? Number(days[1]) * DAY : parseDuration(value, 'certificate-expiration-deadline');
  if (ms <= 0) throw new Error(`--certificate-expiration-deadline: "${value}" must be longer than zero`);
  return ms;
}
