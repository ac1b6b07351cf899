// A manager process started before the CRD of the kind it reconciles: it is ready without it, starts that
// controller once the CRD is installed (no restart), reconciles the kind's objects, and logs that it did.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sharedPlane, type Plane } from '../../../localcloud/plane.js';
import { ManagedProcess } from '../../../localcloud/process.js';
import { waitFor } from '../../../localcloud/wait.js';
import { GADGET, GADGET_CRD, type Gadget } from './test-kinds.js';
import { createNamespace, deleteNamespace, directClient, uniqueName, type TestClient } from './support.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/late-crd-manager.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const CRD_TYPE = { apiVersion: GADGET_CRD.apiVersion, kind: GADGET_CRD.kind };

describe('toolkit: a controller whose CRD is installed after the manager started', function () {
  this.timeout(5 * 60_000);
  let plane: Plane;
  let api: TestClient;
  let proc: ManagedProcess | undefined;
  const ns = uniqueName('late-crd');

  before(async function () {
    this.timeout(20 * 60_000);
    plane = await sharedPlane();
    api = await directClient(plane);
    await createNamespace(api.client, ns);
  });
  after(async () => {
    await proc?.stop(5000);
    await api.client.delete(CRD_TYPE, { name: GADGET_CRD.metadata.name }).catch(() => undefined);
    await deleteNamespace(api.client, ns);
    api.transport.close();
  });

  it('is ready without the kind, then starts the controller when the CRD appears, reconciles, and logs it', async () => {
    expect(await api.client.get(CRD_TYPE, { name: GADGET_CRD.metadata.name }, { direct: true }), 'the Gadget CRD is not installed yet').to.equal(undefined);
    const logFile = join(plane.dir, `toolkit-late-crd-${ns}.log`);
    const started = await ManagedProcess.start({
      name: 'late-crd-manager',
      command: process.execPath,
      cwd: REPO,
      logFile,
      args: ['--import', 'tsx', FIXTURE, `--kubeconfig=${plane.kubeconfigPath}`, `--namespace=${ns}`, '--metrics-bind-address=0', '--health-probe-bind-address=127.0.0.1:0'],
    });
    proc = started;
    const logLines = (): Record<string, unknown>[] =>
      readFileSync(logFile, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    const { healthUrl } = await waitFor(
      () => {
        if (!started.running) throw new Error(`manager exited:\n${started.logTail()}`);
        return logLines().find((l) => typeof l.healthUrl === 'string') as { healthUrl: string } | undefined;
      },
      { timeoutMs: 60_000, what: 'the manager to start' },
    );
    await waitFor(async () => ((await fetch(`${healthUrl}/readyz`)).status === 200 ? true : undefined), { timeoutMs: 30_000, what: 'the manager to be ready without the Gadget kind' });
    const waiting = logLines().find((l) => l.msg === 'controller waits for its kinds to be served');
    expect(waiting, started.logTail()).to.include({ controller: 'gadgets' }).and.have.deep.property('kinds', ['Gadget.v1.late.toolkit.kvcloud.test']);

    const installedAt = Date.now();
    await plane.applyManifests([GADGET_CRD]);
    await waitFor(
      async () => {
        try {
          return await api.client.create<Gadget>({ ...GADGET, metadata: { namespace: ns, name: 'g' }, spec: { size: 4 } });
        } catch (err) {
          throw new Error(`create Gadget: ${(err as Error).message}`, { cause: err });
        }
      },
      { timeoutMs: 60_000, intervalMs: 200, what: 'the apiserver to serve Gadgets' },
    );
    const reconciled = await waitFor(
      async () => {
        const g = await api.client.get<Gadget>(GADGET, { namespace: ns, name: 'g' }, { direct: true });
        if (g?.status?.observedSize !== 4) throw new Error(`status ${JSON.stringify(g?.status)}; log:\n${started.logTail(5)}`);
        return g;
      },
      { timeoutMs: 60_000, intervalMs: 200, what: 'Gadget g to be reconciled by a manager that started before its CRD' },
    );
    console.log(`      reconciled ${Date.now() - installedAt} ms after the CRD was applied`);
    expect(reconciled.status).to.deep.equal({ observedSize: 4 });
    const startedLine = logLines().find((l) => l.msg === 'started controller: its kinds are now served');
    expect(startedLine, started.logTail()).to.include({ controller: 'gadgets', level: 30, component: 'toolkit-e2e-late-crd' }).and.have.deep.property('kinds', ['Gadget.v1.late.toolkit.kvcloud.test']);
    expect(started.running, 'the manager was not restarted').to.equal(true);
  });
});
