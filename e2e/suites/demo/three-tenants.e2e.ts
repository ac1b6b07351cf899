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
import { waitFor } from '../../../localcloud/wait.js';
import { CLI, startDemo, TSX, type DemoRun } from '../../harness/demo-cli.js';
import { applyManifest, ECHO_LABELS, echoDeployment, probeFromManagement, readyEchoPods, type Kubectl } from '../../harness/demo-workloads.js';
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

interface ServiceView {
  metadata: { name: string; labels?: Record<string, string> };
  spec?: { selector?: Record<string, string> };
  status?: { loadBalancer?: { ingress?: { ip?: string }[] } };
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
  let status: DemoStatus | undefined;
  let manifestDir: string;
  const baseline = { namespaces: new Set<string>(), mounts: [] as string[] };

  before(async () => {
    stateDir = await mkdtemp(join(runDir(), 'demo3-'));
    kubectlCache = await mkdtemp(join(runDir(), 'kubectl-cache-'));
    manifestDir = await mkdtemp(join(runDir(), 'demo3-manifests-'));
  });
  after(async function () {
    this.timeout(5 * 60_000);
    if (demo?.child.exitCode === null) {
      await run(TSX, [CLI, 'demo', 'down', '--state-dir', stateDir]).catch((err: unknown) => { console.log(`      demo down: ${(err as Error).message}`); });
      demo.child.kill('SIGKILL');
    }
    await rm(kubectlCache, { recursive: true, force: true });
    await rm(manifestDir, { recursive: true, force: true });
  });

  /** The printed kubectl with the kubeconfig `kvcloud demo status` names (`management`, `tenant-<name>`). */
  const kubectlFor = (name: string): Kubectl => {
    const kubeconfig = status?.kubeconfigs.find((k) => k.name === name)?.path;
    if (!status?.kubectl || !kubeconfig) throw new Error(`no kubeconfig ${name} in the demo's status (see the first test)`);
    const bin = status.kubectl;
    return async (...args) => (await run(bin, ['--kubeconfig', kubeconfig, `--cache-dir=${kubectlCache}`, ...args])).stdout;
  };

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

    status = JSON.parse((await run(TSX, [CLI, 'demo', 'status', '--json', '--state-dir', stateDir])).stdout) as DemoStatus;
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

  it("keeps two tenants' load balancers apart: labels naming another cluster are refused with an Event, and each address answers from its own tenant's pods only", async function () {
    this.timeout(4 * 60_000);
    const begun = Date.now();
    const management = kubectlFor('management');
    const [mine, theirs] = ['acme', 'acme-2'] as const;
    // acme's Service carries the labels that would make its infra Service pass for acme-2's (both share the
    // tenants namespace, where the infra selectors and the CCMs' ownership checks read them).
    const crafted = { 'cluster.x-k8s.io/cluster-name': theirs, 'cluster.x-k8s.io/role': 'worker' };
    for (const t of [mine, theirs]) {
      const lb = {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'echo-lb', namespace: 'default', ...(t === mine ? { labels: crafted } : {}) },
        spec: { type: 'LoadBalancer', selector: ECHO_LABELS, ports: [{ port: 80, targetPort: 8080 }] },
      };
      await applyManifest(kubectlFor(`tenant-${t}`), manifestDir, `echo-${t}`, [echoDeployment(2), lb]);
    }
    const address = async (t: string) =>
      waitFor(
        async () => (JSON.parse(await kubectlFor(`tenant-${t}`)('get', 'service', '-n', 'default', 'echo-lb', '-o', 'json')) as ServiceView).status?.loadBalancer?.ingress?.[0]?.ip,
        { timeoutMs: 90_000, intervalMs: 500, what: `an address for ${t}'s LoadBalancer Service echo-lb` },
      );
    const ips: Record<string, string> = { [mine]: await address(mine), [theirs]: await address(theirs) };
    expect(ips[mine], 'the two tenants share no address').to.not.equal(ips[theirs]);

    // One infra Service each, labelled and selecting by its own cluster's name, whatever the tenant's labels say.
    const infra = (JSON.parse(await management('get', 'services', '-n', 'tenants', '-l', 'cluster.x-k8s.io/tenant-service-name=echo-lb', '-o', 'json')) as { items: ServiceView[] }).items;
    const byCluster = new Map(infra.map((s) => [s.metadata.labels?.['cluster.x-k8s.io/cluster-name'] ?? '?', s]));
    expect([...byCluster.keys()].sort(), 'clusters of the infra Services of echo-lb').to.deep.equal([mine, theirs]);
    for (const [cluster, svc] of byCluster) {
      expect(svc.spec?.selector, `${svc.metadata.name}'s selector`).to.include({ 'cluster.x-k8s.io/cluster-name': cluster, 'cluster.x-k8s.io/role': 'worker' });
      expect(svc.status?.loadBalancer?.ingress?.[0]?.ip, `${svc.metadata.name}'s address`).to.equal(ips[cluster]);
    }
    const refusals = await waitFor(
      async () => {
        const events = (JSON.parse(await kubectlFor(`tenant-${mine}`)('get', 'events', '-n', 'default', '--field-selector', 'involvedObject.name=echo-lb,reason=RefusedMetadata', '-o', 'json')) as { items: { message: string }[] }).items;
        return events.length > 0 ? events : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 500, what: `the RefusedMetadata Event on ${mine}'s echo-lb` },
    );
    expect(refusals[0]?.message).to.include('label cluster.x-k8s.io/cluster-name').and.include('label cluster.x-k8s.io/role');

    // A management-side client asking each address four times gets answers from that tenant's echo pods only.
    for (const t of [mine, theirs]) {
      const pods = await readyEchoPods(kubectlFor(`tenant-${t}`), 2);
      const url = `http://${ips[t] ?? '?'}/`;
      await probeFromManagement(management, manifestDir, `lb-probe-${t}`, [url, url, url, url], pods);
    }
    console.log(`      two tenants' LoadBalancers ${ips[mine] ?? '?'} and ${ips[theirs] ?? '?'} kept apart in ${((Date.now() - begun) / 1000).toFixed(1)} s`);
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
