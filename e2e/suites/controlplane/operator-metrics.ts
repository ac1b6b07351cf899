// The control plane operator as its metrics show it: its pod (the Ready one in kamaji-system), and the counters
// the steady-state test reads from http://<pod IP>:8080/metrics (the manifest's --metrics-bind-address), which
// the test process reaches directly, as kubelet probes do.
import type { Client } from '../../../lib/kube/client.js';
import type { KubeObject } from '../../../lib/kube/object.js';
import { httpGetText } from '../../harness/http-get.js';

interface Pod extends KubeObject {
  status?: { podIP?: string; conditions?: { type: string; status: string }[] };
}

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export async function operatorPod(client: Client): Promise<Pod | undefined> {
  const pods = await client.list<Pod>({ apiVersion: 'v1', kind: 'Pod' }, { namespace: 'kamaji-system', labelSelector: 'app.kubernetes.io/name=kvcloud-controlplane', direct: true });
  return pods.find((p) => !p.metadata.deletionTimestamp && p.status?.podIP && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
}

export interface OperatorCounters {
  /** controller_runtime_reconcile_total of the tenantcontrolplane controller, all results. */
  tenantReconciles: number;
  /** rest_client_requests_total of write methods, keyed "METHOD host". */
  writes: Map<string, number>;
}

/** One scrape; `pod` pins the process, so a restart in between is not mistaken for a reset counter. */
export async function scrape(pod: Pod): Promise<OperatorCounters> {
  const { text } = await httpGetText(`http://${pod.status?.podIP ?? ''}:8080/metrics`);
  const out: OperatorCounters = { tenantReconciles: 0, writes: new Map() };
  for (const line of text.split('\n')) {
    const value = Number(line.split(' ').pop());
    if (line.startsWith('controller_runtime_reconcile_total{') && line.includes('controller="tenantcontrolplane"')) out.tenantReconciles += value;
    const m = /^rest_client_requests_total\{(.*)\} /.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)) labels[l[1] ?? ''] = l[2] ?? '';
    if (!WRITE_METHODS.has(labels.method ?? '')) continue;
    const key = `${labels.method ?? ''} ${labels.host ?? ''}`;
    out.writes.set(key, (out.writes.get(key) ?? 0) + value);
  }
  return out;
}

/** Write requests made between two scrapes of the same process, keyed "METHOD host", zero entries dropped. */
export function writesBetween(before: OperatorCounters, after: OperatorCounters): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, n] of after.writes) {
    const d = n - (before.writes.get(key) ?? 0);
    if (d !== 0) out[key] = d;
  }
  return out;
}
