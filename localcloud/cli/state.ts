// The files of one running local cloud, all under its state directory, so `down` knows everything it has to
// remove: what the supervisor in the caller's namespace reports (state.json), what the part inside the cluster's
// namespace reports (progress.json), the stop request, the logs, the relays' Unix sockets, the kubeconfigs handed to
// the user, and the cluster's own run directory (TMPDIR of everything inside).
import { readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cacheDir } from '../binaries.js';
import type { Profile } from './args.js';
import type { TaskView } from './tasks.js';

export interface Layout {
  dir: string;
  state: string;
  progress: string;
  /** Written by the supervisor to ask the inside part to stop the cluster. */
  stop: string;
  /** The supervisor's own output. */
  hostLog: string;
  /** Output of everything inside the namespace: the cluster, clusterctl, the simulators. */
  serverLog: string;
  /** On a failure, the pods' container logs, copied before the cluster and its run directory go. */
  podLogs: string;
  sockets: string;
  /** Kubeconfigs as they are inside the namespace, the relays' targets. */
  inside: string;
}

export function layout(dir: string): Layout {
  return {
    dir,
    state: join(dir, 'state.json'),
    progress: join(dir, 'progress.json'),
    stop: join(dir, 'stop'),
    hostLog: join(dir, 'kvcloud.log'),
    serverLog: join(dir, 'cluster.log'),
    podLogs: join(dir, 'pod-logs'),
    sockets: join(dir, 'sockets'),
    inside: join(dir, 'inside'),
  };
}

export function defaultStateDir(profile: Profile): string {
  return join(cacheDir(), profile === 'local' ? 'dev' : 'demo');
}

/** An apiserver the inside part relays to: its kubeconfig inside the namespace and the relay's socket. */
export interface Endpoint {
  name: string;
  kubeconfig: string;
  socket: string;
}

export interface Tenant {
  name: string;
  namespace: string;
  machineDeployment: string;
  workers: number;
  /** `clusterctl describe cluster` once the tenant was Available. */
  describe: string;
}

/** Written by the inside part. */
export interface Progress {
  phase: 'running' | 'ready' | 'failed';
  tasks: TaskView[];
  error?: string;
  endpoints: Endpoint[];
  tenants: Tenant[];
}

/** A kubeconfig for the host shell and the 127.0.0.1 port its server is forwarded from. */
export interface HostKubeconfig {
  name: string;
  path: string;
  port: number;
}

/** Written by the supervisor. */
export interface HostState {
  profile: Profile;
  hostPid: number;
  /** The unshare process holding the cluster's namespaces; killing it ends everything inside. */
  serverPid?: number;
  phase: 'starting' | 'ready' | 'failed' | 'stopping';
  /** The supervisor's own steps (host access), shown after the inside part's. */
  tasks: TaskView[];
  error?: string;
  kubectl?: string;
  kubeconfigs: HostKubeconfig[];
  tenants: Tenant[];
  startedAt: number;
  readyAt?: number;
}

export function readJSON(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return undefined; // not written yet, or being replaced
  }
}

/** Replaces the file in one step, so a reader never sees half of it. */
export async function writeJSON(path: string, value: unknown): Promise<void> {
  const tmp = `${path}.${process.pid.toString()}.tmp`;
  await writeFile(tmp, `${JSON.stringify(value, null, 2)}\n`);
  await rename(tmp, path);
}

/** Whether the process runs; a zombie (exited, not yet reaped by its parent) counts as gone. */
export function alive(pid: number | undefined): pid is number {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // /proc/<pid>/stat: "pid (comm) state ...", and comm may itself hold spaces or parentheses.
    const stat = readFileSync(`/proc/${pid.toString()}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
