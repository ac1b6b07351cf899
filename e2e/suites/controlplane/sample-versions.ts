// Kamaji's samples and its Cluster API provider's name Kubernetes releases kvcloud does not run (v1.26, 1.27, ...).
// Admission refuses such a sample for its version alone: the suites check the refusal, then apply the same sample
// with a supported version to show that nothing else in it is refused.
import type { KubeObject } from '../../../lib/kube/object.js';
import { SUPPORTED_KUBERNETES_MINORS, SUPPORTED_KUBERNETES_RANGE } from '../../../providers/controlplane/api/index.js';
import { parseManifests } from '../../../localcloud/manifests.js';

/** What the apiserver says of a version outside the supported range, for any version field. */
export const UNSUPPORTED_VERSION_MESSAGE = new RegExp(`is not a Kubernetes version kvcloud supports: ${SUPPORTED_KUBERNETES_RANGE.replaceAll('.', '\\.')}`);

type Versioned = KubeObject & { spec?: { version?: unknown; kubernetes?: { version?: unknown } } };

/** The Kubernetes version the sample's TenantControlPlane or KamajiControlPlane asks for, when it is outside the range. */
export function unsupportedVersionIn(yaml: string): string | undefined {
  for (const obj of parseManifests(yaml) as Versioned[]) {
    const v = obj.spec?.kubernetes?.version ?? obj.spec?.version;
    if (typeof v !== 'string') continue;
    const minor = Number(/^v?1\.(\d+)\./.exec(v)?.[1] ?? NaN);
    if (!(minor >= SUPPORTED_KUBERNETES_MINORS.oldest && minor <= SUPPORTED_KUBERNETES_MINORS.newest)) return v;
  }
  return undefined;
}

/** The sample with `version` replaced by the newest supported minor's .0, written the way the sample wrote it. */
export function withSupportedVersion(yaml: string, version: string): string {
  const supported = `${version.startsWith('v') ? 'v' : ''}1.${String(SUPPORTED_KUBERNETES_MINORS.newest)}.0`;
  const line = new RegExp(`(version: *"?)${version.replaceAll('.', '\\.')}("?)$`, 'gm');
  const out = yaml.replace(line, `$1${supported}$2`);
  if (out === yaml) throw new Error(`no "version: ${version}" line in the sample`);
  return out;
}
