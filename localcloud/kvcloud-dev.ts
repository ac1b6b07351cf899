// A local management cluster for development, in the background:
//
//   tsx localcloud/kvcloud-dev.ts up [--with-capi]   start it (inside its own network namespace), print how to reach it
//   tsx localcloud/kvcloud-dev.ts status             is it running, where is its kubeconfig
//   tsx localcloud/kvcloud-dev.ts down               stop it and remove its files
//
// State lives in ~/.cache/kvcloud/dev/ (KVCLOUD_DEV_DIR overrides): state.json, the server's log, and while it
// runs the cluster's run directory. `serve` is the part that runs inside the namespace; `up` starts it.
import { spawn } from 'node:child_process';
import { existsSync, openSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { toolArtifact } from './binaries.js';
import { startCluster } from './cluster/cluster.js';
import { clusterNetnsCommand } from './cluster/netns.js';
import { clusterctlInit } from './clusterctl/init.js';
import { createClusterctlRepository, type ClusterctlRepository } from './clusterctl/repository.js';

const stateDir = process.env.KVCLOUD_DEV_DIR ?? join(homedir(), '.cache', 'kvcloud', 'dev');
const statePath = join(stateDir, 'state.json');
const stopPath = join(stateDir, 'stop');
const logPath = join(stateDir, 'server.log');
const self = fileURLToPath(import.meta.url);

interface State {
  /** The host pid of the namespace's unshare process: nsenter --net --target it. */
  pid: number;
  phase: 'starting' | 'ready' | 'failed';
  kubeconfig?: string;
  capi?: boolean;
  startupSeconds?: number;
  error?: string;
}

function readState(): State | undefined {
  try {
    return JSON.parse(readFileSync(statePath, 'utf8')) as State;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function howToReach(state: State): string {
  return [
    `kubeconfig: ${state.kubeconfig ?? '-'}`,
    `reach it from inside its network namespace, e.g.:`,
    `  nsenter --net --target ${state.pid} kubectl --kubeconfig ${state.kubeconfig ?? '<kubeconfig>'} get pods -A`,
  ].join('\n');
}

async function up(withCapi: boolean): Promise<number> {
  if (withCapi) {
    // Built here, outside the cluster's network namespace, which has no route to the Go module proxy.
    toolArtifact('cluster-api', 'CLUSTER_API_VERSION', 'manifests', 'control-plane-components.yaml');
    toolArtifact('cert-manager', 'CERT_MANAGER_VERSION', 'cert-manager.yaml');
  }
  const existing = readState();
  if (existing && alive(existing.pid)) {
    console.error(`already running (pid ${existing.pid}); \`kvcloud-dev down\` first`);
    return 1;
  }
  await rm(stateDir, { recursive: true, force: true });
  await mkdir(stateDir, { recursive: true });
  const { command, args, env } = clusterNetnsCommand([process.execPath, '--import', 'tsx', self, 'serve', ...(withCapi ? ['--with-capi'] : [])]);
  const log = openSync(logPath, 'a');
  // The cluster's run directory goes below the state dir, so `down` knows everything it has to remove.
  const child = spawn(command, args, { detached: true, stdio: ['ignore', log, log], env: { ...process.env, ...env, TMPDIR: stateDir } });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${command}`);
  child.unref();
  await writeFile(statePath, JSON.stringify({ pid, phase: 'starting' } satisfies State));
  const deadline = Date.now() + (withCapi ? 10 : 3) * 60_000;
  for (;;) {
    const state = readState();
    if (state?.phase === 'ready') {
      console.log(`local cluster${state.capi ? ' with Cluster API' : ''} up in ${state.startupSeconds?.toFixed(1) ?? '?'} s (pid ${pid}, log ${logPath})`);
      console.log(howToReach(state));
      return 0;
    }
    if (state?.phase === 'failed' || !alive(pid) || Date.now() > deadline) {
      console.error(`the cluster did not start: ${state?.error ?? (alive(pid) ? 'timed out' : 'the server exited')} (log ${logPath})`);
      await down();
      return 1;
    }
    await sleep(500);
  }
}

async function down(): Promise<number> {
  const state = readState();
  if (state && alive(state.pid)) {
    await writeFile(stopPath, '');
    const deadline = Date.now() + 60_000;
    while (alive(state.pid) && Date.now() < deadline) await sleep(250);
    // Killing unshare kills the namespace's init, and with it every process left in the namespace.
    if (alive(state.pid)) process.kill(state.pid, 'SIGKILL');
    while (alive(state.pid)) await sleep(100);
  }
  await rm(stateDir, { recursive: true, force: true });
  console.log(state ? `stopped (pid ${state.pid})` : 'not running');
  return 0;
}

function status(): number {
  const state = readState();
  if (!state || !alive(state.pid)) {
    console.log('not running');
    return 3;
  }
  console.log(`${state.phase} (pid ${state.pid})${state.capi ? ', with Cluster API' : ''}`);
  if (state.phase === 'ready') console.log(howToReach(state));
  return 0;
}

/** Inside the namespace: run the cluster until `down` asks us to stop. */
async function serve(withCapi: boolean): Promise<number> {
  const base = readState();
  if (!base) throw new Error(`no ${statePath}: \`serve\` is started by \`up\``);
  const started = Date.now();
  const cluster = await startCluster();
  let repo: ClusterctlRepository | undefined;
  try {
    if (withCapi) {
      repo = await createClusterctlRepository();
      const init = await clusterctlInit(repo, cluster.plane.kubeconfigPath);
      console.log(init.output);
      console.log(`clusterctl init took ${init.seconds.toFixed(1)} s`);
    }
    const ready: State = { ...base, phase: 'ready', kubeconfig: cluster.plane.kubeconfigPath, capi: withCapi, startupSeconds: (Date.now() - started) / 1000 };
    await writeFile(statePath, JSON.stringify(ready));
    const asked = { stop: false };
    const stopSoon = () => (asked.stop = true);
    process.on('SIGTERM', stopSoon);
    process.on('SIGINT', stopSoon);
    while (!asked.stop && !existsSync(stopPath)) await sleep(500);
  } catch (err) {
    await writeFile(statePath, JSON.stringify({ ...base, phase: 'failed', error: err instanceof Error ? err.message : String(err) } satisfies State));
    throw err;
  } finally {
    await cluster.stop();
    await repo?.remove();
  }
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  const withCapi = rest.includes('--with-capi');
  switch (verb) {
    case 'up':
      return up(withCapi);
    case 'down':
      return down();
    case 'status':
      return status();
    case 'serve':
      return serve(withCapi);
    default:
      console.error('usage: kvcloud-dev up [--with-capi] | down | status');
      return 2;
  }
}

process.exitCode = await main(process.argv.slice(2));
