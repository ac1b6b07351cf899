// Twenty bad cloud-configs through the CCM program itself, started as the local cloud starts it (from its image in
// image mode, else compiled from the work tree; localcloud/cluster/image-process.ts) with upstream's flags: each
// stops start-up with a non-zero exit and one line naming the key or the problem. Both kubeconfigs point at a port nothing listens on, so no cluster is needed, and a good
// cloud-config with the same command line gets past start-up: the exits come from the configs, before any connection.
// An e2e suite rather than a unit test: components' tests may not import packaging/, which builds the program.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { stringify } from 'yaml';
import { startProgram } from '../../../localcloud/cluster/image-process.js';
import { runDir } from '../../../localcloud/run-dir.js';
import { waitFor } from '../../../localcloud/wait.js';

/** A kubeconfig for a cluster at https://127.0.0.1:1, where nothing listens; `namespace` in its context if given. */
function unreachableKubeconfig(namespace?: string): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'nowhere', cluster: { server: 'https://127.0.0.1:1', 'insecure-skip-tls-verify': true } }],
    users: [{ name: 'nobody', user: { token: 'unused' } }],
    contexts: [{ name: 'nowhere', context: { cluster: 'nowhere', user: 'nobody', ...(namespace ? { namespace } : {}) } }],
    'current-context': 'nowhere',
  });
}

interface BadConfig {
  name: string;
  /** The cloud-config's text; `dir` holds the kubeconfigs written for the run. */
  yaml: (dir: string) => string;
  /** 2: the flags or cloud-config cannot be used; 1: start-up failed past them. */
  exitCode: 1 | 2;
  message: RegExp;
}

const parsed = (yaml: string, message: RegExp): Omit<BadConfig, 'name'> => ({ yaml: () => yaml, exitCode: 2, message });

const BAD: BadConfig[] = [
  { name: 'broken YAML', ...parsed('loadBalancer: [enabled\n', /cloud-config \S+: not valid YAML/) },
  { name: 'a key given twice', ...parsed('namespace: a\nnamespace: b\n', /cloud-config \S+: not valid YAML: .*[Uu]nique/) },
  { name: 'a scalar at the top', ...parsed('kubevirt\n', /expected a mapping at the top, got string "kubevirt"/) },
  { name: 'a key in the wrong case', ...parsed('kubeConfig: /x\n', /kubeConfig: unknown key \(known here: kubeconfig, namespace/) },
  { name: 'a misspelt loadBalancer key', ...parsed('loadBalancer:\n  enabeld: true\n', /loadBalancer\.enabeld: unknown key/) },
  { name: 'a misspelt instancesV2 key', ...parsed('instancesV2:\n  zoneAndRegion: true\n', /instancesV2\.zoneAndRegion: unknown key/) },
  { name: 'a word that is no boolean', ...parsed('loadBalancer:\n  enabled: maybe\n', /loadBalancer\.enabled: expected a boolean, got string "maybe"/) },
  { name: 'a quoted boolean', ...parsed('loadBalancer:\n  selectorless: "true"\n', /loadBalancer\.selectorless: expected a boolean, got string "true"/) },
  { name: 'a number for a boolean', ...parsed('instancesV2:\n  enabled: 1\n', /instancesV2\.enabled: expected a boolean, got number 1/) },
  { name: 'a string for a mapping', ...parsed('loadBalancer: enabled\n', /loadBalancer: expected a mapping, got string "enabled"/) },
  { name: 'a duration for seconds', ...parsed('loadBalancer:\n  creationPollInterval: 5s\n', /loadBalancer\.creationPollInterval: expected an integer, got string "5s"/) },
  { name: 'a fraction for seconds', ...parsed('loadBalancer:\n  creationPollTimeout: 2.5\n', /loadBalancer\.creationPollTimeout: expected an integer, got number 2.5/) },
  { name: 'a list of labels', ...parsed('infraLabels:\n  - team=blue\n', /infraLabels: expected a mapping of strings, got a list/) },
  { name: 'an unquoted number as a label value', ...parsed('infraLabels:\n  tier: 3\n', /infraLabels\.tier: expected a string, got number 3 \(quote it\)/) },
  { name: 'a label the CCM owns', ...parsed('infraLabels:\n  cluster.x-k8s.io/cluster-name: other\n', /infraLabels\.cluster\.x-k8s\.io\/cluster-name: the CCM sets this label itself/) },
  { name: 'an annotation key with an upper-case prefix', ...parsed('infraAnnotations:\n  Example.com/x: owner\n', /infraAnnotations: key "Example\.com\/x" is not a valid annotation key/) },
  { name: 'a namespace that is no DNS label', ...parsed('namespace: Tenant_NS\n', /namespace: "Tenant_NS" is not a valid namespace name/) },
  { name: 'a class that is no qualified name', ...parsed('loadBalancer:\n  classes:\n    "-bad": ""\n', /loadBalancer\.classes: key "-bad" is not a valid loadBalancerClass/) },
  {
    name: 'an infra kubeconfig that does not exist',
    yaml: (dir) => stringify({ kubeconfig: join(dir, 'missing.kubeconfig'), namespace: 'tenant-acme' }),
    exitCode: 1,
    message: /start-up failed: cloud-config kubeconfig \S+missing\.kubeconfig: .*(ENOENT|no such file)/,
  },
  {
    name: 'no namespace: none set, none in the infra kubeconfig context',
    yaml: (dir) => stringify({ kubeconfig: join(dir, 'infra-without-namespace.kubeconfig') }),
    exitCode: 1,
    message: /start-up failed: cloud-config: no namespace, and the infra kubeconfig context names none; set namespace/,
  },
];

describe('ccm start-up: twenty bad cloud-configs stop the program with a message naming the problem', function () {
  this.timeout(120_000);
  let dir = '';
  let runs = 0;
  /** One run's exit code and everything it wrote (stdout and stderr share its log). */
  const results = new Map<string, { code: number | null; output: string; ms: number }>();

  /** The command line of upstream's manifests, the tenant unreachable, with `cloudConfig` as --cloud-config. */
  const flags = (cloudConfig: string): string[] => [
    '--cloud-provider=kubevirt',
    `--cloud-config=${cloudConfig}`,
    `--kubeconfig=${join(dir, 'tenant.kubeconfig')}`,
    '--cluster-name=acme',
    '--authentication-skip-lookup=true',
    '--leader-elect',
    '--metrics-bind-address=0',
    '--health-probe-bind-address=0',
  ];

  /** The CCM with `cloudConfig`; every file it is given lives in `dir`, which an image's root sees at the same path. */
  async function startCcm(cloudConfig: string) {
    const name = `ccm-${String(++runs)}`;
    const logFile = join(dir, `${name}.log`);
    const ccm = await startProgram({ name, component: 'ccm', args: flags(cloudConfig), paths: [dir], runDir: dir, logFile });
    return { ccm, output: () => readFileSync(logFile, 'utf8') };
  }

  before(async function () {
    dir = mkdtempSync(join(runDir(), 'ccm-cloud-config-'));
    writeFileSync(join(dir, 'tenant.kubeconfig'), unreachableKubeconfig('kube-system'));
    writeFileSync(join(dir, 'infra.kubeconfig'), unreachableKubeconfig('tenant-acme'));
    writeFileSync(join(dir, 'infra-without-namespace.kubeconfig'), unreachableKubeconfig());
    const started = Date.now();
    // Five at a time: each is a Node start-up, and twenty at once would measure the machine, not the CCM.
    const queue = BAD.map((tc, i) => ({ tc, file: join(dir, `cloud-config-${String(i)}.yaml`) }));
    const worker = async (): Promise<void> => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        writeFileSync(next.file, next.tc.yaml(dir));
        const begun = Date.now();
        const { ccm, output } = await startCcm(next.file);
        // A config the CCM wrongly accepts keeps it running: stopped after a bound, its case then fails on the code.
        const bound = setTimeout(() => void ccm.stop(1_000), 20_000);
        const { code } = await ccm.exited;
        clearTimeout(bound);
        results.set(next.tc.name, { code, output: output(), ms: Date.now() - begun });
      }
    };
    await Promise.all(Array.from({ length: 5 }, worker));
    const slowest = Math.max(...[...results.values()].map((r) => r.ms));
    console.log(`      ${String(BAD.length)} bad cloud-configs refused in ${String(Date.now() - started)} ms, 5 at a time (slowest start ${String(slowest)} ms)`);
  });

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('holds twenty cases', () => {
    expect(BAD).to.have.length(20);
  });

  for (const tc of BAD) {
    it(`refuses ${tc.name}: exit ${String(tc.exitCode)}, naming it, before any connection`, () => {
      const ran = results.get(tc.name);
      expect(ran, 'ran').to.not.equal(undefined);
      const output = ran?.output ?? '';
      expect(ran?.code, output).to.equal(tc.exitCode);
      expect(output).to.match(/^ccm: /);
      expect(output).to.match(tc.message);
      expect(output.trim().split('\n'), 'one line, no stack trace, nothing else').to.have.length(1);
      expect(output, 'no connection was tried').to.not.match(/ECONNREFUSED|127\.0\.0\.1:1\b/);
    });
  }

  it('gets past start-up with a good cloud-config and the same unreachable clusters', async () => {
    const good = join(dir, 'good.yaml');
    writeFileSync(good, stringify({ kubeconfig: join(dir, 'infra.kubeconfig'), namespace: 'tenant-acme', loadBalancer: { enableEPSController: true } }));
    // The CCM logs this once the cloud-config and the infra kubeconfig are accepted, and keeps running (trying to
    // reach the clusters) until it is stopped.
    const { ccm, output } = await startCcm(good);
    try {
      const seen = await waitFor(
        () => {
          if (!ccm.running) throw new Error(`the CCM exited ${JSON.stringify(ccm.exitStatus)}: ${output()}`);
          return output().includes('connected to the infra cluster') ? output() : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 100, what: 'the CCM to accept the cloud-config' },
      );
      expect(seen).to.include('"infraNamespace":"tenant-acme"');
    } finally {
      await ccm.stop();
    }
  });
});
