import { expect } from 'chai';
import type { Pod } from '../../localcloud/cluster/pod-api.js';
import { catalogImage, criId, podContainers, podSandbox } from './cri-objects.js';

const running = (restarts = 0): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web', namespace: 'shop', uid: 'u-1', labels: { app: 'web' }, annotations: { note: 'x' }, creationTimestamp: '2026-12-07T00:00:00Z' },
  spec: {
    terminationGracePeriodSeconds: 30,
    initContainers: [{ name: 'setup', image: 'kvcloud.local/test/shell:dev' }],
    containers: [{ name: 'app', image: 'kvcloud.local/test/echo:dev', ports: [{ containerPort: 8080 }] }],
  },
  status: {
    phase: 'Running',
    podIP: '10.244.1.5',
    startTime: '2026-12-07T00:00:01Z',
    initContainerStatuses: [
      {
        name: 'setup',
        ready: true,
        restartCount: 0,
        image: 'kvcloud.local/test/shell:dev',
        imageID: 'kvcloud-local:///bin/sh',
        containerID: 'kvcloud://u-1/setup/0',
        state: { terminated: { exitCode: 0, reason: 'Completed', startedAt: '2026-12-07T00:00:01Z', finishedAt: '2026-12-07T00:00:02Z', containerID: 'kvcloud://u-1/setup/0' } },
        lastState: {},
      },
    ],
    containerStatuses: [
      {
        name: 'app',
        ready: true,
        restartCount: restarts,
        image: 'kvcloud.local/test/echo:dev',
        imageID: 'kvcloud-local:///usr/bin/node',
        containerID: `kvcloud://u-1/app/${String(restarts)}`,
        state: { running: { startedAt: '2026-12-07T00:00:03Z' } },
        lastState: restarts > 0 ? { terminated: { exitCode: 2, reason: 'Error', finishedAt: '2026-12-07T00:00:02Z', containerID: `kvcloud://u-1/app/${String(restarts - 1)}` } } : {},
      },
    ],
  },
});

describe('simulators/guest/cri-objects', () => {
  it('maps a pod to a ready sandbox with the pod labels plus the kubelet’s io.kubernetes.pod.* labels', () => {
    const { sandbox, podIP, ref } = podSandbox(running());
    expect(sandbox).to.deep.equal({
      id: criId('sandbox', 'u-1'),
      metadata: { name: 'web', uid: 'u-1', namespace: 'shop', attempt: 0 },
      state: 'SANDBOX_READY',
      created_at: '1796601601000000000',
      labels: { app: 'web', 'io.kubernetes.pod.name': 'web', 'io.kubernetes.pod.namespace': 'shop', 'io.kubernetes.pod.uid': 'u-1' },
      annotations: { note: 'x' },
      runtime_handler: '',
    });
    expect(sandbox.id).to.match(/^[0-9a-f]{64}$/);
    expect([podIP, ref]).to.deep.equal(['10.244.1.5', { namespace: 'shop', pod: 'web' }]);
  });

  const notReady: { name: string; status: Pod['status'] }[] = [
    { name: 'without an address yet', status: { phase: 'Pending' } },
    { name: 'once it succeeded', status: { phase: 'Succeeded', podIP: '10.244.1.5' } },
    { name: 'once it failed', status: { phase: 'Failed', podIP: '10.244.1.5' } },
  ];
  for (const tc of notReady) {
    it(`reports the sandbox not ready ${tc.name}`, () => {
      expect(podSandbox({ ...running(), status: tc.status }).sandbox.state).to.equal('SANDBOX_NOTREADY');
    });
  }

  it('lists the running container and the exited init container with the kubelet’s labels and annotations', () => {
    const entries = podContainers(running());
    expect(entries.map((e) => [e.container.metadata.name, e.container.state])).to.deep.equal([
      ['setup', 'CONTAINER_EXITED'],
      ['app', 'CONTAINER_RUNNING'],
    ]);
    const app = entries[1];
    expect(app?.container).to.deep.include({ id: criId('container', 'kvcloud://u-1/app/0'), pod_sandbox_id: criId('sandbox', 'u-1'), image: { image: 'kvcloud.local/test/echo:dev' } });
    expect(app?.container.image_ref).to.equal(catalogImage('kvcloud.local/test/echo:dev').id);
    expect(app?.container.labels).to.deep.equal({ 'io.kubernetes.pod.name': 'web', 'io.kubernetes.pod.namespace': 'shop', 'io.kubernetes.pod.uid': 'u-1', 'io.kubernetes.container.name': 'app' });
    expect(app?.container.annotations).to.deep.equal({
      'io.kubernetes.container.restartCount': '0',
      'io.kubernetes.container.terminationMessagePath': '/dev/termination-log',
      'io.kubernetes.container.terminationMessagePolicy': 'File',
      'io.kubernetes.pod.terminationGracePeriod': '30',
      'io.kubernetes.container.ports': '[{"containerPort":8080}]',
    });
    expect(app?.ref).to.deep.equal({ namespace: 'shop', pod: 'web', container: 'app' });
    expect(entries[0]?.status).to.deep.include({ exit_code: 0, reason: 'Completed', started_at: '1796601601000000000', finished_at: '1796601602000000000' });
  });

  it('keeps the previous run of a restarted container as exited, with its attempt number', () => {
    const app = podContainers(running(2)).filter((e) => e.container.metadata.name === 'app');
    expect(app.map((e) => [e.container.metadata.attempt, e.container.state, e.status.exit_code])).to.deep.equal([
      [2, 'CONTAINER_RUNNING', 0],
      [1, 'CONTAINER_EXITED', 2],
    ]);
    expect(app[0]?.container.id).to.not.equal(app[1]?.container.id);
  });

  it('lists nothing for a container that has not started (no run, no id)', () => {
    const pod = running();
    pod.status = { phase: 'Pending', containerStatuses: [{ name: 'app', ready: false, restartCount: 0, image: 'i', imageID: '', state: { waiting: { reason: 'ContainerCreating' } }, lastState: {} }] };
    expect(podContainers(pod)).to.deep.equal([]);
  });
});
