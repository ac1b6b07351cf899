// While a CA rotation runs, `<tenant>-ca`'s ca.crt is a bundle, which kube-apiserver (--client-ca-file) and
// kube-controller-manager (--root-ca-file) must read whole, but kube-controller-manager's CSR signer refuses
// (--cluster-signing-cert-file takes exactly one certificate). For that time the signer reads the Secret's
// ca-signer.crt instead, mounted on its own; outside a rotation the pod is exactly what the builder makes.
import type { TenantControlPlane } from '../api/index.js';
import { CA_ROTATION_KEYS } from '../pki/index.js';

const VOLUME = 'ca-signer';
const DIR = '/etc/kubernetes/ca-signer';

/** The view with the signer certificate mounted into kube-controller-manager; a user's own flag still wins. */
export function withCASigner(tcp: TenantControlPlane, caSecretName: string): TenantControlPlane {
  const d = tcp.spec.controlPlane.deployment ?? {};
  return {
    ...tcp,
    spec: {
      ...tcp.spec,
      controlPlane: {
        ...tcp.spec.controlPlane,
        deployment: {
          ...d,
          extraArgs: { ...d.extraArgs, controllerManager: [`--cluster-signing-cert-file=${DIR}/ca.crt`, ...(d.extraArgs?.controllerManager ?? [])] },
          additionalVolumes: [
            ...(d.additionalVolumes ?? []),
            { name: VOLUME, secret: { secretName: caSecretName, items: [{ key: CA_ROTATION_KEYS.signerCert, path: 'ca.crt' }], defaultMode: 0o420 } },
          ],
          additionalVolumeMounts: {
            ...d.additionalVolumeMounts,
            controllerManager: [...(d.additionalVolumeMounts?.controllerManager ?? []), { name: VOLUME, mountPath: DIR, readOnly: true }],
          },
        },
      },
    },
  };
}
