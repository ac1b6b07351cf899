import { expect } from 'chai';
import { pino } from 'pino';
import { DEPLOYMENT_TYPE } from '../../../lib/apis/apps.js';
import { SECRET_TYPE, SERVICE_TYPE } from '../../../lib/apis/core.js';
import type { KubeObject } from '../../../lib/kube/object.js';
import { TENANT_CONTROL_PLANE_TYPE } from '../api/index.js';
import { servingMarkerObjects } from '../tenant/serving-marker.js';
import { HandoverRetireReconciler } from './handover-retire.js';
import { GONE_SINCE_ANNOTATION, RELEASED_LABEL, SUCCESSOR_SEEN_ANNOTATION } from './move-handover.js';
import { ControlPlaneEnv } from './reconcile-env.testdata.js';

const NS = 'tenants';
const POLL_MS = 2000;
const DRAIN_MS = 15_000;
const SUCCESSOR_TIMEOUT_MS = 60_000;
/** What the kept Secret holds: the fake tenant connection ignores where it points. */
const KUBECONFIG = [
  'apiVersion: v1',
  'kind: Config',
  'clusters: [{name: acme, cluster: {server: "https://192.0.2.10:6443"}}]',
  'users: [{name: admin, user: {token: t}}]',
  'contexts: [{name: acme, context: {cluster: acme, user: admin}}]',
  'current-context: acme',
].join('\n');

describe('controllers/handover-retire HandoverRetireReconciler', () => {
  let env: ControlPlaneEnv;
  let reconciler: HandoverRetireReconciler;
  const released = (extra: Partial<KubeObject['metadata']> = {}): KubeObject =>
    env.api.seed({ ...DEPLOYMENT_TYPE, metadata: { name: 'acme', namespace: NS, uid: 'dep-uid', labels: { [RELEASED_LABEL]: 'uid-a' }, ...extra } });
  const logs: string[] = [];
  const pass = async () => {
    const d = env.get(DEPLOYMENT_TYPE, NS, 'acme');
    if (!d) throw new Error('no Deployment acme');
    return reconciler.reconcile(d, { ...env.ctx(`${NS}/acme`), log: pino({ level: 'info' }, { write: (line: string) => logs.push(line) }) });
  };
  const goneAgo = (ms: number) => ({ [GONE_SINCE_ANNOTATION]: new Date(Date.now() - ms).toISOString() });
  const announce = (uid: string) => {
    for (const o of servingMarkerObjects(uid)) env.tenant.api.seed(o);
  };

  beforeEach(() => {
    env = new ControlPlaneEnv();
    logs.length = 0;
    reconciler = new HandoverRetireReconciler({ client: env.client, tenants: env.tenant.access, pollMs: POLL_MS, drainMs: DRAIN_MS, successorTimeoutMs: SUCCESSOR_TIMEOUT_MS });
    env.api.seed({ ...SERVICE_TYPE, metadata: { name: 'acme', namespace: NS, labels: { [RELEASED_LABEL]: 'uid-a' } }, spec: { type: 'ClusterIP' } });
    env.api.seed({ ...SECRET_TYPE, metadata: { name: 'handover-acme', namespace: NS }, data: { 'super-admin.conf': Buffer.from(KUBECONFIG).toString('base64') } });
  });
  afterEach(async () => {
    await env.close();
  });

  it('keeps a control plane whose TenantControlPlane is still here (a pause without a move), writing nothing', async () => {
    released();
    env.api.seed({ ...TENANT_CONTROL_PLANE_TYPE, metadata: { name: 'acme', namespace: NS, uid: 'uid-a' }, spec: {} } as KubeObject);
    announce('uid-b');

    expect(await pass()).to.deep.equal({});
    expect(env.api.writes()).to.deep.equal([]);
  });

  it('notes when it first finds its TenantControlPlane gone with no successor named, once', async () => {
    released();

    expect(await pass()).to.deep.equal({});
    const gone = env.get(DEPLOYMENT_TYPE, NS, 'acme')?.metadata.annotations?.[GONE_SINCE_ANNOTATION];
    expect(Date.now() - Date.parse(gone ?? '')).to.be.within(0, 5000);
    expect(logs.some((l) => l.includes('waiting for a successor'))).to.equal(true);
    const writes = env.api.writes().length;
    expect(await pass()).to.deep.equal({ requeueAfter: POLL_MS });
    expect(env.api.writes()).to.have.length(writes);
  });

  it('serves on, polling, while the tenant names no other TenantControlPlane', async () => {
    released({ annotations: goneAgo(1000) });
    expect(await pass(), 'no marker').to.deep.equal({ requeueAfter: POLL_MS });
    announce('uid-a');
    expect(await pass(), 'its own uid').to.deep.equal({ requeueAfter: POLL_MS });
    expect(env.api.writes()).to.deep.equal([]);
  });

  it('notes when it first sees the successor, then waits out the drain period', async () => {
    released();
    announce('uid-b');

    expect(await pass()).to.deep.equal({});
    const seen = env.get(DEPLOYMENT_TYPE, NS, 'acme')?.metadata.annotations?.[SUCCESSOR_SEEN_ANNOTATION];
    expect(Date.now() - Date.parse(seen ?? '')).to.be.within(0, 5000);
    expect(env.eventReasons()).to.deep.equal(['SuccessorServing']);

    const res = await pass();
    expect(res.requeueAfter).to.be.within(DRAIN_MS - 5000, DRAIN_MS);
    expect(env.get(DEPLOYMENT_TYPE, NS, 'acme')).to.not.equal(undefined);
  });

  it('retires the Deployment and its released Service after the drain period, and leaves a Service it did not release', async () => {
    released({ annotations: { [SUCCESSOR_SEEN_ANNOTATION]: new Date(Date.now() - DRAIN_MS).toISOString() } });
    announce('uid-b');

    expect(await pass()).to.deep.equal({});
    expect(env.get(DEPLOYMENT_TYPE, NS, 'acme')).to.equal(undefined);
    expect(env.get(SERVICE_TYPE, NS, 'acme')).to.equal(undefined);

    released({ annotations: { [SUCCESSOR_SEEN_ANNOTATION]: new Date(Date.now() - DRAIN_MS).toISOString() } });
    env.api.seed({ ...SERVICE_TYPE, metadata: { name: 'acme', namespace: NS }, spec: { type: 'ClusterIP' } });
    await pass();
    expect(env.get(DEPLOYMENT_TYPE, NS, 'acme')).to.equal(undefined);
    expect(env.get(SERVICE_TYPE, NS, 'acme'), 'a Service someone else owns').to.not.equal(undefined);
  });

  it('ignores a Deployment nobody released', async () => {
    env.api.seed({ ...DEPLOYMENT_TYPE, metadata: { name: 'acme', namespace: NS } });
    announce('uid-b');

    expect(await pass()).to.deep.equal({});
    expect(env.api.writes()).to.deep.equal([]);
  });

  it('retires without a successor once the timeout has passed, saying so in an Event and the log', async () => {
    released({ annotations: goneAgo(SUCCESSOR_TIMEOUT_MS) });

    expect(await pass()).to.deep.equal({});
    expect(env.get(DEPLOYMENT_TYPE, NS, 'acme')).to.equal(undefined);
    expect(env.get(SERVICE_TYPE, NS, 'acme')).to.equal(undefined);
    expect(env.events.map((e) => [e.type, e.reason])).to.deep.equal([['Warning', 'NoSuccessor']]);
    expect(env.events[0]?.note).to.match(/no other one served the tenant within 60 s: deleting Deployment and Service acme/);
    expect(logs.some((l) => l.includes('no successor served the tenant in time'))).to.equal(true);
  });

  it('names a TenantControlPlane of the same name made since in the Event when it gives up', async () => {
    released({ annotations: goneAgo(SUCCESSOR_TIMEOUT_MS) });
    env.api.seed({ ...TENANT_CONTROL_PLANE_TYPE, metadata: { name: 'acme', namespace: NS, uid: 'uid-c' }, spec: {} } as KubeObject);
    announce('uid-a');

    await pass();
    expect(env.get(DEPLOYMENT_TYPE, NS, 'acme')).to.equal(undefined);
    expect(env.events.map((e) => [e.reason, e.related])).to.deep.equal([['NoSuccessor', 'TenantControlPlane/acme']]);
  });
});
