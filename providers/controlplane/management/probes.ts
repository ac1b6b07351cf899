// The probes of the control plane containers. Paths, periods and thresholds are kubeadm's for its static pods,
// and so is the 15 s timeout: a loaded apiserver that answers /readyz slowly is still ready; only an answer
// saying it is not, or none for 15 s, counts against it. Kamaji's 1 s timeout at kubeadm's 1 s period made three
// slow answers in a row (both replicas at once on a busy node) enough to take every new apiserver out of the
// Service just after a rollout had retired the old ones, and the tenant API refused connections.
// spec.controlPlane.deployment.probes then applies as Kamaji applies it: the fields set for every component first,
// then the component's own.
import type { V1Probe } from '@kubernetes/client-node';
import type { ControlPlaneProbes, ProbeSet, ProbeSpec } from '../api/index.js';

/** kubeadm's timeout for the probes of kube-apiserver, kube-controller-manager and kube-scheduler. */
export const PROBE_TIMEOUT_SECONDS = 15;

export type ProbedComponent = 'apiServer' | 'controllerManager' | 'scheduler';

export interface ComponentProbes {
  livenessProbe?: V1Probe;
  readinessProbe?: V1Probe;
  startupProbe?: V1Probe;
}

const httpsProbe = (path: string, port: number, periodSeconds: number, failureThreshold: number): V1Probe => ({
  httpGet: { path, port, scheme: 'HTTPS' },
  periodSeconds,
  timeoutSeconds: PROBE_TIMEOUT_SECONDS,
  failureThreshold,
});

/**
 * Liveness every 10 s, 8 failures to restart (kubeadm); startup every second for up to a minute, so a pod starts
 * when its process does; readiness, the apiserver's alone, every second with 3 failures to leave the Service.
 */
export function componentProbes(component: ProbedComponent, port: number, overrides: ControlPlaneProbes | undefined): ComponentProbes {
  const [live, ready] = component === 'apiServer' ? ['/livez', '/readyz'] : ['/healthz', undefined];
  const probes: ComponentProbes = {
    livenessProbe: httpsProbe(live, port, 10, 8),
    ...(ready ? { readinessProbe: httpsProbe(ready, port, 1, 3) } : {}),
    startupProbe: httpsProbe(live, port, 1, 60),
  };
  for (const set of [overrides, overrides?.[component]]) applySet(probes, set);
  return probes;
}

function applySet(probes: ComponentProbes, set: ProbeSet | undefined): void {
  if (!set) return;
  applySpec(probes.livenessProbe, set.liveness);
  applySpec(probes.readinessProbe, set.readiness);
  applySpec(probes.startupProbe, set.startup);
}

// A component without that probe keeps none: an override tunes a probe, it does not add one.
function applySpec(probe: V1Probe | undefined, spec: ProbeSpec | undefined): void {
  if (!probe || !spec) return;
  for (const field of ['initialDelaySeconds', 'timeoutSeconds', 'periodSeconds', 'successThreshold', 'failureThreshold'] as const) {
    const value = spec[field];
    if (value !== undefined) probe[field] = value;
  }
}
