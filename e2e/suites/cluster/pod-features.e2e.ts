// What a pod sees and how it is run, checked from inside the pod through the test image: volumes at their
// mountPaths, environment from the downward API, ConfigMaps and Secrets, a projected ServiceAccount token that
// RBAC judges; and init containers, run-to-completion and hostNetwork pods, probes, image errors and graceful
// deletion; and mount propagation between a privileged container, the node and other containers.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import type { KubeObject } from '../../../lib/kube/object.js';
import { TEST_SHELL_IMAGE } from '../../../localcloud/cluster/images.js';
import type { Container, Pod } from '../../../localcloud/cluster/pod-api.js';
import { NODE_IP } from '../../../localcloud/cluster/topology.js';
import { upstreamVersion } from '../../../localcloud/versions.js';
import { waitFor } from '../../../localcloud/wait.js';
import { clusterSuite, createNamespace, echoContainer, getJSON, isReady, podObject, processAlive, waitForPod, waitGone } from './support.js';

interface ApiAnswer {
  status: number;
  body: { items?: KubeObject[]; reason?: string; message?: string };
}

interface EventObject extends KubeObject {
  reason?: string;
  note?: string;
  regarding?: { name?: string };
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

function jwtPayload(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}

async function fileInPod(pod: Pod, path: string, port = 8080): Promise<string> {
  return (await getJSON<{ content: string }>(`http://${pod.status?.podIP ?? ''}:${port}/file?path=${encodeURIComponent(path)}`)).content;
}

describe('local cluster: what a pod sees and how it is run', () => {
  const suite = clusterSuite({ restartBackoff: { initialMs: 1000, maxMs: 4000 }, volumeRefreshMs: 1000 });
  let ns: string;

  before(async () => {
    ns = await createNamespace(suite.client, 'pods');
  });

  /**
   * Runs a shell pod whose container has `probes` and an emptyDir at /state, and returns that directory as the
   * runner keeps it: the test plays the part of a process inside the pod by writing there.
   */
  async function statePod(name: string, command: string, probes: Pick<Container, 'readinessProbe' | 'livenessProbe'>, terminationGracePeriodSeconds: number): Promise<{ running: Pod; state: string }> {
    const container: Container = { name: 'app', image: TEST_SHELL_IMAGE, command: ['sh', '-c', command], volumeMounts: [{ name: 'state', mountPath: '/state' }], ...probes };
    await suite.client.create(podObject(ns, name, { containers: [container], volumes: [{ name: 'state', emptyDir: {} }], terminationGracePeriodSeconds }));
    const running = await waitForPod(suite.client, ns, name, (p) => p.status?.containerStatuses?.[0]?.state.running !== undefined, 'the container to run');
    return { running, state: join(suite.cluster.dir, 'pods', running.metadata.uid ?? '', 'volumes', 'state') };
  }

  it('materialises ConfigMap, Secret, downward API and projected volumes at their mount paths and builds env from them', async () => {
    await suite.client.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: ns }, data: { greeting: 'hello', PORT: '8081' } });
    await suite.client.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds', namespace: ns }, data: { password: b64('s3cret') } });
    const started = Date.now();
    await suite.client.create({
      ...podObject(ns, 'volumes', {
        containers: [
          echoContainer({
            args: ['--port=$(PORT)'],
            env: [
              ...(echoContainer().env ?? []),
              { name: 'PORT', valueFrom: { configMapKeyRef: { name: 'settings', key: 'PORT' } } },
              { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'creds', key: 'password' } } },
              { name: 'SELF_URL', value: 'http://$(POD_NAME):$(PORT)' },
              { name: 'CPU_MILLIS', valueFrom: { resourceFieldRef: { resource: 'limits.cpu', divisor: '1m' } } },
              { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
            ],
            envFrom: [{ configMapRef: { name: 'settings' }, prefix: 'CFG_' }],
            resources: { limits: { cpu: '500m', memory: '128Mi' } },
            ports: [{ name: 'http', containerPort: 8081 }],
            readinessProbe: { tcpSocket: { port: 'http' } },
            volumeMounts: [
              { name: 'settings', mountPath: '/etc/kvcloud/settings' },
              { name: 'creds', mountPath: '/etc/kvcloud/creds' },
              { name: 'podinfo', mountPath: '/etc/podinfo' },
              // A volume inside another (as kubeadm's pki inside /etc/kubernetes): its mount point is made over the
              // outer volume without writing into it.
              { name: 'creds', mountPath: '/etc/podinfo/nested-creds' },
              { name: 'bundle', mountPath: '/var/run/secrets/bundle' },
            ],
          }),
        ],
        volumes: [
          { name: 'settings', configMap: { name: 'settings' } },
          { name: 'creds', secret: { secretName: 'creds', defaultMode: 0o400 } },
          {
            name: 'podinfo',
            downwardAPI: {
              items: [
                { path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } },
                { path: 'memory', resourceFieldRef: { containerName: 'echo', resource: 'limits.memory', divisor: '1Mi' } },
              ],
            },
          },
          {
            name: 'bundle',
            projected: {
              sources: [
                { configMap: { name: 'settings', items: [{ key: 'greeting', path: 'greeting.txt' }] } },
                { downwardAPI: { items: [{ path: 'name', fieldRef: { fieldPath: 'metadata.name' } }] } },
                { serviceAccountToken: { audience: 'vault', expirationSeconds: 600, path: 'vault-token' } },
              ],
            },
          },
        ],
      }),
      metadata: { name: 'volumes', namespace: ns, labels: { app: 'volumes', tier: 'test' } },
    });
    const pod = await waitForPod(suite.client, ns, 'volumes', isReady, 'Ready');
    console.log(`      pod with 4 volumes Ready ${((Date.now() - started) / 1000).toFixed(1)} s after it was created`);

    expect(await fileInPod(pod, '/etc/kvcloud/settings/greeting', 8081)).to.equal('hello');
    expect(await fileInPod(pod, '/etc/kvcloud/creds/password', 8081)).to.equal('s3cret');
    // Binding copied the node's topology labels onto the pod (the PodTopologyLabels admission plugin).
    expect(await fileInPod(pod, '/etc/podinfo/labels', 8081)).to.equal('app="volumes"\ntier="test"\ntopology.kubernetes.io/region="kvcloud-local"\ntopology.kubernetes.io/zone="zone-a"');
    expect(await fileInPod(pod, '/etc/podinfo/memory', 8081)).to.equal('128');
    expect(await fileInPod(pod, '/etc/podinfo/nested-creds/password', 8081)).to.equal('s3cret');
    expect(existsSync(join(suite.cluster.dir, 'pods', pod.metadata.uid ?? '', 'volumes', 'podinfo', 'nested-creds')), 'the outer volume on the node untouched').to.be.false;
    expect(await fileInPod(pod, '/var/run/secrets/bundle/greeting.txt', 8081)).to.equal('hello');
    expect(await fileInPod(pod, '/var/run/secrets/bundle/name', 8081)).to.equal('volumes');
    expect(jwtPayload(await fileInPod(pod, '/var/run/secrets/bundle/vault-token', 8081)).aud).to.deep.equal(['vault']);

    const env = await getJSON<Record<string, string>>(`http://${pod.status?.podIP ?? ''}:8081/env`);
    expect(env).to.deep.include({
      PORT: '8081',
      PASSWORD: 's3cret',
      SELF_URL: 'http://volumes:8081',
      CPU_MILLIS: '500',
      POD_IP: pod.status?.podIP,
      CFG_greeting: 'hello',
      HOSTNAME: 'volumes',
      KUBERNETES_SERVICE_HOST: '10.96.0.1',
    });
    expect(Object.keys(env).filter((k) => k.startsWith('KVCLOUD_') || k.startsWith('npm_')), 'variables of the test runner').to.deep.equal([]);
    // The mount points exist only in the container's mount namespace.
    expect(existsSync('/etc/kvcloud')).to.be.false;
    expect(existsSync('/var/run/secrets/bundle')).to.be.false;

    await suite.client.mergePatch({ apiVersion: 'v1', kind: 'ConfigMap' }, { namespace: ns, name: 'settings' }, { data: { greeting: 'bonjour' } });
    await waitFor(async () => ((await fileInPod(pod, '/etc/kvcloud/settings/greeting', 8081)) === 'bonjour' ? true : undefined), {
      timeoutMs: 30_000,
      what: 'the ConfigMap change to reach the mounted file',
    });
  });

  it('mounts a projected ServiceAccount token bound to the pod, which RBAC allows what its Role grants and nothing else', async () => {
    await suite.client.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'reader', namespace: ns } });
    await suite.client.create({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'configmap-reader', namespace: ns },
      rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list'] }],
    });
    await suite.client.create({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'reader', namespace: ns },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'configmap-reader' },
      subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace: ns }],
    });
    await suite.client.create(podObject(ns, 'reader', { serviceAccountName: 'reader', containers: [echoContainer()] }));
    const pod = await waitForPod(suite.client, ns, 'reader', isReady, 'Ready');
    const api = (path: string) => getJSON<ApiAnswer>(`http://${pod.status?.podIP ?? ''}:8080/api?path=${encodeURIComponent(path)}`);

    const allowed = await api(`/api/v1/namespaces/${ns}/configmaps`);
    expect(allowed.status).to.equal(200);
    expect(allowed.body.items?.map((i) => i.metadata.name)).to.include('kube-root-ca.crt');
    const denied = await api(`/api/v1/namespaces/${ns}/secrets`);
    expect(denied.status).to.equal(403);
    expect(denied.body.message).to.include(`system:serviceaccount:${ns}:reader`);

    const claims = jwtPayload(await fileInPod(pod, '/var/run/secrets/kubernetes.io/serviceaccount/token'));
    expect(claims.sub).to.equal(`system:serviceaccount:${ns}:reader`);
    expect((claims['kubernetes.io'] as { pod?: { name?: string; uid?: string } }).pod).to.deep.equal({ name: 'reader', uid: pod.metadata.uid });
  });

  it('runs init containers one after the other to completion before the containers start', async () => {
    const work = { name: 'work', mountPath: '/shared' };
    await suite.client.create(
      podObject(ns, 'init', {
        initContainers: [
          { name: 'prepare', image: TEST_SHELL_IMAGE, command: ['sh', '-c', 'echo prepared > /shared/marker'], volumeMounts: [work] },
          { name: 'check', image: TEST_SHELL_IMAGE, command: ['sh', '-c', 'test -s /shared/marker'], volumeMounts: [work] },
        ],
        containers: [echoContainer({ volumeMounts: [work] })],
        volumes: [{ name: 'work', emptyDir: {} }],
      }),
    );
    const pod = await waitForPod(suite.client, ns, 'init', isReady, 'Ready');
    const inits = pod.status?.initContainerStatuses ?? [];
    expect(inits.map((s) => [s.name, s.state.terminated?.exitCode, s.state.terminated?.reason])).to.deep.equal([
      ['prepare', 0, 'Completed'],
      ['check', 0, 'Completed'],
    ]);
    expect(pod.status?.conditions?.find((c) => c.type === 'Initialized')?.status).to.equal('True');
    expect(await fileInPod(pod, '/shared/marker')).to.equal('prepared\n');
  });

  it('finishes run-to-completion pods: Succeeded when every container exits 0, Failed otherwise, never restarted', async () => {
    const job = (name: string, script: string) => podObject(ns, name, { restartPolicy: 'Never', containers: [{ name: 'job', image: TEST_SHELL_IMAGE, command: ['sh', '-c', script] }] });
    await suite.client.create(job('done', 'echo done'));
    await suite.client.create(job('broken', 'exit 4'));
    const phase = (want: string) => (p: Pod) => p.status?.phase === want;
    const done = await waitForPod(suite.client, ns, 'done', phase('Succeeded'), 'Succeeded');
    const broken = await waitForPod(suite.client, ns, 'broken', phase('Failed'), 'Failed');
    expect(done.status?.containerStatuses?.[0]?.state.terminated).to.deep.include({ exitCode: 0, reason: 'Completed' });
    expect(broken.status?.containerStatuses?.[0]?.state.terminated).to.deep.include({ exitCode: 4, reason: 'Error' });
    expect(broken.status?.containerStatuses?.[0]?.restartCount).to.equal(0);
    // Each run of each container logs to its own file, kept after the container ends.
    const log = join(suite.cluster.dir, 'logs', `${ns}_done_${done.metadata.uid ?? ''}`, 'job', '0.log');
    expect(readFileSync(log, 'utf8')).to.equal('done\n');
  });

  it('runs a hostNetwork pod in the cluster network namespace, at the node address', async () => {
    await suite.client.create(podObject(ns, 'host-net', { hostNetwork: true, containers: [echoContainer({ args: ['--port=18080'], ports: [{ name: 'http', containerPort: 18080 }] })] }));
    const pod = await waitForPod(suite.client, ns, 'host-net', isReady, 'Ready');
    expect(pod.status?.podIP).to.equal(NODE_IP);
    expect((await getJSON<{ pod: string }>(`http://${NODE_IP}:18080/`)).pod).to.equal('host-net');
    await suite.client.delete({ apiVersion: 'v1', kind: 'Pod' }, { namespace: ns, name: 'host-net' });
    await waitGone(suite.client, ns, 'host-net');
  });

  it('keeps a container out of Ready until its readiness probe passes, and restarts it when its liveness probe fails', async () => {
    const probes = {
      readinessProbe: { exec: { command: ['test', '-e', '/state/ready'] }, periodSeconds: 1 },
      livenessProbe: { exec: { command: ['sh', '-c', 'test ! -e /state/die'] }, periodSeconds: 1, failureThreshold: 2 },
    };
    const { running, state } = await statePod('probed', 'exec sleep 3600', probes, 2);
    expect(isReady(running)).to.be.false;
    await writeFile(join(state, 'ready'), '');
    await waitForPod(suite.client, ns, 'probed', isReady, 'Ready once the readiness probe passes');
    await writeFile(join(state, 'die'), '');
    const restarted = await waitForPod(suite.client, ns, 'probed', (p) => (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1, 'the liveness probe to get the container restarted');
    await rm(join(state, 'die'));
    expect(restarted.status?.containerStatuses?.[0]?.lastState.terminated?.exitCode).to.equal(143);
    const events = await suite.client.list<EventObject>({ apiVersion: 'events.k8s.io/v1', kind: 'Event' }, { namespace: ns, direct: true });
    const notes = events.filter((e) => e.regarding?.name === 'probed').map((e) => `${e.reason ?? ''}: ${e.note ?? ''}`);
    expect(notes).to.include('Killing: Container app failed liveness probe, will be restarted');
    expect(notes.some((n) => n.startsWith('Unhealthy: Liveness probe failed:'))).to.be.true;
    await waitForPod(suite.client, ns, 'probed', isReady, 'Ready again after the restart');
  });

  it('keeps probing readiness while a pod terminates, so the pod turns unready when its program stops serving in the grace period', async () => {
    const readinessProbe = { exec: { command: ['test', '-e', '/state/ready'] }, periodSeconds: 1, failureThreshold: 1 };
    // SIGTERM ignored: the container runs until SIGKILL at the end of the grace period.
    const { state } = await statePod('draining', "trap '' TERM; exec sleep 3600", { readinessProbe }, 5);
    await writeFile(join(state, 'ready'), '');
    await waitForPod(suite.client, ns, 'draining', isReady, 'Ready');
    await suite.client.delete({ apiVersion: 'v1', kind: 'Pod' }, { namespace: ns, name: 'draining' });
    // What a program does when told to stop: it stops serving first, then takes its time to exit.
    await rm(join(state, 'ready'));
    const draining = await waitForPod(suite.client, ns, 'draining', (p) => p.metadata.deletionTimestamp !== undefined && !isReady(p), 'Ready False while terminating');
    expect(draining.status?.containerStatuses?.[0]?.state.running, 'the container still runs').to.not.equal(undefined);
    await waitGone(suite.client, ns, 'draining');
  });

  it('shows ErrImagePull, naming what is available, for images without a local program', async () => {
    await suite.client.create(
      podObject(ns, 'unmapped', {
        containers: [
          { name: 'web', image: 'docker.io/library/nginx:1.27' },
          { name: 'old-apiserver', image: 'registry.k8s.io/kube-apiserver:v1.20.0' },
        ],
      }),
    );
    const pod = await waitForPod(
      suite.client,
      ns,
      'unmapped',
      (p) => (p.status?.containerStatuses ?? []).filter((s) => s.state.waiting?.reason === 'ErrImagePull').length === 2,
      'both containers to show ErrImagePull',
    );
    const [web, apiserver] = pod.status?.containerStatuses ?? [];
    expect(web?.state.waiting?.message).to.match(/image "docker.io\/library\/nginx:1.27" has no local program; the pod runner knows .*registry.k8s.io\/kube-apiserver/);
    expect(apiserver?.state.waiting?.message).to.include(`registry.k8s.io/kube-apiserver is available locally only as ${upstreamVersion('KUBERNETES_VERSION')}`);
    expect(pod.status?.phase).to.equal('Pending');
  });

  it('deletes a pod gracefully: SIGTERM, then SIGKILL once the grace period is over, then the pod object goes', async () => {
    await suite.client.create(podObject(ns, 'stubborn', { containers: [echoContainer({ args: ['--ignore-sigterm'] })], terminationGracePeriodSeconds: 2 }));
    await waitForPod(suite.client, ns, 'stubborn', isReady, 'Ready');
    const run = suite.cluster.runner.containerRun(ns, 'stubborn', 'echo');
    if (!run) throw new Error('the runner has no process for stubborn/echo');
    const started = Date.now();
    await suite.client.delete({ apiVersion: 'v1', kind: 'Pod' }, { namespace: ns, name: 'stubborn' });
    await waitGone(suite.client, ns, 'stubborn');
    const seconds = (Date.now() - started) / 1000;
    expect(seconds).to.be.within(2, 10);
    expect(processAlive(run.process.pid)).to.be.false;
    expect(run.process.exitStatus?.signal).to.equal('SIGKILL');
    expect(readFileSync(run.logFile, 'utf8')).to.include('echo: ignoring SIGTERM as asked');
  });

  it('runs lifecycle hooks: postStart once the container started, preStop before SIGTERM in the grace period, and a failing postStart restarts the container', async function () {
    this.timeout(60_000);
    // The program says on its log when SIGTERM comes and what /state holds then; the hooks write into /state.
    const container: Container = {
      name: 'app',
      image: TEST_SHELL_IMAGE,
      command: ['sh', '-c', "trap 'echo got SIGTERM with: $(ls /state | tr \"\\n\" \" \"); exit 0' TERM; while true; do sleep 0.2; done"],
      volumeMounts: [{ name: 'state', mountPath: '/state' }],
      lifecycle: {
        postStart: { exec: { command: ['sh', '-c', 'echo started > /state/post-start'] } },
        preStop: { exec: { command: ['sh', '-c', 'echo stopping > /state/pre-stop; sleep 1'] } },
      },
    };
    await suite.client.create(podObject(ns, 'hooked', { containers: [container], volumes: [{ name: 'state', emptyDir: {} }], terminationGracePeriodSeconds: 10 }));
    const running = await waitForPod(suite.client, ns, 'hooked', (p) => p.status?.containerStatuses?.[0]?.state.running !== undefined, 'the container to run');
    const state = join(suite.cluster.dir, 'pods', running.metadata.uid ?? '', 'volumes', 'state');
    expect(readFileSync(join(state, 'post-start'), 'utf8'), 'postStart ran before the container was reported running').to.equal('started\n');
    const run = suite.cluster.runner.containerRun(ns, 'hooked', 'app');
    if (!run) throw new Error('the runner has no process for hooked/app');
    await suite.client.delete({ apiVersion: 'v1', kind: 'Pod' }, { namespace: ns, name: 'hooked' });
    await waitGone(suite.client, ns, 'hooked');
    expect(readFileSync(run.logFile, 'utf8'), 'SIGTERM came after preStop had written its file').to.include('got SIGTERM with: post-start pre-stop');
    expect(run.process.exitStatus?.code, 'the program exited on SIGTERM, not on SIGKILL').to.equal(0);

    // A failing postStart: the container is killed and, restartPolicy Always, started again, with an Event.
    const failing: Container = { name: 'app', image: TEST_SHELL_IMAGE, command: ['sh', '-c', 'exec sleep 3600'], lifecycle: { postStart: { exec: { command: ['sh', '-c', 'exit 3'] } } } };
    await suite.client.create(podObject(ns, 'hook-fails', { containers: [failing], terminationGracePeriodSeconds: 1 }));
    await waitForPod(suite.client, ns, 'hook-fails', (p) => (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1, 'the container to be restarted after its postStart hook failed');
    const events = await suite.client.list<EventObject>({ apiVersion: 'events.k8s.io/v1', kind: 'Event' }, { namespace: ns, direct: true });
    const notes = events.filter((e) => e.regarding?.name === 'hook-fails').map((e) => `${e.reason ?? ''}: ${e.note ?? ''}`);
    expect(notes.some((n) => n.startsWith('FailedPostStartHook: PostStartHook failed: command ["sh","-c","exit 3"] exited with 3')), notes.join('\n')).to.be.true;
    await suite.client.delete({ apiVersion: 'v1', kind: 'Pod' }, { namespace: ns, name: 'hook-fails' });
    await waitGone(suite.client, ns, 'hook-fails');
  });

  it("carries a Bidirectional container's mount to the node and to a HostToContainer container, and none of its other mounts", async function () {
    this.timeout(90_000);
    const run = promisify(execFile);
    // The node's directory, a shared mount as the kubelet makes its own (in the suite's private mount namespace).
    const shared = join(suite.cluster.dir, 'propagation');
    await mkdir(shared, { recursive: true });
    await run('mount', ['-t', 'tmpfs', 'kvcloud-test-node', shared]);
    await run('mount', ['--make-shared', shared]);
    // The mount point is there already: the management nodes' host paths are this machine's, mounted read-only.
    await mkdir(join(shared, 'inner'));
    const ourMounts = () => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => / - tmpfs (kvcloud-|pod-)/.test(l));
    try {
      const volumes = [{ name: 'node', hostPath: { path: shared } }];
      // The reader starts first: its slave copy hears of a mount made after it started.
      await suite.client.create(
        podObject(ns, 'propagation-reader', {
          restartPolicy: 'Never',
          volumes,
          containers: [{ name: 'app', image: TEST_SHELL_IMAGE, command: ['sh', '-c', 'until [ -f /node/inner/proof ]; do sleep 0.2; done; cat /node/inner/proof'], volumeMounts: [{ name: 'node', mountPath: '/node', mountPropagation: 'HostToContainer' }] }],
        }),
      );
      await waitForPod(suite.client, ns, 'propagation-reader', (p) => p.status?.containerStatuses?.[0]?.state.running !== undefined, 'the reader to run');
      const script = 'mount -t tmpfs pod-inner /node/inner && echo proof > /node/inner/proof && mount -t tmpfs pod-private /scratch && exec sleep 3600';
      await suite.client.create(
        podObject(ns, 'propagation-mounter', {
          volumes: [...volumes, { name: 'scratch', emptyDir: {} }],
          containers: [
            {
              name: 'app',
              image: TEST_SHELL_IMAGE,
              securityContext: { privileged: true },
              command: ['sh', '-c', script],
              // /scratch does not exist on the node: the container gets a private copy of / to make it in.
              volumeMounts: [{ name: 'node', mountPath: '/node', mountPropagation: 'Bidirectional' }, { name: 'scratch', mountPath: '/scratch' }],
            },
          ],
        }),
      );
      const proof = await waitFor(
        () => {
          if (existsSync(join(shared, 'inner', 'proof'))) return Promise.resolve(readFileSync(join(shared, 'inner', 'proof'), 'utf8'));
          throw new Error(`no ${shared}/inner/proof on the node; mounts: ${ourMounts().join('; ')}`);
        },
        { timeoutMs: 60_000, what: "the mounter's mount on the node" },
      );
      expect(proof).to.equal('proof\n');
      const reader = await waitForPod(suite.client, ns, 'propagation-reader', (p) => p.status?.phase === 'Succeeded', 'the reader to see the mount and finish');
      const log = join(suite.cluster.dir, 'logs', `${ns}_propagation-reader_${reader.metadata.uid ?? ''}`, 'app', '0.log');
      expect(readFileSync(log, 'utf8')).to.equal('proof\n');
      // Only the mount made inside the shared directory reached the node: not the container's own tmpfs, nor its copies.
      expect(ourMounts().map((l) => l.split(' ')[4])).to.deep.equal([shared, join(shared, 'inner')]);
    } finally {
      await run('umount', ['--recursive', '--lazy', shared]);
    }
  });
});
