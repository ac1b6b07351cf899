// Which Kubernetes version the KamajiControlPlane writes into its TenantControlPlane. A TenantControlPlane (like
// Kamaji, and kubeadm underneath) moves at most one minor per change, while Cluster API users bump
// spec.version straight to the release they want. So a jump of several minors is walked: the next minor's .0
// release, and the following step only once that one is fully rolled out (status Ready at that version).
// Patch releases and the next minor go directly. The .0 release is the one step version that surely exists
// without a release list; it is only a waypoint, left as soon as it runs.
import type { TenantControlPlane } from '../api/index.js';

export interface KubernetesVersion {
  major: number;
  minor: number;
  patch: number;
}

/** Accepts v1.37.2 and 1.37.2 (upstream's samples omit the v), with an optional pre-release suffix. */
export function parseVersion(v: string): KubernetesVersion | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)(?:-[0-9A-Za-z.-]+)?$/.exec(v);
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) };
}

/** The TenantControlPlane schema wants the leading v; Cluster API users often leave it out. */
export function withV(v: string): string {
  return v.startsWith('v') ? v : `v${v}`;
}

function compare(a: KubernetesVersion, b: KubernetesVersion): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

export type WalkState = 'Direct' | 'Walking' | 'WaitingForRollout' | 'DowngradeRefused';

export interface VersionStep {
  /** What to write into spec.kubernetes.version now. */
  version: string;
  state: WalkState;
  /** For the condition message while walking or refusing. */
  message?: string;
}

/** The TenantControlPlane runs `version` on every pod: the operator reports it Ready at exactly that version. */
export function rolledOutAt(tcp: TenantControlPlane, version: string): boolean {
  const v = tcp.status?.kubernetesResources?.version;
  return (v?.status === 'Ready' || v?.status === 'WriteLimited') && v.version === version;
}

/**
 * The next version for the TenantControlPlane, from the KamajiControlPlane's spec.version and the live
 * TenantControlPlane (undefined before it exists: a new control plane starts at the wanted version). "Running"
 * is the version the operator last reported for the pods (the spec's until it reports one).
 */
export function nextVersion(desiredRaw: string, tcp: TenantControlPlane | undefined): VersionStep {
  const desired = withV(desiredRaw);
  if (!tcp) return { version: desired, state: 'Direct' };
  const specVersion = tcp.spec.kubernetes.version;
  const want = parseVersion(desired);
  const spec = parseVersion(specVersion);
  const running = parseVersion(tcp.status?.kubernetesResources?.version?.version ?? specVersion) ?? spec;
  if (!want || !spec || !running) return { version: desired, state: 'Direct' };
  if (compare(want, spec) < 0) {
    // Admission refuses a downgrade of the KamajiControlPlane; this guards a TenantControlPlane that already
    // runs something newer (created by hand, or adopted), which must never be rolled back.
    return { version: specVersion, state: 'DowngradeRefused', message: `the TenantControlPlane is at ${specVersion}, newer than ${desired}: downgrades are refused` };
  }
  const oneMinor = (from: KubernetesVersion) => want.major === from.major && want.minor <= from.minor + 1;
  if (oneMinor(running) && oneMinor(spec)) return { version: desired, state: 'Direct' };
  if (!rolledOutAt(tcp, specVersion)) {
    return { version: specVersion, state: 'WaitingForRollout', message: `walking to ${desired} one minor at a time: waiting for ${specVersion} to roll out` };
  }
  const step = `v${String(spec.major)}.${String(spec.minor + 1)}.0`;
  return { version: step, state: 'Walking', message: `walking to ${desired} one minor at a time: now ${step}` };
}
