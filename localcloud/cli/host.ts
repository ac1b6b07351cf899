// The caller's side of a local cloud. `kvcloud local up` and `kvcloud demo` start a supervisor (`__host`) in the
// background, in the caller's network namespace: it builds what is missing, starts the inside part (serve.ts) in a
// fresh network and PID namespace, and once that is ready forwards 127.0.0.1 ports to its relays and writes the
// kubeconfigs for the host shell. The command the user ran follows the supervisor's files, prints the task list,
// and either returns (local up) or stays until Ctrl-C (demo). `down` asks the supervisor to stop, which stops the
// inside part; killing the unshare process ends whatever is left in the namespaces, and the state directory goes.
import { execFile, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { binaryPath } from '../binaries.js';
import { clusterNetnsCommand } from '../cluster/netns.js';
import { startForwarder, type Listener } from '../host-access/forward.js';
import { hostKubeconfig } from '../host-access/kubeconfig.js';
import { toolsDir } from '../versions.js';
import type { Profile } from './args.js';
import { alive, layout, readJSON, writeJSON, type HostKubeconfig, type HostState, type Layout, type Progress } from './state.js';
import { TaskList, TaskPrinter, type TaskView } from './tasks.js';

const run = promisify(execFile);
const cli = fileURLToPath(new URL('kvcloud.ts', import.meta.url));
// tsx by its resolved address, so the background processes start from any working directory.
const tsx = import.meta.resolve('tsx');
// The upstream programs and manifests the local cloud runs (e2e/tools/<name>); each build is a no-op once done.
const TOOLS = ['kubernetes', 'etcd', 'cluster-api', 'cert-manager', 'kubevirt-crds', 'cdi-crds', 'konnectivity'];
const STOP_GRACE_MS = 120_000;

const name = (profile: Profile) => (profile === 'local' ? 'kvcloud local' : 'kvcloud demo');

/** The supervisor (`kvcloud __host`): runs until SIGTERM, a failure, or the inside part's exit. */
export async function runHost(profile: Profile, clusters: number, stateDir: string): Promise<number> {
  const files = layout(stateDir);
  const state: HostState = { profile, hostPid: process.pid, phase: 'starting', tasks: [], kubeconfigs: [], tenants: [], startedAt: Date.now() };
  let saving = Promise.resolve();
  const save = () => {
    const snapshot = structuredClone(state);
    saving = saving.then(() => writeJSON(files.state, snapshot)).catch((err: unknown) => { console.error(`write ${files.state}: ${(err as Error).message}`); });
    return saving;
  };
  const tasks = new TaskList((list) => {
    state.tasks = list.map((t) => ({ ...t }));
    void save();
  });
  const stop = { asked: false };
  process.on('SIGTERM', () => (stop.asked = true));
  process.on('SIGINT', () => (stop.asked = true));
  const forwarders: Listener[] = [];
  let server: { pid: number; exited: Promise<number> } | undefined;
  let failed = false;
  try {
    await save();
    // Built here: the cluster's namespace has no route to the Go module proxy.
    await tasks.run('upstream programs, built once into ~/.cache/kvcloud/bin', async (t) => {
      t.waiting(`e2e/tools/build.sh ${TOOLS.join(' ')} (a no-op once built)`);
      const { stderr } = await run('bash', [join(toolsDir, 'build.sh'), ...TOOLS], { maxBuffer: 64 * 1024 * 1024 });
      console.log(stderr);
      state.kubectl = await binaryPath('kubectl');
    });
    server = startInside(profile, clusters, files);
    state.serverPid = server.pid;
    await save();
    const progress = await waitForInside(files, server, stop);
    if (!progress) return 0; // asked to stop before it was ready
    await tasks.run('host access: 127.0.0.1 ports forwarded into the cluster network', async (t) => {
      for (const endpoint of progress.endpoints) {
        const forwarder = await startForwarder(endpoint.socket);
        forwarders.push(forwarder);
        const path = join(files.dir, `${endpoint.name}.kubeconfig`);
        await writeFile(path, hostKubeconfig(await readFile(endpoint.kubeconfig, 'utf8'), forwarder.port, endpoint.kubeconfig), { mode: 0o600 });
        t.waiting(`${endpoint.name} to answer /readyz on 127.0.0.1:${forwarder.port.toString()}`);
        // What the user will do first, done once here: kubectl of the cluster's version through the forwarded port.
        const { stdout } = await run(state.kubectl ?? 'kubectl', ['--kubeconfig', path, `--cache-dir=${join(files.dir, 'kubectl-cache')}`, 'get', '--raw', '/readyz']);
        if (stdout.trim() !== 'ok') throw new Error(`${endpoint.name}: /readyz through 127.0.0.1:${forwarder.port.toString()} answered ${stdout.trim()}`);
        state.kubeconfigs.push({ name: endpoint.name, path, port: forwarder.port } satisfies HostKubeconfig);
      }
    });
    state.tenants = progress.tenants;
    state.phase = 'ready';
    state.readyAt = Date.now();
    await save();
    let exitCode: number | undefined;
    void server.exited.then((code) => (exitCode = code));
    while (!stop.asked && exitCode === undefined) await delay(300);
    if (exitCode !== undefined) throw new Error(`the cluster's process exited (code ${exitCode.toString()}); see ${files.serverLog}`);
    return 0;
  } catch (err) {
    failed = true;
    state.phase = 'failed';
    state.error = (err as Error).message;
    console.error(`failed: ${state.error}`);
    return 1;
  } finally {
    if (!failed) state.phase = 'stopping';
    await save();
    for (const f of forwarders) await f.close();
    if (server) await stopInside(files, server);
    await saving;
    // After a failure the logs stay for the user to read (`down` removes them); otherwise nothing of it is left.
    if (!failed) await rm(files.dir, { recursive: true, force: true });
  }
}

function startInside(profile: Profile, clusters: number, files: Layout): { pid: number; exited: Promise<number> } {
  const { command, args, env } = clusterNetnsCommand([
    process.execPath,
    '--import',
    tsx,
    cli,
    '__serve',
    '--profile',
    profile,
    ...(profile === 'demo' ? ['--clusters', clusters.toString()] : []),
    '--state-dir',
    files.dir,
  ]);
  const log = openSync(files.serverLog, 'a');
  try {
    // TMPDIR: the cluster's run directory goes below the state directory, so `down` knows every file to remove;
    // KUBECACHEDIR: kubectl's discovery cache too, rather than in the user's ~/.kube.
    const child = spawn(command, args, { stdio: ['ignore', log, log], env: { ...process.env, ...env, TMPDIR: files.dir, KUBECACHEDIR: join(files.dir, 'kubectl-cache') } });
    if (child.pid === undefined) throw new Error(`could not start ${command}`);
    const exited = new Promise<number>((resolve) => child.once('exit', (code, signal) => { resolve(code ?? (signal ? 128 : 1)); }));
    return { pid: child.pid, exited };
  } finally {
    closeSync(log);
  }
}

/** Follows progress.json until the inside part is ready; undefined when a stop was asked first. */
async function waitForInside(files: Layout, server: { exited: Promise<number> }, stop: { asked: boolean }): Promise<Progress | undefined> {
  let exitCode: number | undefined;
  void server.exited.then((code) => (exitCode = code));
  for (;;) {
    const progress = (readJSON(files.progress) as Progress | undefined);
    if (progress?.phase === 'ready') return progress;
    if (progress?.phase === 'failed') throw new Error(progress.error ?? 'the local cloud failed to start');
    if (exitCode !== undefined) {
      // It may have written its failure just before exiting.
      const last = (readJSON(files.progress) as Progress | undefined);
      throw new Error(last?.error ?? `the cluster's process exited with code ${exitCode.toString()} before it was ready`);
    }
    if (stop.asked) return undefined;
    await delay(300);
  }
}

/** Asks the inside part to stop, then ends its namespaces for good. */
async function stopInside(files: Layout, server: { pid: number; exited: Promise<number> }): Promise<void> {
  if (!alive(server.pid)) return;
  await writeFile(files.stop, '');
  const timer = setTimeout(() => {
    // unshare --kill-child: its death kills the namespace's PID 1, and with it every process inside.
    if (alive(server.pid)) process.kill(server.pid, 'SIGKILL');
  }, STOP_GRACE_MS);
  await server.exited;
  clearTimeout(timer);
}

// ---- the verbs the user runs ----

function readState(files: Layout): HostState | undefined {
  return (readJSON(files.state) as HostState | undefined);
}

const running = (state: HostState | undefined): state is HostState => alive(state?.hostPid);

function tasksOf(files: Layout): TaskView[] {
  const state = readState(files);
  const progress = (readJSON(files.progress) as Progress | undefined);
  return [...(state?.tasks.slice(0, 1) ?? []), ...(progress?.tasks ?? []), ...(state?.tasks.slice(1) ?? [])];
}

/** Starts the supervisor in the background and prints the task list until it is ready or has failed. */
export async function up(profile: Profile, clusters: number, stateDir: string, out: NodeJS.WriteStream): Promise<{ code: number; state?: HostState }> {
  const files = layout(stateDir);
  const existing = readState(files);
  if (running(existing)) {
    console.error(`${name(profile)}: already running (pid ${existing.hostPid.toString()}, ${stateDir}); stop it with \`${name(profile)} down\` first`);
    return { code: 1 };
  }
  await rm(stateDir, { recursive: true, force: true });
  await mkdir(stateDir, { recursive: true });
  const log = openSync(files.hostLog, 'a');
  const args = ['--import', tsx, cli, '__host', '--profile', profile, ...(profile === 'demo' ? ['--clusters', clusters.toString()] : []), '--state-dir', stateDir];
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  child.unref();
  const printer = new TaskPrinter(out);
  const hostPid = child.pid;
  // Ctrl-C while it starts: stop everything started so far, as `down` would.
  const interrupted = { now: false };
  const onSignal = () => (interrupted.now = true);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await follow(profile, files, hostPid, printer, interrupted, out);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function follow(profile: Profile, files: Layout, hostPid: number | undefined, printer: TaskPrinter, interrupted: { now: boolean }, out: NodeJS.WriteStream): Promise<{ code: number; state?: HostState }> {
  for (;;) {
    const state = readState(files);
    printer.show(tasksOf(files));
    if (interrupted.now) {
      printer.print(`${name(profile)}: interrupted, stopping`);
      const code = await down(profile, files.dir);
      return { code: code === 0 ? 130 : 1 };
    }
    if (state?.phase === 'ready') return { code: 0, state };
    if (state?.phase === 'failed' || !alive(hostPid)) {
      const why = state?.error ?? (readJSON(files.progress) as Progress | undefined)?.error ?? 'the supervisor exited';
      console.error(`${name(profile)}: failed: ${why}`);
      console.error(`logs: ${files.serverLog} (cluster, clusterctl, simulators), ${files.podLogs}/ (pods), ${files.hostLog}`);
      await stopProcesses(files, hostPid);
      console.error(`\`${name(profile)} down\` removes them`);
      return { code: 1 };
    }
    await delay(out.isTTY ? 1000 : 500);
  }
}

/** Ends the supervisor and whatever it started, keeping the files. */
async function stopProcesses(files: Layout, hostPid: number | undefined): Promise<void> {
  const pid = hostPid ?? readState(files)?.hostPid;
  if (alive(pid)) process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + STOP_GRACE_MS + 30_000;
  while (alive(pid) && Date.now() < deadline) await delay(250);
  // Read after the supervisor is gone: it records the unshare process once it has started it.
  const serverPid = readState(files)?.serverPid;
  for (const p of [pid, serverPid]) if (alive(p)) process.kill(p, 'SIGKILL');
  while (alive(pid) || alive(serverPid)) await delay(100);
}

/** Stops a running local cloud (any shell), and removes its state directory. */
export async function down(profile: Profile, stateDir: string): Promise<number> {
  const files = layout(stateDir);
  const state = readState(files);
  if (!state && !existsSync(stateDir)) {
    console.log(`${name(profile)}: not running`);
    return 0;
  }
  await stopProcesses(files, state?.hostPid);
  await rm(stateDir, { recursive: true, force: true });
  console.log(`${name(profile)}: stopped${state ? ` (pid ${state.hostPid.toString()})` : ''}; removed ${stateDir}`);
  return 0;
}

export interface Status {
  running: boolean;
  phase?: HostState['phase'];
  stateDir: string;
  pid?: number;
  kubectl?: string;
  kubeconfigs: HostKubeconfig[];
  tenants: { name: string; namespace: string; machineDeployment: string }[];
  error?: string;
}

export function status(stateDir: string): Status {
  const state = readState(layout(stateDir));
  if (!running(state)) return { running: false, stateDir, kubeconfigs: [], tenants: [] };
  return {
    running: true,
    phase: state.phase,
    stateDir,
    pid: state.hostPid,
    ...(state.kubectl ? { kubectl: state.kubectl } : {}),
    kubeconfigs: state.kubeconfigs,
    tenants: state.tenants.map((t) => ({ name: t.name, namespace: t.namespace, machineDeployment: t.machineDeployment })),
    ...(state.error ? { error: state.error } : {}),
  };
}

/** Ready-to-paste commands for the host shell. */
export function nextSteps(state: Pick<HostState, 'kubectl' | 'kubeconfigs' | 'tenants'>, profile: Profile): string[] {
  const kubectl = state.kubectl ?? 'kubectl';
  const management = state.kubeconfigs.find((k) => k.name === 'management');
  const lines: string[] = [];
  if (management) {
    lines.push(`  ${kubectl} --kubeconfig ${management.path} get clusters -A`);
  }
  for (const t of state.tenants) {
    const tenant = state.kubeconfigs.find((k) => k.name === `tenant-${t.name}`);
    if (tenant) lines.push(`  ${kubectl} --kubeconfig ${tenant.path} get nodes`);
    if (management) lines.push(`  ${kubectl} --kubeconfig ${management.path} scale machinedeployment -n ${t.namespace} ${t.machineDeployment} --replicas=${(t.workers + 1).toString()}`);
  }
  if (profile === 'local' && management) lines.push(`  ${kubectl} --kubeconfig ${management.path} get pods -A`);
  return lines;
}

/** `kvcloud demo`: up, the describe trees and commands, then wait for Ctrl-C or `kvcloud demo down`. */
export async function demo(clusters: number, stateDir: string, out: NodeJS.WriteStream): Promise<number> {
  const interrupted = { now: false };
  const onSignal = () => (interrupted.now = true);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const { code, state } = await up('demo', clusters, stateDir, out);
    if (code !== 0 || !state) return code;
    const seconds = (((state.readyAt ?? Date.now()) - state.startedAt) / 1000).toFixed(0);
    const print = (s: string) => out.write(`${s}\n`);
    print('');
    for (const t of state.tenants) print(t.describe.trimEnd());
    print('');
    print(`The management cluster and ${state.tenants.length.toString()} tenant cluster${state.tenants.length === 1 ? '' : 's'} are up (${seconds} s). From this shell:`);
    for (const line of nextSteps(state, 'demo')) print(line);
    print('');
    print('Stop with Ctrl-C, or `make demo-down` (kvcloud demo down) from another shell.');
    print('kvcloud demo: ready');
    const files = layout(stateDir);
    while (!interrupted.now && running(readState(files))) await delay(500);
    if (interrupted.now) {
      print('kvcloud demo: stopping');
      return await down('demo', stateDir);
    }
    print('kvcloud demo: stopped');
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
