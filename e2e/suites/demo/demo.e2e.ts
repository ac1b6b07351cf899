// `make demo` as a user runs it: the `kvcloud demo` command (not library calls) starts the local cloud and a tenant
// cluster and prints commands for the host shell. This suite runs those printed commands from its own network
// namespace, not the demo's (the kubeconfigs point at 127.0.0.1 ports forwarded into the demo's private network),
// with the kubectl of the cluster's version the demo names, scales the tenant's MachineDeployment from 2 to 3 and
// sees 3 Ready Nodes, then stops it with `kvcloud demo down` and checks that no process, namespace, mount or file
// of it is left.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { parse } from 'yaml';
import { cacheDir } from '../../../localcloud/binaries.js';
import { processesReferencing, runDir } from '../../../localcloud/run-dir.js';
import { upstreamVersion } from '../../../localcloud/versions.js';
import { waitFor } from '../../../localcloud/wait.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');
const CLI = join(ROOT, 'localcloud', 'cli', 'kvcloud.ts');
const VERSION = upstreamVersion('KUBERNETES_VERSION');

/** Every namespace some process on this machine is in (net, pid, mnt), as the kernel names them. */
function namespaces(): Set<string> {
  const out = new Set<string>();
  for (const pid of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    for (const kind of ['net', 'pid', 'mnt']) {
      try {
        out.add(readlinkSync(`/proc/${pid}/ns/${kind}`));
      } catch {
        // exited while we looked
      }
    }
  }
  return out;
}

const mounts = () => readFileSync('/proc/self/mountinfo', 'utf8').trim().split('\n');

interface Kubeconfig {
  clusters: { cluster: { server: string; 'tls-server-name'?: string } }[];
}

describe('kvcloud demo: the main job in one command, reached from the host shell', () => {
  let stateDir: string;
  let demo: ChildProcess | undefined;
  let demoExit: Promise<number | null> | undefined;
  let output = '';
  let commands: { management: string[]; tenantNodes: string[]; scale: string[] } | undefined;
  let cacheDirForKubectl: string;
  const baseline = { namespaces: new Set<string>(), mounts: [] as string[] };

  const printed = () => {
    if (!commands) throw new Error(`the demo printed no commands (see the first test); its output:\n${output}`);
    return commands;
  };
  /** Runs one printed kubectl command line, with a private discovery cache so the test writes nothing in HOME. */
  const kubectl = async (argv: string[], ...more: string[]) => {
    const [bin, ...args] = argv;
    if (!bin) throw new Error('empty command');
    return (await run(bin, [...args, ...more, `--cache-dir=${cacheDirForKubectl}`], { maxBuffer: 16 * 1024 * 1024 })).stdout;
  };

  before(async () => {
    stateDir = await mkdtemp(join(runDir(), 'demo-'));
    cacheDirForKubectl = await mkdtemp(join(runDir(), 'kubectl-cache-'));
  });
  after(async function () {
    this.timeout(5 * 60_000);
    // Only when a test failed half-way: the last test stops the demo itself.
    if (demo?.exitCode === null) {
      await run(TSX, [CLI, 'demo', 'down', '--state-dir', stateDir]).catch((err: unknown) => { console.log(`      demo down: ${(err as Error).message}`); });
      demo.kill('SIGKILL');
    }
    await rm(cacheDirForKubectl, { recursive: true, force: true });
  });

  it('`kvcloud demo` shows its steps, the clusterctl describe tree and commands for the host shell, then its ready line', async function () {
    this.timeout(30 * 60_000);
    baseline.namespaces = namespaces();
    baseline.mounts = mounts();
    const begun = Date.now();
    const child = spawn(TSX, [CLI, 'demo', '--state-dir', stateDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    demo = child;
    demoExit = new Promise((resolve) => child.once('exit', (code) => { resolve(code); }));
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    await waitFor(
      () => {
        if (child.exitCode !== null) throw new Error(`kvcloud demo exited with code ${String(child.exitCode)}`);
        return /^kvcloud demo: ready$/m.test(output) ? true : undefined;
      },
      { timeoutMs: 28 * 60_000, intervalMs: 1000, what: 'the ready line of `kvcloud demo`' },
    ).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}\n--- kvcloud demo printed:\n${output}`, { cause: err });
    });
    console.log(`      kvcloud demo ready after ${((Date.now() - begun) / 1000).toFixed(1)} s; it printed:\n${output.replace(/^/gm, '        ')}`);

    // The task list: each step done, with its time.
    for (const step of [
      /✓ management cluster \(.*\) \(\d+\.\d s\)/,
      /✓ clusterctl init --infrastructure kubevirt --control-plane kamaji \(\d+\.\d s\)/,
      /✓ KubeVirt\/CDI simulator/,
      /✓ DataStore "default" on a shared etcd/,
      /✓ tenant acme: hosted control plane \(\d+\.\d s\)/,
      /✓ tenant acme: 2 workers/,
      /✓ tenant acme: Cluster Available/,
      /✓ host access: 127\.0\.0\.1 ports forwarded into the cluster network/,
    ]) {
      expect(output, String(step)).to.match(step);
    }
    expect(output, 'the clusterctl describe tree').to.match(/^Cluster tenants\/acme\s+3\/3\b/m);
    expect(output).to.match(/MachineDeployment tenants\/acme-md-0, v\d+\.\d+\.\d+\s+2\/2\b/);

    const line = (pattern: RegExp) => {
      const found = output.split('\n').find((l) => pattern.test(l));
      if (!found) throw new Error(`no printed command matching ${String(pattern)}`);
      return found.trim().split(/\s+/);
    };
    commands = {
      management: line(/--kubeconfig \S+ get clusters -A$/),
      tenantNodes: line(/--kubeconfig \S+ get nodes$/),
      scale: line(/--kubeconfig \S+ scale machinedeployment -n tenants acme-md-0 --replicas=3$/),
    };
  });

  it('the printed kubeconfigs point at 127.0.0.1 and work from this network namespace, with kubectl of the cluster\'s version', async function () {
    this.timeout(2 * 60_000);
    const { management, tenantNodes } = printed();
    const kubectlBin = management[0] ?? '';
    expect(kubectlBin, 'the kubectl the commands use').to.equal(join(cacheDir(), 'bin', `kubernetes-${VERSION}`, 'kubectl'));
    const client = JSON.parse(await kubectl([kubectlBin, 'version', '--client', '-o', 'json'])) as { clientVersion: { gitVersion: string } };
    expect(client.clientVersion.gitVersion).to.equal(VERSION);

    for (const argv of [management, tenantNodes]) {
      const path = argv[2] ?? '';
      expect(path.startsWith(`${stateDir}/`), `${path} is in the demo's state directory`).to.equal(true);
      const config = parse(readFileSync(path, 'utf8')) as Kubeconfig;
      expect(config.clusters[0]?.cluster.server, path).to.match(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect(config.clusters[0]?.cluster['tls-server-name'], `${path}: the address the certificate was issued for`).to.match(/^10\.\d+\.\d+\.\d+$/);
    }
    // The demo's cluster network is not ours: its addresses are not reachable from here, only the forwarded ports.
    const state = JSON.parse(readFileSync(join(stateDir, 'state.json'), 'utf8')) as { serverPid: number };
    expect(readlinkSync(`/proc/${state.serverPid.toString()}/ns/net`), 'the demo runs in this network namespace').to.not.equal(readlinkSync('/proc/self/ns/net'));

    expect(await kubectl(management, '-o', 'name')).to.match(/^cluster\.cluster\.x-k8s\.io\/acme$/m);
    const nodes = JSON.parse(await kubectl(tenantNodes, '-o', 'json')) as { items: { status?: { conditions?: { type: string; status: string }[] } }[] };
    expect(nodes.items.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')), 'Ready tenant Nodes').to.have.length(2);
  });

  it('the printed scale command takes the tenant from 2 to 3 workers, and 3 Nodes are Ready', async function () {
    this.timeout(15 * 60_000);
    const { scale, tenantNodes } = printed();
    const begun = Date.now();
    expect(await kubectl(scale)).to.match(/machinedeployment\.cluster\.x-k8s\.io\/acme-md-0 scaled/);
    let last = '';
    await waitFor(
      async () => {
        const nodes = JSON.parse(await kubectl(tenantNodes, '-o', 'json')) as { items: { metadata: { name: string }; status?: { conditions?: { type: string; status: string }[] } }[] };
        const ready = nodes.items.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
        last = nodes.items.map((n) => `${n.metadata.name}:${ready.includes(n) ? 'Ready' : 'NotReady'}`).join(', ');
        return ready.length === 3 && nodes.items.length === 3 ? true : undefined;
      },
      { timeoutMs: 14 * 60_000, intervalMs: 2000, what: '3 Ready tenant Nodes' },
    ).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}; nodes: ${last}`, { cause: err });
    });
    console.log(`      3 Ready tenant Nodes ${((Date.now() - begun) / 1000).toFixed(1)} s after scaling (${last})`);
  });

  it('`kvcloud demo down` ends the demo: its command exits 0, and no process, namespace, mount or file of it is left', async function () {
    this.timeout(5 * 60_000);
    const begun = Date.now();
    const down = await run(TSX, [CLI, 'demo', 'down', '--state-dir', stateDir]);
    expect(down.stdout).to.match(/kvcloud demo: stopped/);
    expect(await demoExit, 'the exit code of `kvcloud demo`').to.equal(0);
    console.log(`      stopped in ${((Date.now() - begun) / 1000).toFixed(1)} s`);
    expect(output).to.match(/^kvcloud demo: stopped$/m);

    expect(existsSync(stateDir), `${stateDir} (state, logs, sockets, kubeconfigs, the cluster's files)`).to.equal(false);
    expect(processesReferencing(stateDir), 'processes of the demo').to.deep.equal([]);
    const left = [...namespaces()].filter((ns) => !baseline.namespaces.has(ns));
    expect(left, 'namespaces the demo made').to.deep.equal([]);
    expect(mounts(), 'mounts').to.deep.equal(baseline.mounts);
  });
});
