import { expect } from 'chai';
import type { ContainerState, ContainerStatus, Pod, PodStatus, RestartPolicy } from './pod-api.js';
import { podPhase, podStatus, type PodObservation } from './pod-status.js';

const NOW = '2026-01-01T00:00:10Z';
const running: ContainerState = { running: { startedAt: NOW } };
const exited = (exitCode: number): ContainerState => ({ terminated: { exitCode } });
const backingOff: ContainerState = { waiting: { reason: 'CrashLoopBackOff' } };
const creating: ContainerState = { waiting: { reason: 'ContainerCreating' } };

function container(name: string, state: ContainerState, ready = false, lastState: ContainerState = {}): ContainerStatus {
  return { name, state, lastState, ready, restartCount: 0, image: 'img', imageID: '' };
}

function pod(restartPolicy: RestartPolicy = 'Always', extra: Partial<Pod['spec']> = {}, status?: PodStatus): Pod {
  return { metadata: { name: 'p' }, spec: { containers: [], restartPolicy, ...extra }, ...(status ? { status } : {}) };
}

function observation(containers: ContainerStatus[], extra: Partial<PodObservation> = {}): PodObservation {
  return { hostIP: '10.244.0.1', podIP: '10.244.0.7', startTime: NOW, sandboxReady: true, initContainers: [], containers, initialized: true, stopped: false, ...extra };
}

describe('pod status', () => {
  const phases: { name: string; policy: RestartPolicy; o: PodObservation; want: string }[] = [
    { name: 'Pending while a container never started', policy: 'Always', o: observation([container('a', running), container('b', creating)]), want: 'Pending' },
    { name: 'Pending while init containers run', policy: 'Always', o: observation([container('a', creating)], { initialized: false }), want: 'Pending' },
    { name: 'Running with one container up', policy: 'Always', o: observation([container('a', running), container('b', exited(0))]), want: 'Running' },
    { name: 'Running while a crashed container backs off', policy: 'Always', o: observation([container('a', backingOff, false, exited(1))]), want: 'Running' },
    { name: 'Succeeded when all exit 0 with Never', policy: 'Never', o: observation([container('a', exited(0)), container('b', exited(0))]), want: 'Succeeded' },
    { name: 'Failed when one fails with Never', policy: 'Never', o: observation([container('a', exited(0)), container('b', exited(2))]), want: 'Failed' },
    { name: 'Succeeded when all exit 0 with OnFailure', policy: 'OnFailure', o: observation([container('a', exited(0))]), want: 'Succeeded' },
    {
      name: 'Failed when an init container fails with Never',
      policy: 'Never',
      o: observation([container('a', creating)], { initialized: false, initContainers: [container('i', exited(1))] }),
      want: 'Failed',
    },
    { name: 'Failed when stopped for deletion after a non-zero exit', policy: 'Always', o: observation([container('a', exited(137))], { stopped: true }), want: 'Failed' },
  ];
  for (const tc of phases) {
    it(`phase: ${tc.name}`, () => {
      expect(podPhase(pod(tc.policy), tc.o)).to.equal(tc.want);
    });
  }

  it('is Ready when every container is ready, naming the unready ones otherwise', () => {
    const ready = podStatus(pod(), observation([container('a', running, true)]), NOW, undefined);
    expect(ready.conditions?.map((c) => [c.type, c.status])).to.deep.equal([
      ['PodReadyToStartContainers', 'True'],
      ['Initialized', 'True'],
      ['ContainersReady', 'True'],
      ['Ready', 'True'],
    ]);
    const unready = podStatus(pod(), observation([container('a', running, true), container('b', running, false)]), NOW, undefined);
    expect(unready.conditions?.find((c) => c.type === 'Ready')).to.deep.include({ status: 'False', reason: 'ContainersNotReady', message: 'containers with unready status: [b]' });
    expect(unready).to.deep.include({ podIP: '10.244.0.7', hostIP: '10.244.0.1' });
  });

  it('keeps a condition transition time while its status holds', () => {
    const earlier = podStatus(pod(), observation([container('a', running, true)]), '2026-01-01T00:00:00Z', undefined);
    const later = podStatus(pod(), observation([container('a', running, true)]), NOW, earlier);
    expect(later.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime).to.equal('2026-01-01T00:00:00Z');
    const flipped = podStatus(pod(), observation([container('a', running, false)]), NOW, earlier);
    expect(flipped.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime).to.equal(NOW);
  });

  it('holds Ready back until every readiness gate condition is True', () => {
    const gated = pod('Always', { readinessGates: [{ conditionType: 'example.com/lb' }] });
    const status = podStatus(gated, observation([container('a', running, true)]), NOW, undefined);
    expect(status.conditions?.find((c) => c.type === 'Ready')).to.deep.include({ status: 'False', reason: 'ReadinessGatesNotReady' });
    const passed = pod('Always', { readinessGates: [{ conditionType: 'example.com/lb' }] }, { conditions: [{ type: 'example.com/lb', status: 'True' }] });
    expect(podStatus(passed, observation([container('a', running, true)]), NOW, undefined).conditions?.find((c) => c.type === 'Ready')?.status).to.equal('True');
  });

  it('reports a completed pod as not Ready with reason PodCompleted', () => {
    const status = podStatus(pod('Never'), observation([container('a', exited(0))]), NOW, undefined);
    expect(status.phase).to.equal('Succeeded');
    expect(status.conditions?.find((c) => c.type === 'Ready')).to.deep.include({ status: 'False', reason: 'PodCompleted' });
  });
});
