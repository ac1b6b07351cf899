// Workloads the demo suites run through the kubectl commands `kvcloud demo` prints: the echo Deployment of the test
// image, manifests applied from files (as a user pastes them), and a probe pod in the management cluster, where a
// management-side client would be (the suites live in another network namespace than the demo, which forwards only
// the apiservers).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { stringify } from 'yaml';
import { TEST_ECHO_IMAGE, TEST_SHELL_IMAGE } from '../../localcloud/cluster/images.js';
import { waitFor } from '../../localcloud/wait.js';

/** One printed kubectl command line, with its kubeconfig, taking the rest of the arguments. */
export type Kubectl = (...args: string[]) => Promise<string>;

export const ECHO_LABELS = { app: 'echo' };

/** Replicas of the test image answering with their pod name, at most one more on any VM than on another. */
export function echoDeployment(replicas: number): object {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'echo', namespace: 'default' },
    spec: {
      replicas,
      selector: { matchLabels: ECHO_LABELS },
      template: {
        metadata: { labels: ECHO_LABELS },
        spec: {
          // Honor: a cordoned (draining) Node is no spreading domain, so the replacements of evicted pods fit on the others.
          topologySpreadConstraints: [
            { maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'DoNotSchedule', nodeTaintsPolicy: 'Honor', labelSelector: { matchLabels: ECHO_LABELS } },
          ],
          containers: [
            {
              name: 'echo',
              image: TEST_ECHO_IMAGE,
              args: ['--port=8080'],
              ports: [{ containerPort: 8080 }],
              env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
              readinessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 1 },
            },
          ],
        },
      },
    },
  };
}

interface EchoPod {
  metadata: { name: string; deletionTimestamp?: string };
  status?: { phase?: string; conditions?: { type: string; status: string }[] };
}

/**
 * The names of the echo pods once exactly `replicas` of them run Ready: a probe sent before that tests how fast the
 * pods start (seconds more on a loaded machine), not where the traffic goes.
 */
export async function readyEchoPods(kubectl: Kubectl, replicas: number): Promise<string[]> {
  let seen = '';
  return waitFor(
    async () => {
      const pods = (JSON.parse(await kubectl('get', 'pods', '-n', 'default', '-l', 'app=echo', '-o', 'json')) as { items: EchoPod[] }).items;
      seen = pods.map((p) => `${p.metadata.name} ${p.status?.phase ?? '?'}`).join(', ');
      const ready = pods.filter((p) => !p.metadata.deletionTimestamp && p.status?.phase === 'Running' && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
      return ready.length === replicas && pods.length === replicas ? ready.map((p) => p.metadata.name) : undefined;
    },
    { timeoutMs: 3 * 60_000, intervalMs: 1000, what: `${String(replicas)} echo pods Running and Ready` },
  ).catch((err: unknown) => {
    throw new Error(`${(err as Error).message}; pods: ${seen}`, { cause: err });
  });
}

/** Writes the objects to `<dir>/<name>.yaml` and applies that file, as a user applies a manifest. */
export async function applyManifest(kubectl: Kubectl, dir: string, name: string, objects: object[]): Promise<string> {
  const file = join(dir, `${name}.yaml`);
  await writeFile(file, objects.map((o) => stringify(o)).join('---\n'));
  return kubectl('apply', '-f', file);
}

interface ProbeStatus {
  phase?: string;
  containerStatuses?: { state?: { terminated?: { message?: string } } }[];
}

/**
 * Runs a pod in the management cluster's default namespace that fetches each URL and succeeds only when every one
 * answered with one of the echo pods `names`; otherwise its termination message says which did not.
 */
export async function probeFromManagement(management: Kubectl, dir: string, name: string, urls: string[], names: string[]): Promise<void> {
  const script = [
    'set -e',
    `for url in ${urls.join(' ')}; do`,
    '  body=$(curl -sS --max-time 5 --retry 10 --retry-all-errors --retry-delay 1 "$url")',
    `  pod=$(printf '%s' "$body" | sed -n 's/.*"pod":"\\([^"]*\\)".*/\\1/p')`,
    `  case " ${names.join(' ')} " in *" $pod "*) echo "$url $pod" ;; *) echo "$url answered $body" >&2; exit 1 ;; esac`,
    'done',
  ].join('\n');
  const probe = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: { restartPolicy: 'Never', containers: [{ name: 'curl', image: TEST_SHELL_IMAGE, command: ['sh', '-c', script], terminationMessagePolicy: 'FallbackToLogsOnError' }] },
  };
  await applyManifest(management, dir, name, [probe]);
  let status: ProbeStatus | undefined;
  const phase = await waitFor(
    async () => {
      status = (JSON.parse(await management('get', 'pod', '-n', 'default', name, '-o', 'json')) as { status?: ProbeStatus }).status;
      return status?.phase === 'Succeeded' || status?.phase === 'Failed' ? status.phase : undefined;
    },
    { timeoutMs: 90_000, intervalMs: 500, what: `the probe pod ${name} to finish` },
  );
  expect(phase, `${name}: ${status?.containerStatuses?.[0]?.state?.terminated?.message ?? JSON.stringify(status)}`).to.equal('Succeeded');
  await management('delete', 'pod', '-n', 'default', name, '--wait=false');
}
