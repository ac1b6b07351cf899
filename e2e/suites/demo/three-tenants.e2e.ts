// `make demo CLUSTERS=3` as a user runs it: `kvcloud demo --clusters 3` makes three tenant clusters from the default
// template side by side, each reachable from the host shell with its own printed kubeconfig, and Ctrl-C (SIGINT to
// the foreground command) stops it all. demo.e2e.ts covers one tenant in depth and `kvcloud demo down`; this suite
// covers the count and the other way out.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { processesReferencing, runDir } from '../../../localcloud/run-dir.js';
import { CLI, startDemo, TSX, type DemoRun } from '../../harness/demo-cli.js';
import { mounts, namespaces } from '../../harness/leftovers.js';

const run = promisify(execFile);
const TENANTS = ['acme', 'acme-2', 'acme-3'];

interface DemoStatus {
  running: boolean;
  phase?: string;
  kubectl?: string;
  kubeconfigs: { name: string; path: string }[];
  tenants: { name: string; namespace: string; machineDeployment: string }[];
}

interface NodeList {
  items: {
    metadata: { name: string; uid: string };
    spec?: { providerID?: string; taints?: { key: string }[] };
    status?: { conditions?: { type: string; status: string }[] };
  }[];
}

describe('kvcloud demo --clusters 3: three tenant clusters side by side, stopped with Ctrl-C', () => {
  let stateDir: string;
  let kubectlCache: string;
  let demo: DemoRun | undefined;
  const baseline = { namespaces: new Set<string>(), mounts: [] as string[] };

  before(async () => {
    stateDir = await mkdtemp(join(runDir(), 'demo3-'));
    kubectlCache = await mkdtemp(join(runDir(), 'kubectl-cache-'));
  });
  after(async function () {
    this.timeout(5 * 60_000);
    if (demo?.child.exitCode === null) {
      await run(TSX, [CLI, 'demo', 'down', '--state-dir', stateDir]).catch((err: unknown) => { console.log(`      demo down: ${(err as Error).message}`); });
      demo.child.kill('SIGKILL');
    }
    await rm(kubectlCache, { recursive: true, force: true });
  });

  it('makes three tenants, each Available with its own workers, and prints a kubeconfig for each that works from this shell', async function () {
    this.timeout(30 * 60_000);
    baseline.namespaces = namespaces();
    baseline.mounts = mounts();
    const begun = Date.now();
    demo = startDemo(['--clusters', '3', '--state-dir', stateDir]);
    await demo.ready(28 * 60_000);
    const output = demo.output();
    console.log(`      three tenants ready after ${((Date.now() - begun) / 1000).toFixed(1)} s`);
    expect(output).to.match(/The management cluster and 3 tenant clusters are up/);
    for (const t of TENANTS) {
      expect(output, `${t}'s steps`).to.match(new RegExp(`✓ tenant ${t}: Cluster Available`));
      expect(output, `${t}'s describe tree`).to.match(new RegExp(`^Cluster tenants/${t}\\s+3/3\\b`, 'm'));
    }

    const status = JSON.parse((await run(TSX, [CLI, 'demo', 'status', '--json', '--state-dir', stateDir])).stdout) as DemoStatus;
    expect(status.running).to.equal(true);
    expect(status.tenants.map((t) => t.name)).to.deep.equal(TENANTS);
    const kubectlBin = status.kubectl ?? '';
    const seen = new Set<string>();
    for (const t of TENANTS) {
      const kubeconfig = status.kubeconfigs.find((k) => k.name === `tenant-${t}`)?.path ?? '';
      expect(output, `the printed command for ${t}`).to.include(`${kubectlBin} --kubeconfig ${kubeconfig} get nodes`);
      const nodes = JSON.parse((await run(kubectlBin, ['--kubeconfig', kubeconfig, `--cache-dir=${kubectlCache}`, 'get', 'nodes', '-o', 'json'])).stdout) as NodeList;
      const ready = nodes.items.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
      expect(ready, `Ready Nodes of ${t}`).to.have.length(2);
      // Each tenant has its own control plane and its own VMs: no Node object is shared.
      for (const n of nodes.items) {
        expect(n.metadata.name.startsWith(`${t}-`), `${n.metadata.name} is one of ${t}'s VMs`).to.equal(true);
        expect(seen.has(n.metadata.uid), `${n.metadata.name} seen in another tenant`).to.equal(false);
        seen.add(n.metadata.uid);
        // Initialised by the tenant's own CCM (the kubelets run with --cloud-provider=external).
        expect(n.spec?.providerID, n.metadata.name).to.equal(`kubevirt://${n.metadata.name}`);
        expect((n.spec?.taints ?? []).map((x) => x.key), n.metadata.name).to.not.include('node.cloudprovider.kubernetes.io/uninitialized');
      }
    }

    // The three CCMs share the tenants namespace, where a namespaced Role cannot tell their objects apart (each CCM
    // keeps to its own by the cluster-name label). What RBAC does hold: a CCM's account reaches nothing beyond the
    // infra Services, EndpointSlices and VMs there; not the other tenants' kubeconfig Secrets, nor their CCMs.
    const management = status.kubeconfigs.find((k) => k.name === 'management')?.path ?? '';
    const canI = async (account: string, verb: string, resource: string, namespace: string) => {
      const { stdout } = await run(kubectlBin, ['--kubeconfig', management, `--cache-dir=${kubectlCache}`, 'auth', 'can-i', verb, resource, '-n', namespace, '--as', `system:serviceaccount:tenants:${account}`]).catch(
        (err: unknown) => err as { stdout: string },
      );
      return stdout.trim();
    };
    const checks: [string, string, string, string][] = [
      ['patch', 'services', 'tenants', 'yes'],
      ['delete', 'endpointslices.discovery.k8s.io', 'tenants', 'yes'],
      ['list', 'virtualmachines.kubevirt.io', 'tenants', 'yes'],
      ['delete', 'virtualmachines.kubevirt.io', 'tenants', 'no'],
      ['get', 'secrets', 'tenants', 'no'],
      ['patch', 'deployments.apps', 'tenants', 'no'],
      ['create', 'pods', 'tenants', 'no'],
      ['patch', 'services', 'default', 'no'],
    ];
    for (const t of TENANTS) {
      const got = await Promise.all(checks.map(([verb, resource, namespace]) => canI(`${t}-ccm`, verb, resource, namespace)));
      expect(got, `${t}-ccm may ${checks.map(([v, r, n]) => `${v} ${r} in ${n}`).join(', ')}`).to.deep.equal(checks.map((c) => c[3]));
    }
  });

  it('Ctrl-C (SIGINT) stops the demo: it exits 0, and no process, namespace, mount or file of it is left', async function () {
    this.timeout(5 * 60_000);
    if (demo?.child.exitCode !== null) throw new Error(`the demo is not running; it printed:\n${demo?.output() ?? ''}`);
    const begun = Date.now();
    demo.child.kill('SIGINT');
    expect(await demo.exited, 'the exit code of `kvcloud demo` after Ctrl-C').to.equal(0);
    console.log(`      stopped by Ctrl-C in ${((Date.now() - begun) / 1000).toFixed(1)} s`);
    expect(demo.output()).to.match(/^kvcloud demo: stopping$/m);
    expect(existsSync(stateDir), `${stateDir} (state, logs, sockets, kubeconfigs, the cluster's files)`).to.equal(false);
    expect(processesReferencing(stateDir), 'processes of the demo').to.deep.equal([]);
    const left = [...namespaces()].filter((ns) => !baseline.namespaces.has(ns));
    expect(left, 'namespaces the demo made').to.deep.equal([]);
    expect(mounts(), 'mounts').to.deep.equal(baseline.mounts);
  });
});
