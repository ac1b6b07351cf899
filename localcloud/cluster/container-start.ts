// Everything a container run needs before its process starts (image program, environment, argv, mounts), and
// how each way of failing shows in the pod status, with the kubelet's reasons: ErrImagePull for an image with no
// local program, CreateContainerConfigError for a missing ConfigMap/Secret key, StartError for a missing
// executable.
import type { ContainerLaunch } from './container-process.js';
import { containerEnv, ContainerConfigError, expandCommand, type ObjectLookup } from './container-env.js';
import { containerMounts } from './container-mounts.js';
import type { PodRuntimeFacts } from './downward-api.js';
import { containerArgv, ExecutableNotFoundError, ImageNotMappedError, resolveImage, type LocalImage } from './images.js';
import { configHome, effectiveUser } from './image-rootfs.js';
import type { Container, Pod } from './pod-api.js';

export interface StartInput {
  pod: Pod;
  container: Container;
  lookup: ObjectLookup;
  facts: PodRuntimeFacts;
  /** In-cluster variables (KUBERNETES_SERVICE_HOST...), HOSTNAME and HOME: under the container's own env. */
  baseEnv: Record<string, string>;
  volumePaths: Map<string, string>;
  etcHosts: string;
  /** The pod's resolv.conf, when it does not keep the machine's. */
  resolvConf?: string | undefined;
  /** The node's filesystem is its own (a simulated VM's), so its host paths mount writable as on a real node. */
  writableHostPaths?: boolean;
}

export interface PreparedStart {
  image: LocalImage;
  env: Map<string, string>;
  argv: string[];
  mounts: ContainerLaunch['mounts'];
  workingDir: string | undefined;
  /** Image mode: the image's root the container runs in, and as whom. */
  root: ContainerLaunch['root'];
}

/**
 * Programs run from the host filesystem, so a volume mounted over a directory holding one (a mountPath of /work
 * when the test image lives in /work/main) would make the container fail with "not found": refuse it clearly.
 */
function checkNothingHidden(image: LocalImage, argv: string[], mounts: PreparedStart['mounts']): void {
  const programs = [...new Set([...image.entrypoint, argv[0] ?? ''].filter((p) => p.startsWith('/')))];
  for (const { target } of mounts) {
    const hidden = programs.find((p) => p.startsWith(`${target.replace(/\/$/, '')}/`));
    if (hidden) {
      throw new ContainerConfigError(`mountPath ${target} would hide ${hidden}, which image ${image.reference} runs from the host; mount the volume elsewhere`);
    }
  }
}

export async function prepareStart(input: StartInput): Promise<PreparedStart> {
  const { pod, container } = input;
  const image = await resolveImage(container.image ?? '');
  const sandbox = image.sandbox;
  // From its own root, a container runs as a runtime starts it: as the image's user, with that user's home.
  const user = sandbox && effectiveUser(sandbox.rootfs, sandbox.user, pod.spec.securityContext, container.securityContext);
  const home: Record<string, string> = sandbox && user ? { HOME: configHome(sandbox.rootfs, user.uid) } : {};
  const env = await containerEnv(pod, container, input.lookup, input.facts, { ...image.env, ...input.baseEnv, ...home });
  const argv = containerArgv(image, expandCommand(container.command, env), expandCommand(container.args, env));
  const mounts = containerMounts(container, pod.spec.volumes ?? [], input.volumePaths, env, input.etcHosts, input.resolvConf, input.writableHostPaths);
  // A volume cannot hide programs the image's own root holds.
  if (!sandbox) checkNothingHidden(image, argv, mounts);
  const root = sandbox && user ? { rootfs: sandbox.rootfs, uid: user.uid, gid: user.gid } : undefined;
  return { image, env, argv, mounts, workingDir: container.workingDir ?? sandbox?.workingDir, root };
}

export type StartFailure =
  /** Nothing ran; retried after retryMs. */
  | { kind: 'waiting'; reason: 'ErrImagePull' | 'CreateContainerConfigError'; message: string; retryMs: number }
  /** Counts as a run that exited with 128, restarted with backoff like a crash. */
  | { kind: 'start-error'; message: string };

export function classifyStartFailure(err: unknown): StartFailure {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof ImageNotMappedError) return { kind: 'waiting', reason: 'ErrImagePull', message, retryMs: 10_000 };
  // A ConfigMap or Secret may appear any moment (cert-manager writing a certificate): retry soon.
  if (err instanceof ContainerConfigError) return { kind: 'waiting', reason: 'CreateContainerConfigError', message, retryMs: 2_000 };
  if (err instanceof ExecutableNotFoundError) return { kind: 'start-error', message };
  return { kind: 'start-error', message: `start container: ${message}` };
}
