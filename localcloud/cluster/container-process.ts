// Starts one run of a container: writes what container-entry.sh needs into a fresh spec directory and starts it
// in the pod's network namespace (nsenter) and in new mount and UTS namespaces (unshare). The entry script execs
// the program, so the process the runner watches is the container's program itself, in its own process group.
// A container whose mounts all stay private gets a mount namespace private from the start; one with a mount that
// propagates gets a copy still joined to the host's, which the entry script cuts down to exactly those mounts.
import { readFile, mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ManagedProcess } from '../process.js';

const entryScript = fileURLToPath(new URL('container-entry.sh', import.meta.url));

/** A volumeMount's mountPropagation as the runtime applies it: None, HostToContainer and Bidirectional. */
export type MountPropagation = 'private' | 'rslave' | 'rshared';

export interface ContainerMount {
  source: string;
  target: string;
  readOnly: boolean;
  /** private when unset. */
  propagation?: MountPropagation;
}

export interface ContainerLaunch {
  /** For logs and process listings: "<namespace>/<pod>/<container>". */
  name: string;
  /** Created by this call; one per run, so a restart never sees the previous run's files. */
  specDir: string;
  logFile: string;
  argv: string[];
  env: Map<string, string>;
  mounts: ContainerMount[];
  workingDir: string | undefined;
  /** Image mode: the unpacked image the container runs in (a private copy-on-write view of it), as uid:gid. */
  root?: { rootfs: string; uid: number; gid: number } | undefined;
  hostname: string;
  /** The pod sandbox's namespace; undefined for hostNetwork pods, which stay in the cluster namespace. */
  netnsPath: string | undefined;
  /** The container's spec asks for stdin: its process reads a pipe the runner holds, for attach to write to. */
  stdin: boolean;
}

/**
 * How the container's new mount namespace starts: private at once, unless a mount must stay joined to the host's
 * until container-entry.sh has cloned it (it then makes everything else private itself).
 */
export function namespacePropagation(mounts: ContainerMount[]): 'private' | 'unchanged' {
  return mounts.some((m) => (m.propagation ?? 'private') !== 'private') ? 'unchanged' : 'private';
}

const nulSeparated = (values: string[]) => values.map((v) => `${v}\0`).join('');

export async function startContainerProcess(launch: ContainerLaunch): Promise<ManagedProcess> {
  await mkdir(launch.specDir, { recursive: true, mode: 0o700 });
  const file = (name: string, content: string) => writeFile(join(launch.specDir, name), content, { mode: 0o600 });
  await Promise.all([
    file('argv', nulSeparated(launch.argv)),
    // The environment travels in a file, not on a command line, where Secret values would be visible to all.
    file('env', nulSeparated([...launch.env].map(([k, v]) => `${k}=${v}`))),
    file('mounts', nulSeparated(launch.mounts.flatMap((m) => [m.source, m.target, m.readOnly ? 'ro' : 'rw', m.propagation ?? 'private']))),
    file('workdir', launch.workingDir ?? ''),
    file('hostname', launch.hostname),
    file('root', launch.root ? `${launch.root.rootfs}\0${String(launch.root.uid)}\0${String(launch.root.gid)}\0` : ''),
  ]);
  const isolate = ['unshare', '--mount', '--uts', '--propagation', namespacePropagation(launch.mounts), '--', 'bash', entryScript, launch.specDir];
  const [command = '', ...args] = launch.netnsPath ? ['nsenter', `--net=${launch.netnsPath}`, '--', ...isolate] : isolate;
  return ManagedProcess.start({ name: launch.name, command, args, logFile: launch.logFile, stdinPipe: launch.stdin });
}

/** How long a container's setup may take before what waits for it goes on anyway (its mounts take milliseconds). */
const SET_UP_LIMIT_MS = 30_000;

/**
 * Resolves once container-entry.sh has set the container up and its program runs in the container's root (true), or
 * when the process ended before that or the setup took past its limit (false): until then, entering its namespaces
 * would find its mounts half made, or the node's root where the image's belongs. Bounded, because the pod's sync
 * waits on it.
 */
export async function containerSetUp(specDir: string, process: ManagedProcess, limitMs = SET_UP_LIMIT_MS): Promise<boolean> {
  const nodeRoot = await stat('/');
  for (const deadline = Date.now() + limitMs; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 20))) {
    if (process.exitStatus !== undefined) return false;
    const marker = await readFile(join(specDir, 'set-up'), 'utf8').catch(() => undefined);
    if (marker === undefined) continue;
    if (marker !== 'root') return true;
    // The root switch comes with the exec after the marker: until then the process's root is still the node's.
    const root = await stat(`/proc/${String(process.pid)}/root/`).catch(() => undefined);
    if (root && (root.dev !== nodeRoot.dev || root.ino !== nodeRoot.ino)) return true;
  }
  return false;
}
