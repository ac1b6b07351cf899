import { expect } from 'chai';
import type { DestinationStream } from 'pino';
import type { KubeObject } from '../kube/object.js';
import { createLogger } from '../observability/logger.js';
import { ToolkitMetrics } from '../observability/metrics.js';
import { FakeApiServer } from '../testing/fake-apiserver.js';
import { Manager } from './manager.js';
import { parseManagerFlags } from './manager-flags.js';

interface Widget extends KubeObject {
  spec?: { size?: number; configMap?: string };
  status?: { observedSize?: number };
}

const WIDGET = { apiVersion: 'toolkit.kvcloud.test/v1', kind: 'Widget' };
const WIDGETS = { ...WIDGET, resource: 'widgets', namespaced: true, statusSubresource: true };
const CONFIG_MAP = { apiVersion: 'v1', kind: 'ConfigMap' };
const CONFIG_MAPS = { ...CONFIG_MAP, resource: 'configmaps', namespaced: true };

class LogLines implements DestinationStream {
  readonly lines: Record<string, unknown>[] = [];
  write(line: string): void {
    this.lines.push(JSON.parse(line) as Record<string, unknown>);
  }
  find(msg: string): Record<string, unknown> | undefined {
    return this.lines.find((l) => l.msg === msg);
  }
}

async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('lib/controller/manager', () => {
  let api: FakeApiServer;
  let logs: LogLines;
  let manager: Manager;

  beforeEach(async () => {
    api = new FakeApiServer().serve(CONFIG_MAPS);
    logs = new LogLines();
    const { flags } = parseManagerFlags(['--metrics-bind-address=0', '--health-probe-bind-address=0']);
    manager = await Manager.create({
      component: 'test',
      flags,
      transport: api,
      log: createLogger({ level: 'info', destination: logs }),
      metrics: new ToolkitMetrics({ defaultMetrics: false }),
      servedKindsPoll: { initialMs: 10, maxMs: 40 },
      gracefulShutdownMs: 1000,
    });
  });
  afterEach(async () => {
    await manager.stop();
  });

  describe('a controller whose kinds are installed after the start', () => {
    it('is left out of readiness and never lists its kind while it is not served', async () => {
      manager.controller<Widget>('widgets').for(WIDGET).owns(CONFIG_MAP).startWhenServed().complete({ reconcile: () => Promise.resolve({}) });
      await manager.start();
      await until(() => manager.isReady(), 'the manager to be ready without the Widget kind');
      expect(logs.find('controller waits for its kinds to be served')).to.include({ controller: 'widgets' }).and.have.deep.property('kinds', ['Widget.v1.toolkit.kvcloud.test']);
      expect(api.requests.filter((r) => r.path.includes('/widgets')), 'no list or watch of an unserved kind').to.deep.equal([]);
      expect(logs.find('started controller: its kinds are now served')).to.equal(undefined);
    });

    it('starts once its CRD appears, reconciles its objects, and logs which kinds it waited for', async () => {
      manager
        .controller<Widget>('widgets')
        .for(WIDGET)
        .owns(CONFIG_MAP)
        .startWhenServed()
        .complete({
          reconcile: (w) => {
            w.status = { observedSize: w.spec?.size ?? 0 };
            return Promise.resolve({});
          },
        });
      await manager.start();
      await until(() => logs.find('controller waits for its kinds to be served') !== undefined, 'the controller to wait');

      api.serve(WIDGETS);
      api.seed<Widget>({ ...WIDGET, metadata: { namespace: 'ns', name: 'a' }, spec: { size: 3 } });
      await until(() => (api.peek(WIDGET.apiVersion, WIDGET.kind, 'ns/a') as Widget | undefined)?.status?.observedSize === 3, 'widget a reconciled');
      expect(logs.find('started controller: its kinds are now served')).to.include({ controller: 'widgets', level: 30 }).and.have.deep.property('kinds', ['Widget.v1.toolkit.kvcloud.test']);
      // Created after the CRD appeared: the watch is live, not a one-off list.
      api.seed<Widget>({ ...WIDGET, metadata: { namespace: 'ns', name: 'b' }, spec: { size: 5 } });
      await until(() => (api.peek(WIDGET.apiVersion, WIDGET.kind, 'ns/b') as Widget | undefined)?.status?.observedSize === 5, 'widget b reconciled');
    });

    it('starts at once, without a wait, when its kinds are served already', async () => {
      api.serve(WIDGETS);
      api.seed<Widget>({ ...WIDGET, metadata: { namespace: 'ns', name: 'a' }, spec: { size: 2 } });
      manager
        .controller<Widget>('widgets')
        .for(WIDGET)
        .startWhenServed()
        .complete({
          reconcile: (w) => {
            w.status = { observedSize: w.spec?.size ?? 0 };
            return Promise.resolve({});
          },
        });
      await manager.start();
      await until(() => (api.peek(WIDGET.apiVersion, WIDGET.kind, 'ns/a') as Widget | undefined)?.status?.observedSize === 2, 'widget a reconciled');
      expect(logs.find('controller waits for its kinds to be served')).to.equal(undefined);
    });
  });

  describe('a watch of a kind installed after the start', () => {
    it('runs the controller without it, then connects it and reconciles every object again, since any may have waited for the kind', async () => {
      api.seed({ ...CONFIG_MAP, metadata: { namespace: 'ns', name: 'a' } });
      const reconciled: string[] = [];
      manager
        .controller<KubeObject>('configs')
        .for(CONFIG_MAP)
        .watches<Widget>(WIDGET, (w) => (w.spec?.configMap ? [`${w.metadata.namespace ?? ''}/${w.spec.configMap}`] : []), { whenServed: true })
        .withoutStatusSubresource()
        .complete({
          reconcile: (cm) => {
            reconciled.push(cm.metadata.name ?? '');
            return Promise.resolve({});
          },
        });
      await manager.start();
      await until(() => reconciled.length === 1, 'the first reconcile of a');
      await until(() => logs.find('watch waits for its kind to be served') !== undefined, 'the watch to wait');

      api.serve(WIDGETS);
      await until(() => reconciled.length === 2, 'a reconciled again once Widgets are served');
      expect(logs.find('started watch: its kind is now served')).to.include({ controller: 'configs' }).and.have.deep.property('kinds', ['Widget.v1.toolkit.kvcloud.test']);

      api.seed<Widget>({ ...WIDGET, metadata: { namespace: 'ns', name: 'w' }, spec: { configMap: 'a' } });
      await until(() => reconciled.length === 3, 'a reconciled for its Widget');
      expect(reconciled).to.deep.equal(['a', 'a', 'a']);
    });
  });
});
