import { expect } from 'chai';
import type { V1Probe } from '@kubernetes/client-node';
import type { ControlPlaneProbes } from '../api/index.js';
import { componentProbes, PROBE_TIMEOUT_SECONDS, type ProbedComponent } from './probes.js';

const timing = (p: V1Probe | undefined) =>
  p && { path: p.httpGet?.path, period: p.periodSeconds, timeout: p.timeoutSeconds, failures: p.failureThreshold, delay: p.initialDelaySeconds, successes: p.successThreshold };

describe('management/probes', () => {
  it("gives every probe kubeadm's 15 s timeout, so a slow answer from a loaded component is no failure", () => {
    expect(PROBE_TIMEOUT_SECONDS).to.equal(15);
    for (const component of ['apiServer', 'controllerManager', 'scheduler'] as const) {
      const probes = componentProbes(component, 1, undefined);
      for (const probe of [probes.livenessProbe, probes.readinessProbe, probes.startupProbe].filter((p) => p !== undefined)) {
        expect(probe.timeoutSeconds, component).to.equal(15);
      }
    }
  });

  it("probes the apiserver like kubeadm's static pod: /readyz every second, 3 failures to leave its Service", () => {
    const p = componentProbes('apiServer', 6443, undefined);
    expect(p.readinessProbe).to.deep.equal({ httpGet: { path: '/readyz', port: 6443, scheme: 'HTTPS' }, periodSeconds: 1, timeoutSeconds: 15, failureThreshold: 3 });
    expect(timing(p.livenessProbe)).to.deep.include({ path: '/livez', period: 10, failures: 8 });
    expect(timing(p.startupProbe)).to.deep.include({ path: '/livez', period: 1, failures: 60 });
  });

  it('gives the controller manager and the scheduler /healthz liveness and startup probes and no readiness probe', () => {
    for (const [component, port] of [
      ['controllerManager', 10257],
      ['scheduler', 10259],
    ] as const) {
      const p = componentProbes(component, port, undefined);
      expect(p.readinessProbe, component).to.equal(undefined);
      expect(p.livenessProbe?.httpGet, component).to.deep.equal({ path: '/healthz', port, scheme: 'HTTPS' });
      expect(p.startupProbe?.httpGet, component).to.deep.equal({ path: '/healthz', port, scheme: 'HTTPS' });
    }
  });

  const overrideCases: { name: string; component: ProbedComponent; probes: ControlPlaneProbes; check: (p: ReturnType<typeof componentProbes>) => void }[] = [
    {
      name: 'applies the fields set for every component and keeps the defaults of the others',
      component: 'scheduler',
      probes: { liveness: { timeoutSeconds: 5, initialDelaySeconds: 2 } },
      check: (p) => expect(timing(p.livenessProbe)).to.deep.equal({ path: '/healthz', period: 10, timeout: 5, failures: 8, delay: 2, successes: undefined }),
    },
    {
      name: "lets a component's own fields win over the ones for every component",
      component: 'apiServer',
      probes: { readiness: { periodSeconds: 10, failureThreshold: 5 }, apiServer: { readiness: { failureThreshold: 6, successThreshold: 2 } } },
      check: (p) => expect(timing(p.readinessProbe)).to.deep.equal({ path: '/readyz', period: 10, timeout: 15, failures: 6, delay: undefined, successes: 2 }),
    },
    {
      name: "leaves other components alone when one component's probes are set",
      component: 'controllerManager',
      probes: { apiServer: { liveness: { failureThreshold: 1 } } },
      check: (p) => expect(p.livenessProbe?.failureThreshold).to.equal(8),
    },
    {
      name: 'adds no readiness probe to a component that has none',
      component: 'controllerManager',
      probes: { readiness: { timeoutSeconds: 3 }, controllerManager: { readiness: { periodSeconds: 2 } } },
      check: (p) => expect(p.readinessProbe).to.equal(undefined),
    },
  ];
  for (const tc of overrideCases) {
    it(`spec.controlPlane.deployment.probes: ${tc.name}`, () => {
      tc.check(componentProbes(tc.component, 1, tc.probes));
    });
  }

  it('builds new probe objects each time, so an override never leaks into the next build', () => {
    componentProbes('apiServer', 6443, { liveness: { periodSeconds: 30 } });
    expect(componentProbes('apiServer', 6443, undefined).livenessProbe?.periodSeconds).to.equal(10);
  });
});
