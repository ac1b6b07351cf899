// kvcloud's hardening of the control plane pods (not a Kamaji field): every measure is on unless its field is set
// to false, so a tenant gets the strict pod by default and opts out of one measure at a time when an extra
// container or volume of its own needs it. Explicit podSecurityContext / containerSecurityContexts still win.
import { Type, type Static } from '@sinclair/typebox';

const measure = (description: string) => Type.Optional(Type.Boolean({ description: `${description} On unless set to false.` }));

export const PodHardening = Type.Object(
  {
    userNamespaces: measure(
      'Run the pod in its own user namespace (hostUsers: false), where the management cluster supports it: the operator applies it only when ' +
        'told the nodes can, since a kubelet without user-namespace support refuses such a pod.',
    ),
    readOnlyRootFilesystem: measure('Mount the root filesystem of the control plane containers read-only.'),
    recursiveReadOnlyMounts: measure('Ask for recursiveReadOnly: IfPossible on the certificate and kubeconfig mounts (a runtime without it falls back to read-only).'),
    runAsNonRoot: measure('Run the control plane containers as uid/gid 65532 (runAsNonRoot), with fsGroup 65532 so they read their Secrets.'),
    dropAllCapabilities: measure('Drop ALL capabilities and forbid privilege escalation in the control plane containers.'),
    seccompRuntimeDefault: measure("Confine the control plane containers with the runtime's default seccomp profile."),
  },
  { description: 'Hardening of the control plane pods (kvcloud): each measure is on unless set to false.' },
);
export type PodHardening = Static<typeof PodHardening>;
