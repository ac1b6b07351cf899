// Two replicas of a manager binary with --leader-elect: only the leader acts; SIGKILL on the leader hands over
// once its Lease has expired (not earlier, not much later), and the new leader's first write builds on the
// state the old one left; SIGTERM on the new leader releases the Lease and exits cleanly.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KubeObject } from '../../../lib/kube/object.js';
import { RestMapper } from '../../../lib/kube/rest-mapper.js';
import { Informer } from '../../../lib/controller/informer.js';
import { LEASE_TYPE, type Lease } from '../../../lib/controller/leader-election.js';
import { RestListWatcher } from '../../../lib/controller/list-watcher.js';
import { sharedPlane, type Plane } from '../../../localcloud/plane.js';
import { ManagedProcess } from '../../../localcloud/process.js';
import { waitFor } from '../../../localcloud/wait.js';
import { CONFIG_MAP, createNamespace, deleteNamespace, directClient, uniqueName, type TestClient } from './support.js';

interface Ledger extends KubeObject {
  data?: Record<string, string>;
}

const LEASE_DURATION_MS = 4000;
const RETRY_PERIOD_MS = 500;
const FIXTURE = fileURLToPath(new URL('./fixtures/leader-manager.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../../../', import.meta.url));

interface Replica {
  identity: string;
  proc: ManagedProcess;
  healthUrl: string;
}

describe('toolkit: leader election between two manager processes', function () {
  this.timeout(5 * 60_000);
  let plane: Plane;
  let api: TestClient;
  const ns = uniqueName('leader');
  const leaseName = 'toolkit-e2e-ledger';
  const replicas: Replica[] = [];

  async function startReplica(identity: string): Promise<Replica> {
    const logFile = join(plane.dir, `toolkit-leader-${ns}-${identity}.log`);
    const proc = await ManagedProcess.start({
      name: `leader-manager-${identity}`,
      command: process.execPath,
      cwd: REPO,
      logFile,
      args: [
        '--import',
        'tsx',
        FIXTURE,
        `--kubeconfig=${plane.kubeconfigPath}`,
        `--namespace=${ns}`,
        '--leader-elect',
        `--leader-election-namespace=${ns}`,
        `--leader-election-id=${leaseName}`,
        `--leader-elect-lease-duration=${LEASE_DURATION_MS}ms`,
        '--leader-elect-renew-deadline=3s',
        `--leader-elect-retry-period=${RETRY_PERIOD_MS}ms`,
        '--metrics-bind-address=127.0.0.1:0',
        '--health-probe-bind-address=127.0.0.1:0',
        `--identity=${identity}`,
      ],
    });
    const announced = await waitFor(
      () => {
        if (!proc.running) throw new Error(`replica ${identity} exited:\n${proc.logTail()}`);
        const line = readFileSync(logFile, 'utf8').split('\n').find((l) => l.includes('"healthUrl"'));
        return line ? (JSON.parse(line) as { healthUrl: string }) : undefined;
      },
      { timeoutMs: 60_000, what: `replica ${identity} to start` },
    );
    const replica = { identity, proc, healthUrl: announced.healthUrl };
    replicas.push(replica);
    return replica;
  }

  async function lease(): Promise<Lease | undefined> {
    return api.client.get<Lease>(LEASE_TYPE, { namespace: ns, name: leaseName }, { direct: true });
  }

  function leaseTime(value: string | undefined): number {
    if (!value) throw new Error('lease has no time');
    return Date.parse(value);
  }

  before(async function () {
    this.timeout(20 * 60_000);
    plane = await sharedPlane();
    api = await directClient(plane);
    await createNamespace(api.client, ns);
  });
  after(async () => {
    for (const r of replicas) await r.proc.stop(5000);
    await deleteNamespace(api.client, ns);
    api.transport.close();
  });

  it('hands over within lease duration + retry after the leader is killed, and the new leader builds on the old state', async () => {
    await api.client.create<Ledger>({ ...CONFIG_MAP, metadata: { namespace: ns, name: 'ledger', labels: { 'toolkit.kvcloud.test/ledger': 'true' } }, data: {} });
    // Every version of the ledger, in order, as the apiserver serialised them.
    const transport = api.transport;
    const history: { holder: string; takeovers: string; seenAt: number }[] = [];
    const informer = new Informer<Ledger>({
      listWatcher: new RestListWatcher<Ledger>({ transport, mapping: await new RestMapper(transport).mappingFor(CONFIG_MAP), namespace: ns }),
      resource: 'ConfigMap.v1',
    });
    informer.addEventHandler({
      onUpdate: (old, obj) => {
        if (old.data?.holder !== obj.data?.holder) history.push({ holder: obj.data?.holder ?? '', takeovers: obj.data?.takeovers ?? '', seenAt: Date.now() });
      },
    });
    informer.start();
    try {
      const a = await startReplica('a');
      await waitFor(async () => ((await lease())?.spec?.holderIdentity === 'a' ? true : undefined), { timeoutMs: 60_000, what: 'a to lead' });
      await waitFor(() => (history.length === 1 ? true : undefined), { timeoutMs: 60_000, what: 'a to claim the ledger' });

      const b = await startReplica('b');
      const standby = await fetch(`${b.healthUrl}/readyz`);
      expect(standby.status, 'a standby is not ready').to.equal(500);
      expect(await standby.text()).to.include('[-]leader failed: not the leader');
      expect((await fetch(`${a.healthUrl}/readyz`)).status, 'the leader is ready').to.equal(200);

      const killedAt = Date.now();
      process.kill(-a.proc.pid, 'SIGKILL');
      await a.proc.exited;
      const lastRenewByA = leaseTime((await lease())?.spec?.renewTime);

      const takenOver = await waitFor(
        async () => {
          const l = await lease();
          return l?.spec?.holderIdentity === 'b' ? l : undefined;
        },
        { timeoutMs: 30_000, what: 'b to take the lease' },
      );
      const handoverMs = leaseTime(takenOver.spec?.acquireTime) - lastRenewByA;
      console.log(`      handover ${handoverMs} ms after a's last renewal (lease ${LEASE_DURATION_MS} ms, retry ${RETRY_PERIOD_MS} ms)`);
      expect(handoverMs, 'b must not take the lease before it expired').to.be.at.least(LEASE_DURATION_MS);
      expect(handoverMs, 'b must take it promptly once expired').to.be.at.most(LEASE_DURATION_MS + 3 * RETRY_PERIOD_MS + 1000);
      expect(takenOver.spec?.leaseTransitions).to.equal(1);

      await waitFor(() => (history.length === 2 ? true : undefined), { timeoutMs: 30_000, what: 'b to claim the ledger' });
      expect(history.map((h) => `${h.holder}#${h.takeovers}`), 'b wrote nothing while a led, then built on a’s count').to.deep.equal(['a#1', 'b#2']);
      expect(history[1]?.seenAt, 'b acted only after a was gone').to.be.at.least(killedAt);

      const exit = await b.proc.stop(15_000);
      expect(exit, 'SIGTERM stops the manager cleanly').to.deep.equal({ code: 0, signal: null });
      const released = await lease();
      expect(released?.spec?.holderIdentity ?? '', 'the lease is released on graceful stop').to.equal('');
    } finally {
      await informer.stop();
    }
  });
});
