// Deciding which kubeconfig Secrets must be (re)written for a tenant, from what is stored and the cluster CA in
// force: a steady tenant gets no change, a rotated CA or moved endpoint rewrites exactly the affected Secrets.
import { certificatePem, type CertificateAuthority } from '../../../lib/pki/x509.js';
import { KONNECTIVITY, type PKIOptions, type SecretData } from '../pki/index.js';
import {
  ADMIN,
  buildAdminKubeconfigs,
  buildControllerManagerKubeconfig,
  buildKonnectivityKubeconfig,
  buildSchedulerKubeconfig,
  checkKubeconfig,
  CONTROLLER_MANAGER,
  inClusterServer,
  loopbackServer,
  publicServer,
  SCHEDULER,
  SUPER_ADMIN,
  type Identity,
  type KubeconfigTarget,
} from './builders.js';
import { parseKubeconfig } from '../../../lib/kube/client-cert-kubeconfig.js';
import {
  ADMIN_KUBECONFIG_SECRET,
  CONTROLLER_MANAGER_KUBECONFIG_SECRET,
  KONNECTIVITY_KUBECONFIG_SECRET,
  SCHEDULER_KUBECONFIG_SECRET,
} from './secrets.js';

export interface KubeconfigPlanInput {
  target: KubeconfigTarget;
  /** The signing cluster CA. */
  ca: CertificateAuthority;
  /** What the kubeconfigs trust (certificate-authority-data) when more than `ca`: the bundle of a CA rotation. */
  trustPem?: string;
  /** `<tenant>-konnectivity-certificate` data when konnectivity is enabled. */
  konnectivityCertificate?: SecretData;
  options: PKIOptions;
  now: Date;
  /** Kubeconfig Secrets (by suffix) to reissue although their checks pass, with the reason. */
  force?: Record<string, string>;
}

/** Desired data of every kubeconfig Secret by name suffix, and why each rewritten one was rewritten. */
export interface KubeconfigPlan {
  secrets: Record<string, SecretData>;
  changed: Record<string, string>;
}

export async function planKubeconfigs(existing: Record<string, SecretData | undefined>, input: KubeconfigPlanInput): Promise<KubeconfigPlan> {
  const { target, ca, options, now } = input;
  const caPem = input.trustPem ?? certificatePem(ca.cert);
  const trust = input.trustPem;
  const check = (text: string | undefined, server: string, identity: Identity) =>
    checkKubeconfig(text, { server, caPem, identity, now, rotationThreshold: options.rotationThreshold });
  const plan: KubeconfigPlan = { secrets: {}, changed: {} };
  const keep = async (suffix: string, problem: string | undefined, build: () => Promise<SecretData> | SecretData) => {
    const current = existing[suffix];
    const forced = input.force?.[suffix];
    if (current && problem === undefined && forced === undefined) {
      plan.secrets[suffix] = current;
      return;
    }
    plan.secrets[suffix] = await build();
    plan.changed[suffix] = current ? (problem ?? forced ?? 'missing') : 'missing';
  };

  const admin = existing[ADMIN_KUBECONFIG_SECRET.suffix];
  const a = ADMIN_KUBECONFIG_SECRET;
  await keep(
    a.suffix,
    check(admin?.[a.admin], publicServer(target), ADMIN) ??
      check(admin?.[a.adminInCluster], inClusterServer(target), ADMIN) ??
      check(admin?.[a.superAdmin], publicServer(target), SUPER_ADMIN) ??
      check(admin?.[a.superAdminInCluster], inClusterServer(target), SUPER_ADMIN),
    () => buildAdminKubeconfigs(target, ca, options, trust),
  );
  const cm = CONTROLLER_MANAGER_KUBECONFIG_SECRET;
  await keep(cm.suffix, check(existing[cm.suffix]?.[cm.key], loopbackServer(target), CONTROLLER_MANAGER), () =>
    buildControllerManagerKubeconfig(target, ca, options, trust),
  );
  const sc = SCHEDULER_KUBECONFIG_SECRET;
  await keep(sc.suffix, check(existing[sc.suffix]?.[sc.key], loopbackServer(target), SCHEDULER), () => buildSchedulerKubeconfig(target, ca, options, trust));

  if (input.konnectivityCertificate) {
    const k = KONNECTIVITY_KUBECONFIG_SECRET;
    const cert = input.konnectivityCertificate;
    const stored = existing[k.suffix]?.[k.key];
    // It embeds the konnectivity certificate rather than issuing its own: follow that Secret exactly.
    let problem = check(stored, loopbackServer(target), { commonName: KONNECTIVITY.commonName, organizations: KONNECTIVITY.organizations });
    if (problem === undefined && stored && parseKubeconfig(stored).certPem !== cert[KONNECTIVITY.layout.certKey]) {
      problem = 'the konnectivity certificate was reissued';
    }
    await keep(k.suffix, problem, () => buildKonnectivityKubeconfig(target, caPem, cert));
  }
  return plan;
}
